//! The studio's sample payloads under `events/` must stay valid API Gateway v2 events for
//! routes that exist: with their placeholder token they reach the authenticator and get 401.

use hound_testing::TestResponse;
use tower::ServiceExt as _;

use crate::*;

#[tokio::test]
async fn the_studio_sample_events_reach_their_routes() {
    let app = App::new().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("studio-") {
            continue;
        }
        let request = lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let response = app.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let r = TestResponse {
            status,
            headers: Default::default(),
            body: serde_json::from_slice(&bytes).unwrap(),
        };
        assert_error(&r, 401, "unauthorized");
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} studio samples");
}
