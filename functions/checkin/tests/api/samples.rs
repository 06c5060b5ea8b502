//! The checkin function's sample payloads under `events/` reach its route: with their
//! placeholder token they get to the authenticator and answer 401.

use tower::ServiceExt as _;

use crate::*;

#[tokio::test]
async fn the_checkin_sample_events_reach_their_route() {
    let app = App::new().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("checkin-") {
            continue;
        }
        let request = lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let response = app.checkin.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{name}");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
        seen += 1;
    }
    assert_eq!(seen, 1, "one checkin sample");
}
