//! The transcoder function: consumes SQS batches (studio job messages and raw S3 ObjectCreated
//! notifications) and reports failures per message, so one bad message never fails the batch.
//! The work itself is `hound::transcode::Worker`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hound::transcode::Worker;

/// Built once per cold start.
pub async fn worker_from_env() -> anyhow::Result<Worker> {
    let database = hound::config::database_from_env()?;
    let pool = hound::db::pool(&database)?;
    let aws = hound::storage::aws_config().await;
    let storage = hound::storage::Storage::from_env(&aws)?;
    Ok(Worker::new(pool, storage))
}

/// Handle one batch: messages run one after another (each job already uses every core), and
/// every message that should be delivered again is listed in `batchItemFailures`.
pub async fn handle(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.unwrap_or_default();
        let Some(body) = record.body else {
            tracing::error!(%message_id, "message without a body");
            response.add_failure(message_id);
            continue;
        };
        match Box::pin(worker.handle(&body)).await {
            Ok(outcomes) => tracing::info!(%message_id, ?outcomes, "message done"),
            Err(retry) => {
                tracing::warn!(%message_id, error = %retry, "message returned to the queue");
                response.add_failure(message_id);
            }
        }
    }
    response
}
