use std::sync::Arc;

use hound_domain::auth::{AccessClaims, Role};
use hound_http::Backend;
use hound_testing::{Call, keys_with};
use serde_json::json;

use crate::*;

async fn refresh(router: &axum::Router, refresh_token: &str) -> hound_testing::TestResponse {
    Call::post("/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh_token}))
        .send(router)
        .await
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let (_db, router) = app().await;
    let (_, first) = tokens(&signup(&router, "listener", "ada@example.com").await);

    let response = refresh(&router, &first).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["user"]["email"], "ada@example.com");
    let (access, second) = tokens(&response);
    assert_ne!(first, second);
    assert_eq!(me(&router, &access).await.status, 200);
    assert_eq!(refresh(&router, &second).await.status, 200);
}

#[tokio::test]
async fn refresh_with_rotated_token_revokes_family() {
    let (_db, router) = app().await;
    let (_, first) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let rotated = refresh(&router, &first).await;
    let (newest_access, newest_refresh) = tokens(&rotated);

    let replay = refresh(&router, &first).await;

    assert_error(&replay, 401, "refresh_token_reused");
    assert_error(
        &refresh(&router, &newest_refresh).await,
        401,
        "unauthorized",
    );
    assert_error(&me(&router, &newest_access).await, 401, "unauthorized");
}

#[tokio::test]
async fn reuse_revokes_only_that_family() {
    let (_db, router) = app().await;
    let (_, first) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let (other_access, _) = tokens(&login(&router, "listener", "ada@example.com", PASSWORD).await);
    refresh(&router, &first).await;
    refresh(&router, &first).await;
    assert_eq!(me(&router, &other_access).await.status, 200);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_refused() {
    let (_db, router) = app().await;
    assert_error(&refresh(&router, "not-a-token").await, 401, "unauthorized");
    assert_error(&refresh(&router, "").await, 401, "unauthorized");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let (db, router) = app().await;
    let (_, token) = tokens(&signup(&router, "listener", "ada@example.com").await);
    db.pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    assert_error(&refresh(&router, &token).await, 401, "token_expired");
}

#[tokio::test]
async fn logout_makes_the_access_token_useless_at_once() {
    let (_db, router) = app().await;
    let (access, refresh_token) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let (other_access, _) = tokens(&login(&router, "listener", "ada@example.com", PASSWORD).await);

    let response = Call::post("/v1/auth/logout")
        .bearer(&access)
        .send(&router)
        .await;

    assert_eq!(response.status, 204);
    assert!(response.body.is_null());
    assert_error(&me(&router, &access).await, 401, "unauthorized");
    assert_error(&refresh(&router, &refresh_token).await, 401, "unauthorized");
    // Local scope: the other session lives on.
    assert_eq!(me(&router, &other_access).await.status, 200);
}

#[tokio::test]
async fn global_logout_ends_every_session_of_the_user() {
    let (_db, router) = app().await;
    let (access, _) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let (other_access, other_refresh) =
        tokens(&login(&router, "listener", "ada@example.com", PASSWORD).await);
    let (bob, _) = tokens(&signup(&router, "listener", "bob@example.com").await);

    let response = Call::post("/v1/auth/logout")
        .bearer(&access)
        .json(&json!({"scope": "global"}))
        .send(&router)
        .await;

    assert_eq!(response.status, 204);
    assert_error(&me(&router, &access).await, 401, "unauthorized");
    assert_error(&me(&router, &other_access).await, 401, "unauthorized");
    assert_error(&refresh(&router, &other_refresh).await, 401, "unauthorized");
    assert_eq!(me(&router, &bob).await.status, 200);
}

#[tokio::test]
async fn logout_with_an_unknown_scope_is_a_400() {
    let (_db, router) = app().await;
    let (access, _) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let response = Call::post("/v1/auth/logout")
        .bearer(&access)
        .json(&json!({"scope": "everywhere"}))
        .send(&router)
        .await;
    assert_error(&response, 400, "invalid_request");
    assert!(field_problem(&response, "scope").is_string());
    assert_eq!(me(&router, &access).await.status, 200);
}

#[tokio::test]
async fn protected_endpoints_need_a_bearer_token() {
    let (_db, router) = app().await;
    assert_error(
        &Call::get("/v1/auth/me").send(&router).await,
        401,
        "unauthorized",
    );
    assert_error(
        &Call::post("/v1/auth/logout").send(&router).await,
        401,
        "unauthorized",
    );
    let basic = Call::get("/v1/auth/me")
        .header("authorization", "Basic YTpi")
        .send(&router)
        .await;
    assert_error(&basic, 401, "unauthorized");
    assert_error(&me(&router, "garbage").await, 401, "unauthorized");
}

fn claims_of(access: &str) -> AccessClaims {
    use base64::Engine as _;
    let payload = access.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn access_tokens_carry_the_documented_claims_and_kid() {
    use base64::Engine as _;
    let (_db, router) = app().await;
    let (access, _) = tokens(&signup(&router, "artist", "ada@example.com").await);
    let header = access.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], "test-1");
    assert_eq!(header["alg"], "EdDSA");
    let claims = claims_of(&access);
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.roles, vec![Role::Artist, Role::Listener]);
}

#[tokio::test]
async fn an_expired_access_token_answers_token_expired() {
    let keys = hound_testing::test_keys();
    let (_db, router) = app_with_keys(keys.clone()).await;
    let (access, _) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let mut claims = claims_of(&access);
    claims.iat -= 3600;
    claims.exp -= 3600;
    let expired = keys.sign(&claims).unwrap();

    assert_error(&me(&router, &expired).await, 401, "token_expired");
}

#[tokio::test]
async fn a_tampered_access_token_is_refused() {
    use base64::Engine as _;
    let (_db, router) = app().await;
    let (access, _) = tokens(&signup(&router, "listener", "ada@example.com").await);
    // Grant ourselves the artist role without re-signing.
    let mut claims = serde_json::to_value(claims_of(&access)).unwrap();
    claims["roles"] = json!(["artist", "listener"]);
    let forged_payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let parts: Vec<&str> = access.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);

    assert_error(&me(&router, &forged).await, 401, "unauthorized");
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_until_the_old_key_is_retired() {
    let db = TestDb::new().await;
    let old_router = auth::router(auth::AppState::new(Backend::new(
        db.pool_as(hound_domain::db::roles::AUTH),
        Arc::new(keys_with(&[("k1", 1)], "k1")),
    )));
    let (old_access, _) = tokens(&signup(&old_router, "listener", "ada@example.com").await);

    // k2 becomes the signing key; k1 still verifies.
    let rotating = auth::router(auth::AppState::new(Backend::new(
        db.pool_as(hound_domain::db::roles::AUTH),
        Arc::new(keys_with(&[("k1", 1), ("k2", 2)], "k2")),
    )));
    assert_eq!(me(&rotating, &old_access).await.status, 200);
    let (new_access, _) = tokens(&login(&rotating, "listener", "ada@example.com", PASSWORD).await);
    assert_eq!(me(&rotating, &new_access).await.status, 200);

    // k1 retired: its tokens stop working, k2's keep working.
    let retired = auth::router(auth::AppState::new(Backend::new(
        db.pool_as(hound_domain::db::roles::AUTH),
        Arc::new(keys_with(&[("k2", 2)], "k2")),
    )));
    assert_error(&me(&retired, &old_access).await, 401, "unauthorized");
    assert_eq!(me(&retired, &new_access).await.status, 200);
}
