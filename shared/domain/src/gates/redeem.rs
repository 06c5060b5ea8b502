//! Redeeming a code: the function `redeem`. The caller's failure budget is checked first
//! (throttle.rs); the code is found by its keyed hashes only (the role sees no other code); a
//! use is taken by one conditional UPDATE, so of any number of racing redeems exactly
//! `max_uses` win; the redemption and the entitlement are written in the same transaction.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{GateError, Outcome};
use super::keys::CodeKeys;
use super::throttle::{self, Gate};
use crate::db::{self, Setting, Tx};
use crate::ids::{ReleaseId, UserId};
use crate::money;

/// `POST /v1/redeem`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// As typed: case, spaces and dashes do not matter.
    pub code: String,
}

/// What a gate gave: a release to stream, or credits (a `grant` entry in the caller's ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Grant {
    Release { release_id: ReleaseId },
    Credits { credits: i64 },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redeemed {
    pub grant: Grant,
}

const FIND: &str = "\
    SELECT c.id, b.release_id, b.credits, b.expires_at, b.revoked_at
      FROM access_codes c JOIN code_batches b ON b.id = c.batch_id
     WHERE c.code_hash = ANY ($1)";

const ENTITLED: &str = "SELECT 1 FROM entitlements WHERE user_id = $1 AND release_id = $2";

const RECORD: &str = "\
    INSERT INTO redemptions (code_id, user_id) VALUES ($1, $2)
    ON CONFLICT (code_id, user_id) DO NOTHING";

const TAKE_USE: &str = "UPDATE access_codes SET uses = uses + 1 WHERE id = $1 AND uses < max_uses";

const ENTITLE: &str = "\
    INSERT INTO entitlements (user_id, release_id, source) VALUES ($1, $2, 'code')
    ON CONFLICT (user_id, release_id) DO NOTHING";

/// Redeem `typed` for `user` in the caller's transaction (their settings already name them).
#[tracing::instrument(skip_all)]
pub async fn redeem(
    tx: &Tx<'_>,
    keys: &CodeKeys,
    user: UserId,
    typed: &str,
) -> Result<Outcome<Redeemed>, GateError> {
    let Some(code) = super::codes::normalise_code(typed) else {
        return Err(GateError::field(
            "code",
            "is not a code: 8 letters and digits, like ABCD-2345",
        ));
    };
    throttle::admit(tx, user, Gate::Redeem).await?;
    let result = take(tx, keys, user, &code).await;
    throttle::settle(tx, user, Gate::Redeem, result).await
}

async fn take(
    tx: &Tx<'_>,
    keys: &CodeKeys,
    user: UserId,
    code: &str,
) -> Result<Redeemed, GateError> {
    let candidates = keys.candidates(code);
    let presented: Vec<String> = candidates.iter().map(|h| STANDARD.encode(h)).collect();
    db::set(tx, &[(Setting::CodeHashes, &presented.join(","))]).await?;
    let find = tx.prepare_cached(FIND).await?;
    let row = tx
        .query_opt(&find, &[&candidates])
        .await?
        .ok_or(GateError::NotFound)?;
    let revoked_at: Option<OffsetDateTime> = row.get("revoked_at");
    if revoked_at.is_some() {
        return Err(GateError::NotFound);
    }
    let expires_at: Option<OffsetDateTime> = row.get("expires_at");
    if expires_at.is_some_and(|at| at <= OffsetDateTime::now_utc()) {
        return Err(GateError::Expired);
    }
    let code_id: uuid::Uuid = row.get("id");
    let release_id: Option<ReleaseId> = row.get("release_id");
    let entitled = tx.prepare_cached(ENTITLED).await?;
    let already = match release_id {
        Some(release) => tx.query_opt(&entitled, &[&user, &release]).await?.is_some(),
        None => false,
    };
    let record = tx.prepare_cached(RECORD).await?;
    if already || tx.execute(&record, &[&code_id, &user]).await? == 0 {
        return Err(GateError::Conflict {
            code: "already_redeemed",
            message: "You have already redeemed this code, or already have this release.",
        });
    }
    let take_use = tx.prepare_cached(TAKE_USE).await?;
    if tx.execute(&take_use, &[&code_id]).await? == 0 {
        return Err(GateError::Conflict {
            code: "code_exhausted",
            message: "This code has been used as many times as it allows.",
        });
    }
    let grant = match (release_id, row.get::<_, Option<i32>>("credits")) {
        (Some(release_id), _) => {
            let entitle = tx.prepare_cached(ENTITLE).await?;
            tx.execute(&entitle, &[&user, &release_id]).await?;
            Grant::Release { release_id }
        }
        (None, Some(credits)) => {
            let credits = i64::from(credits);
            let account = money::lock_account(tx, user).await?;
            money::post(
                tx,
                account,
                &money::Posting::available(
                    money::EntryKind::Grant,
                    credits,
                    format!("code:{code_id}:{user}"),
                ),
            )
            .await?;
            Grant::Credits { credits }
        }
        (None, None) => {
            return Err(GateError::Internal(anyhow::anyhow!(
                "batch of code {code_id} grants nothing"
            )));
        }
    };
    tracing::info!(?grant, "code redeemed");
    Ok(Redeemed { grant })
}
