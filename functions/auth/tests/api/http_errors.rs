use hound_testing::Call;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn malformed_json_is_a_400_invalid_request() {
    let (_db, router) = app().await;
    let response = Call::post("/v1/auth/listener/signup")
        .raw_body("application/json", "{\"email\": \"ada@example.com\",")
        .send(&router)
        .await;
    assert_error(&response, 400, "invalid_request");
}

/// API Gateway passes a body that is not UTF-8 as bytes (base64 in the event); `cargo lambda
/// watch` cannot carry one (it answers its own 500 before any function runs), so the contract
/// fuzz never sends one and this test does.
#[tokio::test]
async fn a_json_body_that_is_not_utf8_is_a_400() {
    let (_db, router) = app().await;
    for bytes in [
        &b"\xff\xfe{"[..],
        b"{\"email\": \"\xc3\x28\"}",
        b"\x06\xe2\x82",
    ] {
        let response = Call::post("/v1/auth/listener/login")
            .binary_body("application/json", bytes)
            .send(&router)
            .await;
        assert_error(&response, 400, "invalid_request");
    }
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let (_db, router) = app().await;
    let wrong_type = Call::post("/v1/auth/listener/login")
        .json(&json!({"email": 42, "password": PASSWORD}))
        .send(&router)
        .await;
    assert_error(&wrong_type, 400, "invalid_request");
    assert!(
        field_problem(&wrong_type, "email").is_string(),
        "{}",
        wrong_type.body
    );

    let missing = Call::post("/v1/auth/listener/signup")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send(&router)
        .await;
    assert_error(&missing, 400, "invalid_request");
    assert_eq!(field_problem(&missing, "display_name"), "is required");

    let not_object = Call::post("/v1/auth/refresh")
        .json(&json!([1, 2]))
        .send(&router)
        .await;
    assert_error(&not_object, 400, "invalid_request");
}

#[tokio::test]
async fn an_empty_body_is_a_400() {
    let (_db, router) = app().await;
    let response = Call::post("/v1/auth/listener/login").send(&router).await;
    assert_error(&response, 400, "invalid_request");
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let (_db, router) = app().await;
    let huge = json!({"email": "ada@example.com", "password": PASSWORD, "display_name": "x".repeat(1024 * 1024)});
    let response = Call::post("/v1/auth/listener/signup")
        .json(&huge)
        .send(&router)
        .await;
    assert_error(&response, 413, "payload_too_large");
    // Even where no body is expected.
    let response = Call::get("/v1/auth/me")
        .raw_body("text/plain", &"x".repeat(2 * 1024 * 1024))
        .send(&router)
        .await;
    assert_error(&response, 413, "payload_too_large");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let (_db, router) = app().await;
    let form = Call::post("/v1/auth/listener/login")
        .raw_body(
            "application/x-www-form-urlencoded",
            "email=a%40b.co&password=x",
        )
        .send(&router)
        .await;
    assert_error(&form, 415, "unsupported_media_type");
    let untyped = Call::post("/v1/auth/listener/login")
        .raw_body("", r#"{"email":"a@b.co","password":"x"}"#)
        .send(&router)
        .await;
    assert_error(&untyped, 415, "unsupported_media_type");
}

#[tokio::test]
async fn json_with_a_charset_is_accepted() {
    let (_db, router) = app().await;
    let response = Call::post("/v1/auth/listener/signup")
        .raw_body(
            "application/json; charset=utf-8",
            &json!({"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"})
                .to_string(),
        )
        .send(&router)
        .await;
    assert_eq!(response.status, 201, "{}", response.body);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json_errors() {
    let (_db, router) = app().await;
    assert_error(
        &Call::get("/v1/auth/nope").send(&router).await,
        404,
        "not_found",
    );
    assert_error(
        &Call::get("/v1/auth/listener/login").send(&router).await,
        405,
        "method_not_allowed",
    );
}

#[tokio::test]
async fn every_response_carries_the_gateway_request_id() {
    let (_db, router) = app().await;
    let call = Call::get("/v1/auth/me");
    let expected = call.event()["requestContext"]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    // `event()` makes a new id each time; send the same event by hand.
    let request = lambda_http::request::from_str(
        &serde_json::to_string(&{
            let mut event = call.event();
            event["requestContext"]["requestId"] = json!(expected);
            event
        })
        .unwrap(),
    )
    .unwrap();
    use tower::ServiceExt as _;
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], expected.as_str());
}

#[tokio::test]
async fn a_database_outage_is_a_503_not_a_500() {
    let unreachable = hound_domain::db::pool(&hound_domain::db::PoolSettings {
        url: secrecy::SecretString::from("postgres://postgres@127.0.0.1:1/hound".to_owned()),
        max_size: 1,
        ca_file: None,
        role: Some(hound_domain::db::roles::AUTH),
    })
    .unwrap();
    let router = auth::router(auth::AppState::new(hound_http::Backend::new(
        unreachable,
        hound_testing::test_keys(),
    )));
    let response = signup(&router, "listener", "ada@example.com").await;
    assert_error(&response, 503, "unavailable");
    assert!(response.headers.contains_key("retry-after"));
    assert_error(
        &login(&router, "listener", "ada@example.com", PASSWORD).await,
        503,
        "unavailable",
    );
}
