//! Lambda entry point: record every message of the transcode dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hound_domain::logging::init();
    let pool = dead_letter::pool_from_env()?;
    let pool = &pool;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(dead_letter::handle(pool, event.payload).await)
    }))
    .await
}
