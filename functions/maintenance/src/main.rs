//! Lambda entry point for the scheduled maintenance tasks.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hound_domain::logging::init();
    let maintenance = maintenance::Maintenance::from_env().await?;
    let maintenance = &maintenance;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<maintenance::Task>| async move {
            maintenance
                .handle(event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
