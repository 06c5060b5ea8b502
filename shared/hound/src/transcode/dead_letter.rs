//! Messages SQS gave up on (three receives without success) land in the dead-letter queue; the
//! `dead-letter` function records each one here and fails its job with the last error, so
//! nothing is lost and the studio stops showing a job as pending forever. `hound dlq list` and
//! `hound dlq redrive <id>` read and replay them.

use deadpool_postgres::{GenericClient, Pool};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Retry, Work, parse_message};
use crate::storage::Queue;

/// The error code a job gets when its message was dead-lettered.
pub const DEAD_LETTER_CODE: &str = "processing_failed";

/// One dead-lettered message, as `hound dlq list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJob {
    pub id: Uuid,
    pub queue: String,
    pub message_id: String,
    pub job_id: Option<Uuid>,
    pub error: String,
    pub receive_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub redriven_at: Option<OffsetDateTime>,
    pub body: serde_json::Value,
}

/// The queue's name from an SQS event source ARN (`arn:aws:sqs:region:account:name`).
pub fn queue_name(event_source_arn: &str) -> &str {
    event_source_arn
        .rsplit(':')
        .next()
        .unwrap_or(event_source_arn)
}

/// The job a message is about, if it names one (a job message) or one can be found (an S3
/// notification for an asset's upload).
async fn job_of(db: &impl GenericClient, body: &str) -> Result<Option<Uuid>, Retry> {
    let Ok(works) = parse_message(body) else {
        return Ok(None);
    };
    for work in works {
        match work {
            Work::Job(id) => return Ok(Some(id)),
            Work::Object { bucket, key } => {
                let row = db
                    .query_opt(
                        "SELECT j.id FROM assets a JOIN transcode_jobs j ON j.asset_id = a.id
                         WHERE a.bucket = $1 AND a.key = $2",
                        &[&bucket, &key],
                    )
                    .await?;
                if let Some(row) = row {
                    return Ok(Some(row.get(0)));
                }
            }
            Work::Nothing(_) => {}
        }
    }
    Ok(None)
}

/// Record a dead-lettered message once per (queue, message id) and fail its job with the last
/// error the worker saw. A redelivery of the same DLQ message only updates the count.
pub async fn record(
    pool: &Pool,
    queue: &str,
    message_id: &str,
    body: &str,
    receive_count: i32,
) -> Result<FailedJob, Retry> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(body.to_owned()));
    let job_id = job_of(&tx, body).await?;
    let job = match job_id {
        Some(id) => {
            tx.query_opt(
                "SELECT status::text AS status, last_error, error_message,
                        coalesce(lease_expires_at > now(), false) AS running
                 FROM transcode_jobs WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
        }
        None => None,
    };
    let error = match (&job, parse_message(body)) {
        (_, Err(poison)) => format!("unreadable message: {poison}"),
        (Some(job), _) => job
            .get::<_, Option<String>>("last_error")
            .or_else(|| job.get("error_message"))
            .unwrap_or_else(|| "the worker gave up without recording an error".into()),
        (None, _) => "the message names no job".into(),
    };
    let row = tx
        .query_one(
            "INSERT INTO failed_jobs (id, queue, message_id, body, job_id, error, receive_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (queue, message_id) DO UPDATE
             SET receive_count = GREATEST(failed_jobs.receive_count, EXCLUDED.receive_count),
                 last_seen_at = now()
             RETURNING id, queue, message_id, job_id, error, receive_count, first_seen_at,
                       redriven_at, body",
            &[
                &Uuid::now_v7(),
                &queue,
                &message_id,
                &json,
                &job.as_ref().and(job_id),
                &error,
                &receive_count,
            ],
        )
        .await?;
    if let (Some(id), Some(job)) = (job_id, &job) {
        let status: String = job.get("status");
        // A job a live worker is running (another message got it there) is left to finish.
        if status != "ready" && status != "failed" && !job.get::<_, bool>("running") {
            super::mark_failed(&tx, id, DEAD_LETTER_CODE, &error, None).await?;
        }
    }
    tx.commit().await?;
    Ok(failed_job(&row))
}

fn failed_job(row: &tokio_postgres::Row) -> FailedJob {
    FailedJob {
        id: row.get("id"),
        queue: row.get("queue"),
        message_id: row.get("message_id"),
        job_id: row.get("job_id"),
        error: row.get("error"),
        receive_count: row.get("receive_count"),
        first_seen_at: row.get("first_seen_at"),
        redriven_at: row.get("redriven_at"),
        body: row.get("body"),
    }
}

/// Dead-lettered messages, newest first; redriven ones only with `include_redriven`.
pub async fn list(
    db: &impl GenericClient,
    include_redriven: bool,
) -> Result<Vec<FailedJob>, Retry> {
    let rows = db
        .query(
            "SELECT id, queue, message_id, job_id, error, receive_count, first_seen_at,
                    redriven_at, body
             FROM failed_jobs WHERE $1 OR redriven_at IS NULL
             ORDER BY first_seen_at DESC, id DESC",
            &[&include_redriven],
        )
        .await?;
    Ok(rows.iter().map(failed_job).collect())
}

/// Why a redrive was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("no dead-lettered message {0}")]
    NotFound(Uuid),
    #[error("message {0} was already redriven at {1}")]
    AlreadyRedriven(Uuid, OffsetDateTime),
    #[error(transparent)]
    Retry(#[from] Retry),
}

/// Put a dead-lettered message back on the transcode queue, after its cause is fixed: its job
/// (if any) starts over as `queued`. The record stays, marked redriven; if sending fails
/// nothing changes.
pub async fn redrive(pool: &Pool, queue: &Queue, id: Uuid) -> Result<FailedJob, RedriveError> {
    let mut client = pool.get().await.map_err(Retry::from)?;
    let tx = client.transaction().await.map_err(Retry::from)?;
    let row = tx
        .query_opt(
            "SELECT id, queue, message_id, job_id, error, receive_count, first_seen_at,
                    redriven_at, body
             FROM failed_jobs WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await
        .map_err(Retry::from)?
        .ok_or(RedriveError::NotFound(id))?;
    let failed = failed_job(&row);
    if let Some(at) = failed.redriven_at {
        return Err(RedriveError::AlreadyRedriven(id, at));
    }
    if let Some(job_id) = failed.job_id {
        tx.execute(
            "UPDATE transcode_jobs SET status = 'queued', progress = 0, error_code = NULL,
                    error_message = NULL, last_error = NULL, finished_at = NULL,
                    lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $1 AND status <> 'ready' AND superseded_at IS NULL",
            &[&job_id],
        )
        .await
        .map_err(Retry::from)?;
        tx.execute(
            "UPDATE job_steps SET state = 'pending', progress_pct = 0, message = NULL,
                    started_at = NULL, finished_at = NULL
             WHERE job_id = $1
               AND EXISTS (SELECT 1 FROM transcode_jobs WHERE id = $1 AND status = 'queued')",
            &[&job_id],
        )
        .await
        .map_err(Retry::from)?;
        tx.execute(
            "UPDATE assets SET state = 'uploaded'
             WHERE id = (SELECT asset_id FROM transcode_jobs WHERE id = $1 AND status = 'queued')
               AND state = 'failed'",
            &[&job_id],
        )
        .await
        .map_err(Retry::from)?;
    }
    // The original body goes back verbatim (a body that was not JSON as the string itself).
    let text = match &failed.body {
        serde_json::Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    queue
        .send_raw(&text)
        .await
        .map_err(|e| RedriveError::Retry(e.into()))?;
    let row = tx
        .query_one(
            "UPDATE failed_jobs SET redriven_at = now() WHERE id = $1
             RETURNING id, queue, message_id, job_id, error, receive_count, first_seen_at,
                       redriven_at, body",
            &[&id],
        )
        .await
        .map_err(Retry::from)?;
    tx.commit().await.map_err(Retry::from)?;
    Ok(failed_job(&row))
}
