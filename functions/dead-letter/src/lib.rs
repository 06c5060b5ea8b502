//! The dead-letter function: every message the transcode dead-letter queue receives is recorded
//! in `failed_jobs` (with its body, receive count and the job's last error) and its job is
//! failed, so the studio stops waiting on it. A message that cannot be recorded (the database
//! is down) stays on the DLQ for the next try.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hound_domain::db::{self, DbError, Pool};
use hound_domain::jobs::{self, dead_letter};

pub fn pool_from_env() -> anyhow::Result<Pool> {
    db::pool(&db::PoolSettings::for_function(db::roles::DEAD_LETTER)?)
}

/// Record one message in its own transaction.
async fn record(
    pool: &Pool,
    queue: &str,
    message_id: &str,
    body: &str,
    receive_count: u32,
) -> Result<dead_letter::FailedJob, DbError> {
    let mut client = db::connect(pool).await?;
    let tx = db::begin(&mut client).await?;
    let failed = dead_letter::record(&tx, queue, message_id, body, receive_count).await?;
    tx.commit().await?;
    Ok(failed)
}

pub async fn handle(pool: &Pool, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.unwrap_or_default();
        let queue = record
            .event_source_arn
            .as_deref()
            .map(dead_letter::queue_name)
            .unwrap_or("unknown")
            .to_owned();
        let receive_count = jobs::receive_count(&record.attributes);
        let body = record.body.unwrap_or_default();
        match self::record(pool, &queue, &message_id, &body, receive_count).await {
            Ok(failed) => tracing::error!(
                %message_id, queue, job_id = ?failed.job_id, error = %failed.error,
                "dead-lettered message recorded"
            ),
            Err(e) => {
                tracing::error!(%message_id, error = %e, "could not record a dead-lettered message");
                response.add_failure(message_id);
            }
        }
    }
    response
}
