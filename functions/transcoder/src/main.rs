//! Lambda entry point (container image with ffmpeg): build the worker once per cold start, then
//! handle SQS batches with partial batch responses.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hound_domain::logging::init();
    let (worker, backoff) = transcoder::worker_from_env().await?;
    let (worker, backoff) = (&worker, backoff.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(transcoder::handle(worker, backoff, event.payload).await)
    }))
    .await
}
