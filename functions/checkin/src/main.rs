//! Lambda entry point: build the state once per cold start, then serve API Gateway events.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hound_domain::logging::init();
    let state = checkin::AppState::from_env()?;
    lambda_http::run(checkin::router(state)).await
}
