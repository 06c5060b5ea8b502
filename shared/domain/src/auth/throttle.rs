//! Login throttling: five failed logins for one email within fifteen minutes lock it until the
//! oldest ages out. Each attempt reserves its failure row under a per-email advisory lock before
//! the password is checked, so concurrent guesses cannot overrun the limit; a right password
//! takes its reservation back.

use deadpool_postgres::GenericClient;

use super::error::AuthError;
use crate::db::Tx;

pub const LOGIN_FAILURE_LIMIT: i64 = 5;
pub const LOGIN_WINDOW_MINUTES: i32 = 15;

const LOCK_EMAIL: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))";

const PRUNE_FAILURES: &str = "\
    DELETE FROM login_failures
    WHERE email = $1 AND attempted_at <= now() - make_interval(mins => $2)";

const COUNT_FAILURES: &str = "\
    SELECT count(*) AS failures,
           ceil(extract(epoch FROM min(attempted_at) + make_interval(mins => $2) - now()))::bigint
               AS retry_after
    FROM login_failures WHERE email = $1";

const RESERVE_FAILURE: &str = "INSERT INTO login_failures (email) VALUES ($1) RETURNING id";

const RELEASE_FAILURE: &str = "DELETE FROM login_failures WHERE id = $1";

/// At most `$2` failures that have left the window, oldest first.
const PRUNE_EXPIRED: &str = "\
    DELETE FROM login_failures WHERE id IN (
        SELECT id FROM login_failures
         WHERE attempted_at <= now() - make_interval(mins => $1)
         ORDER BY attempted_at LIMIT $2)";

/// A failure counted in advance; [`Reservation::release`] takes it back.
pub struct Reservation(i64);

/// Count this attempt against the email's budget, or answer `Throttled`. The advisory lock is
/// held until the transaction ends, so attempts for one email are checked one at a time.
pub async fn reserve(tx: &Tx<'_>, email: &str) -> Result<Reservation, AuthError> {
    let lock = tx.prepare_cached(LOCK_EMAIL).await?;
    tx.execute(&lock, &[&email]).await?;
    let prune = tx.prepare_cached(PRUNE_FAILURES).await?;
    tx.execute(&prune, &[&email, &LOGIN_WINDOW_MINUTES]).await?;
    let count = tx.prepare_cached(COUNT_FAILURES).await?;
    let row = tx
        .query_one(&count, &[&email, &LOGIN_WINDOW_MINUTES])
        .await?;
    let failures: i64 = row.get("failures");
    if failures >= LOGIN_FAILURE_LIMIT {
        let retry_after: Option<i64> = row.get("retry_after");
        tracing::warn!("login throttled");
        return Err(AuthError::Throttled {
            retry_after_secs: retry_after.unwrap_or(1).max(1).unsigned_abs(),
        });
    }
    let reserve = tx.prepare_cached(RESERVE_FAILURE).await?;
    let id: i64 = tx.query_one(&reserve, &[&email]).await?.get(0);
    Ok(Reservation(id))
}

impl Reservation {
    /// The password was right: this attempt was no failure.
    pub async fn release(self, db: &impl GenericClient) -> Result<(), AuthError> {
        let release = db.prepare_cached(RELEASE_FAILURE).await?;
        db.execute(&release, &[&self.0]).await?;
        Ok(())
    }
}

/// Remove up to `limit` failures that have left the throttle's window (the maintenance
/// schedule: rows of emails never tried again would otherwise stay for ever). Idempotent.
pub async fn prune_login_failures(db: &impl GenericClient, limit: i64) -> Result<u64, AuthError> {
    let statement = db.prepare_cached(PRUNE_EXPIRED).await?;
    Ok(db
        .execute(&statement, &[&LOGIN_WINDOW_MINUTES, &limit])
        .await?)
}
