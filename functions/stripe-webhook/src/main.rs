//! Lambda entry point: build the state once per cold start, then serve API Gateway events.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hound_domain::logging::init();
    let state = stripe_webhook::AppState::from_env()?;
    lambda_http::run(stripe_webhook::router(state)).await
}
