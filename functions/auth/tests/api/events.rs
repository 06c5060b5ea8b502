//! The sample payloads under `events/` are what `cargo lambda invoke --data-file` sends; they
//! must stay valid API Gateway v2 events that the auth function answers as documented.

use serde_json::Value;
use tower::ServiceExt as _;

use crate::*;

async fn invoke(router: &axum::Router, name: &str) -> (u16, Value) {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let request = lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event");
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

#[tokio::test]
async fn the_auth_sample_events_are_answered_as_documented() {
    let (_db, router) = app().await;

    assert_eq!(invoke(&router, "auth-listener-signup").await.0, 201);
    assert_eq!(invoke(&router, "auth-artist-signup").await.0, 201);
    assert_eq!(invoke(&router, "auth-listener-login").await.0, 200);
    let (status, body) = invoke(&router, "auth-artist-login").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["user"]["roles"],
        serde_json::json!(["artist", "listener"])
    );
    // The API's own description: the committed document, which the contract tests keep current.
    let (status, body) = invoke(&router, "auth-openapi").await;
    assert_eq!(status, 200);
    assert_eq!(body["openapi"], "3.1.0");
    let committed = std::fs::read_to_string(format!(
        "{}/../../docs/openapi.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(body, serde_json::from_str::<Value>(&committed).unwrap());
    assert!(body["paths"]["/v1/studio/releases"]["post"].is_object());

    // The token placeholders are not tokens: the protected samples answer 401 until filled in.
    for name in ["auth-refresh", "auth-me", "auth-logout"] {
        let (status, body) = invoke(&router, name).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}
