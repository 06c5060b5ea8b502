//! Email notifications through an outbox: what to send is written in the transaction of what
//! caused it (a transcode job's end, a pre-order captured), once per cause, by owner-run SQL
//! functions that read the recipient's address and preferences (migrations/V25); it is sent
//! after the commit (`send_due`: the worker at once, the maintenance schedule for whatever is
//! still pending). A send that fails is retried with a growing delay, `MAX_ATTEMPTS` times in
//! all; sending never blocks or fails the job. Delivery is at least once: a process killed
//! between SES's answer and the commit sends that mail again.

use serde::Serialize;
use uuid::Uuid;

use crate::aws::Mailer;
use crate::db::{DbError, Tx};
use crate::ids::JobId;

/// Sends a notification is tried before it is given up (`failed`).
pub const MAX_ATTEMPTS: i32 = 5;

const JOB_ENDED: &str = "SELECT enqueue_job_notification($1, $2)";

const PREORDER_PUBLISHED: &str = "SELECT enqueue_preorder_notification($1)";

const DUE: &str = "\
    SELECT id, to_email, subject, body, attempts FROM notifications
     WHERE status = 'pending' AND next_attempt_at <= now()
     ORDER BY next_attempt_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED";

const SENT: &str = "\
    UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                             last_error = NULL
     WHERE id = $1";

/// A failed send: tried again after 2^attempts minutes, or given up after the last attempt.
const NOT_SENT: &str = "\
    UPDATE notifications
       SET attempts = attempts + 1, last_error = left($2, 500),
           status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE 'pending' END::notification_status,
           next_attempt_at = now() + make_interval(mins => power(2, attempts + 1)::int)
     WHERE id = $1";

/// A transcode job ended (`ready` or failed): its artist is mailed if they chose to be, in the
/// caller's transaction.
pub async fn job_ended(tx: &Tx<'_>, job: JobId, ready: bool) -> Result<(), DbError> {
    let statement = tx.prepare_cached(JOB_ENDED).await?;
    let kind = if ready { "job_ready" } else { "job_failed" };
    tx.execute(&statement, &[job.as_uuid(), &kind]).await?;
    Ok(())
}

/// A pre-order was captured: its release is out, and its listener is mailed.
pub async fn preorder_published(tx: &Tx<'_>, preorder: Uuid) -> Result<(), DbError> {
    let statement = tx.prepare_cached(PREORDER_PUBLISHED).await?;
    tx.execute(&statement, &[&preorder]).await?;
    Ok(())
}

/// What a sending run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SendRun {
    pub sent: u32,
    /// Sends that failed this time (to be retried, or given up after the last attempt).
    pub failed: u32,
}

/// Send up to `limit` due notifications (a service context), in the caller's transaction: the
/// rows stay locked while their mail goes, so two senders never send one twice.
pub async fn send_due(tx: &Tx<'_>, mailer: &Mailer, limit: i64) -> Result<SendRun, DbError> {
    let due = tx.prepare_cached(DUE).await?;
    let sent = tx.prepare_cached(SENT).await?;
    let not_sent = tx.prepare_cached(NOT_SENT).await?;
    let mut run = SendRun::default();
    for row in tx.query(&due, &[&limit]).await? {
        let id: Uuid = row.get("id");
        let to: &str = row.get("to_email");
        match mailer.send(to, row.get("subject"), row.get("body")).await {
            Ok(()) => {
                tx.execute(&sent, &[&id]).await?;
                run.sent += 1;
            }
            Err(err) => {
                tracing::warn!(%id, error = %err, "a notification was not sent; it will be retried");
                tx.execute(&not_sent, &[&id, &err.to_string(), &MAX_ATTEMPTS])
                    .await?;
                run.failed += 1;
            }
        }
    }
    Ok(run)
}
