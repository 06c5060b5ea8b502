//! Failed attempts at a gate: ten in an hour per listener and gate close it to them until the
//! oldest ages out. Attempts of one listener at one gate take an advisory lock first, so
//! concurrent guesses are checked one at a time and cannot overrun the budget.

use deadpool_postgres::GenericClient;
use postgres_types::{FromSql, ToSql};

use super::error::GateError;
use crate::db::Tx;
use crate::ids::UserId;

pub const GATE_FAILURE_LIMIT: i64 = 10;
pub const GATE_WINDOW_MINUTES: i32 = 60;

/// Which gate (`gate_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSql, FromSql)]
#[postgres(name = "gate_kind", rename_all = "snake_case")]
pub enum Gate {
    Redeem,
    Checkin,
}

const LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 15))";

/// The clock, not the transaction's start: an attempt may have waited on the lock while the
/// failure it now counts was being written.
const COUNT: &str = "\
    SELECT count(*) AS failures,
           ceil(extract(epoch FROM min(failed_at) + make_interval(mins => $3)
                                   - clock_timestamp()))::bigint AS retry_after
      FROM gate_failures
     WHERE user_id = $1 AND gate = $2
       AND failed_at > clock_timestamp() - make_interval(mins => $3)";

const RECORD: &str = "\
    INSERT INTO gate_failures (user_id, gate, failed_at) VALUES ($1, $2, clock_timestamp())";

/// At most `$2` failures that have left the window, oldest first (the janitors).
const PRUNE: &str = "\
    DELETE FROM gate_failures WHERE id IN (
        SELECT id FROM gate_failures
         WHERE failed_at <= now() - make_interval(mins => $1)
         ORDER BY failed_at LIMIT $2)";

/// Take the caller's lock at this gate for the rest of the transaction, and refuse when their
/// budget is spent.
pub(crate) async fn admit(tx: &Tx<'_>, user: UserId, gate: Gate) -> Result<(), GateError> {
    let name = match gate {
        Gate::Redeem => "redeem",
        Gate::Checkin => "checkin",
    };
    let lock = tx.prepare_cached(LOCK).await?;
    tx.execute(&lock, &[&user.to_string(), &name]).await?;
    let count = tx.prepare_cached(COUNT).await?;
    let row = tx
        .query_one(&count, &[&user, &gate, &GATE_WINDOW_MINUTES])
        .await?;
    if row.get::<_, i64>("failures") >= GATE_FAILURE_LIMIT {
        let retry_after: Option<i64> = row.get("retry_after");
        tracing::warn!(?gate, "gate throttled");
        return Err(GateError::Throttled {
            retry_after_secs: retry_after
                .unwrap_or(1)
                .clamp(1, i64::from(GATE_WINDOW_MINUTES) * 60)
                .unsigned_abs(),
        });
    }
    Ok(())
}

/// Settle an attempt: a refusal that counts is recorded and comes back as `Refused` (the
/// handler commits it); anything else passes through.
pub(crate) async fn settle<T>(
    tx: &Tx<'_>,
    user: UserId,
    gate: Gate,
    result: Result<T, GateError>,
) -> Result<super::Outcome<T>, GateError> {
    match result {
        Ok(value) => Ok(super::Outcome::Granted(value)),
        Err(err) if err.counts_as_failure() => {
            let record = tx.prepare_cached(RECORD).await?;
            tx.execute(&record, &[&user, &gate]).await?;
            Ok(super::Outcome::Refused(err))
        }
        Err(err) => Err(err),
    }
}

/// Remove up to `limit` failures that have left the window (the janitors, service context).
pub async fn prune_gate_failures(db: &impl GenericClient, limit: i64) -> Result<u64, GateError> {
    let statement = db.prepare_cached(PRUNE).await?;
    Ok(db
        .execute(&statement, &[&GATE_WINDOW_MINUTES, &limit])
        .await?)
}
