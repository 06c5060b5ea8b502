//! Spending credits: buying a `paid` release outright, or pre-ordering a scheduled one. The
//! usage (or reserve) entry and the entitlement are written in one transaction under the
//! account's lock, so of any number of concurrent unlocks only those the balance covers
//! succeed, and the balance ends at zero, never below. A pre-order holds the price (`held`)
//! until the maintenance schedule captures it at publication or releases it when the artist
//! withdraws the release (preorder.rs); its entitlement opens the audio at publication.

use serde::Serialize;
use time::OffsetDateTime;

use super::error::MoneyError;
use super::ledger::{self, EntryKind, Posting};
use crate::catalog::Access;
use crate::db::Tx;
use crate::ids::{ReleaseId, UserId};
use crate::listener::Reach;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entitlement {
    pub release_id: ReleaseId,
    /// How it was obtained: `paid`.
    pub source: &'static str,
    /// What it cost, in credits.
    pub price_credits: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unlocked {
    pub entitlement: Entitlement,
    /// Credits left.
    pub available: i64,
    /// Credits held for pre-orders (the price of this one included when it is one).
    pub held: i64,
    /// The release is scheduled: this is a pre-order, paid when it is published, released
    /// back if the artist withdraws it.
    pub preordered: bool,
}

const RELEASE: &str = "\
    SELECT r.access, r.price_credits, release_reach(r, $2, NULL) AS reach,
           release_effective_status(r.status, r.publish_at) = 'scheduled' AS scheduled
      FROM releases r WHERE r.id = $1";

const ENTITLED: &str = "SELECT 1 FROM entitlements WHERE user_id = $1 AND release_id = $2";

const PREORDER: &str = "\
    INSERT INTO preorders (id, user_id, account_id, release_id, price) VALUES ($1, $2, $3, $4, $5)";

const ENTITLE: &str = "\
    INSERT INTO entitlements (user_id, release_id, source) VALUES ($1, $2, 'paid')
    ON CONFLICT (user_id, release_id) DO NOTHING
    RETURNING created_at";

/// Unlock `release` for `user` with credits, in the caller's transaction.
#[tracing::instrument(skip(tx))]
pub async fn unlock(tx: &Tx<'_>, user: UserId, release: ReleaseId) -> Result<Unlocked, MoneyError> {
    let statement = tx.prepare_cached(RELEASE).await?;
    let row = tx
        .query_opt(&statement, &[&release, &user])
        .await?
        .ok_or(MoneyError::NotFound)?;
    let reach: Reach = row.get("reach");
    let access: Access = row.get("access");
    match reach {
        Reach::Hidden => return Err(MoneyError::NotFound),
        Reach::Stream if access == Access::Paid => return Err(already()),
        _ => {}
    }
    let price: i64 = match (access, row.get::<_, Option<i32>>("price_credits")) {
        (Access::Paid, Some(price)) => price.into(),
        _ => {
            return Err(MoneyError::Conflict {
                code: "not_for_sale",
                message: "This release is not sold for credits.",
            });
        }
    };
    // From here the account is locked: a concurrent unlock of the same release waits, then
    // finds the entitlement already there.
    let account = ledger::lock_account(tx, user).await?;
    let entitled = tx.prepare_cached(ENTITLED).await?;
    if tx.query_opt(&entitled, &[&user, &release]).await?.is_some() {
        return Err(already());
    }
    let preordered: bool = row.get("scheduled");
    let posting = if preordered {
        let id = uuid::Uuid::now_v7();
        let insert = tx.prepare_cached(PREORDER).await?;
        tx.execute(&insert, &[&id, &user, &account.account, &release, &price])
            .await?;
        Posting {
            held_delta: price,
            release_id: Some(release),
            ..Posting::available(EntryKind::Reserve, -price, format!("preorder:{id}"))
        }
    } else {
        Posting {
            release_id: Some(release),
            ..Posting::available(EntryKind::Usage, -price, format!("unlock:{user}:{release}"))
        }
    };
    let after = ledger::post(tx, account, &posting)
        .await
        .map_err(|e| match e {
            MoneyError::Conflict {
                code: "already_booked",
                ..
            } => already(),
            other => other,
        })?;
    let entitle = tx.prepare_cached(ENTITLE).await?;
    let created_at: OffsetDateTime = tx
        .query_opt(&entitle, &[&user, &release])
        .await?
        .ok_or_else(already)?
        .get("created_at");
    tracing::info!(%release, price, preordered, "release unlocked with credits");
    Ok(Unlocked {
        entitlement: Entitlement {
            release_id: release,
            source: "paid",
            price_credits: price,
            created_at,
        },
        available: after.available,
        held: after.held,
        preordered,
    })
}

fn already() -> MoneyError {
    MoneyError::Conflict {
        code: "already_unlocked",
        message: "This release is already yours.",
    }
}
