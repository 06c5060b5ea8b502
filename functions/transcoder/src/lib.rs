//! The transcoder function: consumes SQS batches (studio job messages and raw S3 ObjectCreated
//! notifications) and reports failures per message, so one bad message never fails the batch.
//! The work itself is `hound_worker::Worker`.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hound_domain::jobs;
use hound_worker::Worker;

/// A failed message comes back after `base × 2^(receives − 1)`, at most this long, instead of
/// after the queue's whole visibility timeout (which must exceed the function's timeout).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(900);

/// Shortens a failed message's visibility so the retry (and, after three receives, the DLQ)
/// comes in minutes rather than hours. Best effort: if SQS refuses, the queue's timeout applies.
///
/// Never shorter than the worker's lease: a worker that could not release its claim (the
/// database was down) keeps it until it expires, and a redelivery that found the job still
/// held would be acknowledged as a duplicate (`Outcome::HeldElsewhere`) — losing the message.
pub struct Backoff {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    base: Duration,
    floor: Duration,
}

impl Backoff {
    /// `lease`: the worker's lease ([`Worker::lease`]); every delay outlasts it by a second.
    pub fn new(
        config: &aws_config::SdkConfig,
        queue_url: String,
        base: Duration,
        lease: Duration,
    ) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(config),
            queue_url,
            base,
            floor: lease + Duration::from_secs(1),
        }
    }

    /// `TRANSCODE_QUEUE_URL` (none: no backoff) and `RETRY_BASE_SECONDS` (default 30).
    pub fn from_env(
        config: &aws_config::SdkConfig,
        lease: Duration,
    ) -> anyhow::Result<Option<Self>> {
        let Some(url) = hound_domain::config::optional_var("TRANSCODE_QUEUE_URL")? else {
            return Ok(None);
        };
        let base =
            hound_domain::config::optional_var_parsed::<u64>("RETRY_BASE_SECONDS")?.unwrap_or(30);
        Ok(Some(Self::new(
            config,
            url,
            Duration::from_secs(base),
            lease,
        )))
    }

    pub fn delay(&self, receive_count: u32) -> Duration {
        let factor = 2u32.saturating_pow(receive_count.saturating_sub(1).min(16));
        self.base
            .saturating_mul(factor)
            .max(self.floor)
            .min(MAX_RETRY_DELAY)
    }

    async fn apply(&self, receipt_handle: &str, receive_count: u32) {
        let delay = self.delay(receive_count);
        let result = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(delay.as_secs() as i32)
            .send()
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not shorten a failed message's visibility");
        }
    }
}

/// Built once per cold start.
pub async fn worker_from_env() -> anyhow::Result<(Worker, Option<Backoff>)> {
    let pool = hound_domain::db::pool(&hound_domain::db::PoolSettings::for_function(
        hound_domain::db::roles::WORKER,
    )?)?;
    let aws = hound_domain::aws::aws_config().await;
    let storage = hound_domain::aws::Storage::from_env(&aws)?;
    let mut worker = Worker::new(pool, storage);
    // `NOTIFY_FROM` set: the artist is mailed as soon as a job ends (else by the schedule).
    if hound_domain::config::optional_var("NOTIFY_FROM")?.is_some() {
        worker = worker.with_mailer(hound_domain::aws::Mailer::from_env(&aws)?);
    }
    let backoff = Backoff::from_env(&aws, worker.lease())?;
    Ok((worker, backoff))
}

/// Handle one batch: messages run one after another (each job already uses every core), and
/// every message that should be delivered again is listed in `batchItemFailures`.
pub async fn handle(
    worker: &Worker,
    backoff: Option<&Backoff>,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.unwrap_or_default();
        let Some(body) = record.body.as_deref() else {
            tracing::error!(%message_id, "message without a body");
            response.add_failure(message_id);
            continue;
        };
        match Box::pin(worker.handle(body)).await {
            Ok(outcomes) => tracing::info!(%message_id, ?outcomes, "message done"),
            Err(retry) => {
                tracing::warn!(%message_id, error = %retry, "message returned to the queue");
                if let (Some(backoff), Some(handle)) = (backoff, record.receipt_handle.as_deref()) {
                    backoff
                        .apply(handle, jobs::receive_count(&record.attributes))
                        .await;
                }
                response.add_failure(message_id);
            }
        }
    }
    response
}
