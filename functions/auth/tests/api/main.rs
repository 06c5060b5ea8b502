//! The auth function, driven in-process through API Gateway v2 events against a private
//! Postgres database per test (see `hound_testing`).

mod drafts;
mod events;
mod http_errors;
mod over_http;
mod sessions;
mod signup_login;

use std::sync::Arc;

use axum::Router;
use hound_domain::auth::JwtKeys;
use hound_testing::{Call, TestDb, TestResponse, test_keys};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct-horse-battery-staple";

/// A fresh database and the auth router over it.
pub async fn app() -> (TestDb, Router) {
    app_with_keys(test_keys()).await
}

pub async fn app_with_keys(keys: Arc<JwtKeys>) -> (TestDb, Router) {
    let db = TestDb::new().await;
    let router = auth::router(auth::AppState::new(hound_http::Backend::new(
        db.pool_as(hound_domain::db::roles::AUTH),
        keys,
    )));
    (db, router)
}

pub async fn signup(router: &Router, kind: &str, email: &str) -> TestResponse {
    Call::post(&format!("/v1/auth/{kind}/signup"))
        .json(&json!({"email": email, "password": PASSWORD, "display_name": "Ada Lovelace"}))
        .send(router)
        .await
}

pub async fn login(router: &Router, kind: &str, email: &str, password: &str) -> TestResponse {
    Call::post(&format!("/v1/auth/{kind}/login"))
        .json(&json!({"email": email, "password": password}))
        .send(router)
        .await
}

pub async fn me(router: &Router, access_token: &str) -> TestResponse {
    Call::get("/v1/auth/me")
        .bearer(access_token)
        .send(router)
        .await
}

pub fn tokens(response: &TestResponse) -> (String, String) {
    let session = &response.body["session"];
    (
        session["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
        session["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    )
}

pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.code(), code, "body: {}", response.body);
    assert!(
        response.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error has a message: {}",
        response.body
    );
    assert!(response.body["error"]["details"].is_object());
    assert!(response.headers.contains_key("x-request-id"));
}

pub fn field_problem<'a>(response: &'a TestResponse, field: &str) -> &'a Value {
    &response.body["error"]["details"]["fields"][field]
}
