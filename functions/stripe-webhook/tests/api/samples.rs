//! The stripe-webhook samples under `events/` reach the route; signed at a fixed time long
//! past, they are refused as stale (400 `invalid_signature`), never a 500.

use tower::ServiceExt as _;

use crate::*;

#[tokio::test]
async fn the_stripe_webhook_samples_reach_their_route() {
    let app = App::new().await;
    let webhook = app.webhook(&["whsec_sample_events"]);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("stripe-webhook-") {
            continue;
        }
        let request = lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let response = webhook.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{name}");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "invalid_signature", "{name}");
        assert_eq!(
            body["error"]["details"]["reason"],
            "the signed timestamp is outside the tolerance"
        );
        seen += 1;
    }
    assert!(seen >= 1, "a stripe-webhook sample");
}
