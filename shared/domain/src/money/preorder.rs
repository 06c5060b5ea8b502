//! Settling pre-orders (the maintenance schedule, a service context): a held pre-order whose
//! release is now published is captured (the held credits are spent); one whose release was
//! withdrawn or is gone is released (the credits come back, the entitlement goes). One
//! pre-order per transaction, the account locked before the pre-order, as unlock.rs does, so
//! the two never wait on each other in a circle.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use uuid::Uuid;

use super::error::MoneyError;
use super::ledger::{self, EntryKind, Posting};
use crate::db::Tx;
use crate::ids::ReleaseId;

/// What a settling run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PreorderRun {
    pub captured: u32,
    pub released: u32,
}

/// What became of one pre-order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Captured,
    Released,
    /// Still scheduled, or settled meanwhile by another run.
    Untouched,
}

const DUE: &str = "\
    SELECT p.id, p.account_id
      FROM preorders p LEFT JOIN releases r ON r.id = p.release_id
     WHERE p.status = 'held'
       AND (r.id IS NULL OR release_effective_status(r.status, r.publish_at) <> 'scheduled')
     ORDER BY p.created_at
     LIMIT $1";

const LOCK: &str = "\
    SELECT p.id, p.user_id, p.release_id, p.price,
           (SELECT release_effective_status(r.status, r.publish_at)::text
              FROM releases r WHERE r.id = p.release_id) AS state
      FROM preorders p WHERE p.id = $1 AND p.status = 'held' FOR UPDATE OF p";

const SETTLE: &str = "\
    UPDATE preorders SET status = $2::text::preorder_status, settled_at = now() WHERE id = $1";

const REVOKE: &str = "\
    DELETE FROM entitlements WHERE user_id = $1 AND release_id = $2 AND source = 'paid'";

/// Held pre-orders that can be settled now (their release is published, withdrawn or gone),
/// oldest first, at most `limit`: `(pre-order, account)`.
pub async fn due_preorders(
    db: &impl GenericClient,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>, MoneyError> {
    let statement = db.prepare_cached(DUE).await?;
    Ok(db
        .query(&statement, &[&limit])
        .await?
        .iter()
        .map(|row| (row.get("id"), row.get("account_id")))
        .collect())
}

/// Capture or release one pre-order of `account`, in the caller's (service) transaction.
#[tracing::instrument(skip(tx))]
pub async fn settle_preorder(
    tx: &Tx<'_>,
    preorder: Uuid,
    account: Uuid,
) -> Result<Settled, MoneyError> {
    let balances = ledger::lock_account_id(tx, account).await?;
    let lock = tx.prepare_cached(LOCK).await?;
    let Some(row) = tx.query_opt(&lock, &[&preorder]).await? else {
        return Ok(Settled::Untouched);
    };
    let price: i64 = row.get("price");
    let release: Uuid = row.get("release_id");
    let cause = format!("preorder:{preorder}");
    let (outcome, posting) = match row.get::<_, Option<&str>>("state") {
        Some("scheduled") => return Ok(Settled::Untouched),
        Some("published") => (
            Settled::Captured,
            Posting {
                kind: EntryKind::Capture,
                amount: 0,
                held_delta: -price,
                debt_delta: 0,
                external_id: cause,
                release_id: Some(ReleaseId::from_uuid(release)),
            },
        ),
        // Withdrawn (back to submitted or draft), or deleted.
        _ => (
            Settled::Released,
            Posting {
                held_delta: -price,
                release_id: Some(ReleaseId::from_uuid(release)),
                ..Posting::available(EntryKind::Release, price, cause)
            },
        ),
    };
    ledger::post(tx, balances, &posting).await?;
    let settle = tx.prepare_cached(SETTLE).await?;
    let status = match outcome {
        Settled::Captured => "captured",
        _ => "released",
    };
    tx.execute(&settle, &[&preorder, &status]).await?;
    if outcome == Settled::Captured {
        crate::notify::preorder_published(tx, preorder).await?;
    }
    if outcome == Settled::Released
        && let Some(user) = row.get::<_, Option<Uuid>>("user_id")
    {
        let revoke = tx.prepare_cached(REVOKE).await?;
        tx.execute(&revoke, &[&user, &release]).await?;
    }
    tracing::info!(%preorder, status, price, "pre-order settled");
    Ok(outcome)
}
