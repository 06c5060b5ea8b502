//! Messages SQS gave up on (three receives without success) land in the dead-letter queue; the
//! `dead-letter` function records each one here and fails its job with the last error, so
//! nothing is lost and the studio stops showing a job as pending forever. `hound dlq list` and
//! `hound dlq redrive <id>` read and replay them.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use time::OffsetDateTime;

use super::lifecycle;
use super::message::{Work, parse_message};
use super::status::JobStatus;
use crate::aws::{Queue, Unavailable};
use crate::db::{DbError, Tx};
use crate::ids::{FailedJobId, JobId};

/// The error code a job gets when its message was dead-lettered.
pub const DEAD_LETTER_CODE: &str = "processing_failed";

/// One dead-lettered message, as `hound dlq list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJob {
    pub id: FailedJobId,
    pub queue: String,
    pub message_id: String,
    pub job_id: Option<JobId>,
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

const JOB_OF_OBJECT: &str = "\
    SELECT j.id FROM assets a JOIN transcode_jobs j ON j.asset_id = a.id
     WHERE a.bucket = $1 AND a.key = $2";

const LOCK_JOB: &str = "\
    SELECT status, last_error, error_message,
           coalesce(lease_expires_at > now(), false) AS running
      FROM transcode_jobs WHERE id = $1 FOR UPDATE";

const RECORD: &str = "\
    INSERT INTO failed_jobs (id, queue, message_id, body, job_id, error, receive_count)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (queue, message_id) DO UPDATE
       SET receive_count = GREATEST(failed_jobs.receive_count, EXCLUDED.receive_count),
           last_seen_at = now()
    RETURNING id, queue, message_id, job_id, error, receive_count, first_seen_at, redriven_at,
              body";

const LIST: &str = "\
    SELECT id, queue, message_id, job_id, error, receive_count, first_seen_at, redriven_at, body
      FROM failed_jobs WHERE $1 OR redriven_at IS NULL
     ORDER BY first_seen_at DESC, id DESC";

const LOCK_RECORD: &str = "\
    SELECT id, queue, message_id, job_id, error, receive_count, first_seen_at, redriven_at, body
      FROM failed_jobs WHERE id = $1 FOR UPDATE";

const MARK_REDRIVEN: &str = "\
    UPDATE failed_jobs SET redriven_at = now() WHERE id = $1
    RETURNING id, queue, message_id, job_id, error, receive_count, first_seen_at, redriven_at,
              body";

/// The job a message is about, if it names one (a job message) or one can be found (an S3
/// notification for an asset's upload).
async fn job_of(db: &impl GenericClient, works: &[Work]) -> Result<Option<JobId>, DbError> {
    for work in works {
        match work {
            Work::Job(id) => return Ok(Some(*id)),
            Work::Object { bucket, key } => {
                let statement = db.prepare_cached(JOB_OF_OBJECT).await?;
                if let Some(row) = db.query_opt(&statement, &[bucket, key]).await? {
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
    tx: &Tx<'_>,
    queue: &str,
    message_id: &str,
    body: &str,
    receive_count: u32,
) -> Result<FailedJob, DbError> {
    // Postgres stores no NUL, raw or as a JSON escape: such a body is kept with U+FFFD in its
    // place, so it is recorded rather than redelivered for ever.
    let body = &body.replace('\0', "\u{FFFD}").replace("\\u0000", "\\ufffd");
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(body.to_owned()));
    let parsed = parse_message(body);
    let job_id = match &parsed {
        Ok(works) => job_of(tx, works).await?,
        Err(_) => None,
    };
    let job = match job_id {
        Some(id) => {
            let lock = tx.prepare_cached(LOCK_JOB).await?;
            tx.query_opt(&lock, &[&id]).await?
        }
        None => None,
    };
    let error = match (&job, &parsed) {
        (_, Err(poison)) => format!("unreadable message: {poison}"),
        (Some(job), _) => job
            .get::<_, Option<String>>("last_error")
            .or_else(|| job.get("error_message"))
            .unwrap_or_else(|| "the worker gave up without recording an error".into()),
        (None, _) => "the message names no job".into(),
    };
    let statement = tx.prepare_cached(RECORD).await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &FailedJobId::generate(),
                &queue,
                &message_id,
                &json,
                &job.as_ref().and(job_id),
                &error,
                &i32::try_from(receive_count).unwrap_or(i32::MAX),
            ],
        )
        .await?;
    if let (Some(id), Some(job)) = (job_id, &job) {
        // A job a live worker is running (another message got it there) is left to finish.
        let status: JobStatus = job.get("status");
        if !status.is_final() && !job.get::<_, bool>("running") {
            lifecycle::fail(tx, id, DEAD_LETTER_CODE, &error, None).await?;
        }
    }
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
) -> Result<Vec<FailedJob>, DbError> {
    let statement = db.prepare_cached(LIST).await?;
    let rows = db.query(&statement, &[&include_redriven]).await?;
    Ok(rows.iter().map(failed_job).collect())
}

/// Why a redrive was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("no dead-lettered message {0}")]
    NotFound(FailedJobId),
    #[error("message {0} was already redriven at {1}")]
    AlreadyRedriven(FailedJobId, OffsetDateTime),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl From<tokio_postgres::Error> for RedriveError {
    fn from(err: tokio_postgres::Error) -> Self {
        RedriveError::Db(err.into())
    }
}

/// Start a redrive, after the cause is fixed: the record is locked and must not be redriven
/// yet, and its job (if any) starts over as `queued`. Commit, then [`send_redrive`]: the message
/// goes back only once a worker can see the job requeued.
pub async fn prepare_redrive(tx: &Tx<'_>, id: FailedJobId) -> Result<FailedJob, RedriveError> {
    let lock = tx.prepare_cached(LOCK_RECORD).await?;
    let row = tx
        .query_opt(&lock, &[&id])
        .await?
        .ok_or(RedriveError::NotFound(id))?;
    let failed = failed_job(&row);
    if let Some(at) = failed.redriven_at {
        return Err(RedriveError::AlreadyRedriven(id, at));
    }
    if let Some(job_id) = failed.job_id {
        lifecycle::requeue(tx, job_id).await?;
    }
    Ok(failed)
}

/// Put the original body back on the transcode queue verbatim (a body that was not JSON as the
/// string itself) and mark the record redriven. If sending fails, nothing is marked: run the
/// redrive again.
pub async fn send_redrive(
    db: &impl GenericClient,
    queue: &Queue,
    failed: &FailedJob,
) -> Result<FailedJob, RedriveError> {
    let text = match &failed.body {
        serde_json::Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    queue.send(&text).await?;
    let mark = db.prepare_cached(MARK_REDRIVEN).await?;
    let row = db.query_one(&mark, &[&failed.id]).await?;
    Ok(failed_job(&row))
}
