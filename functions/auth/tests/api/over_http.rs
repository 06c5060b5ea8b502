//! One walk over real HTTP: `cargo lambda watch` builds and serves the auth function, with the
//! API Gateway paths from the workspace's watch router.

use std::time::Duration;

use hound_testing::{TestDb, WORKSPACE, Watch, jwt_env};
use serde_json::{Value, json};

use crate::PASSWORD;

#[tokio::test]
async fn signup_login_me_refresh_logout_over_cargo_lambda_watch() {
    let db = TestDb::new().await;
    let mut env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("LOG_FORMAT", "json".to_owned()),
    ];
    env.extend(jwt_env("http"));
    // The first request builds the function; wait until it answers.
    let watch = Watch::start(&env, &["/v1/auth/me"], Duration::from_secs(600)).await;
    let base = watch.base.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();

    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    let signup = post(
        "/v1/auth/listener/signup",
        json!({"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"}),
    )
    .await
    .unwrap();
    assert_eq!(signup.status(), 201);
    assert!(signup.headers().contains_key("x-request-id"));

    let login: Value = post(
        "/v1/auth/listener/login",
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = login["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh_token = login["session"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let me = http
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["user"]["email"],
        "ada@example.com"
    );

    let refreshed = post("/v1/auth/refresh", json!({"refresh_token": refresh_token}))
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let access = refreshed.json::<Value>().await.unwrap()["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The sample event through the Lambda invoke API, as `cargo lambda invoke` sends it.
    let invoked = tokio::process::Command::new("cargo")
        .args([
            "lambda",
            "invoke",
            "auth",
            "-A",
            "127.0.0.1",
            "-P",
            &watch.port.to_string(),
        ])
        .args([
            "--data-file",
            "events/auth-artist-signup.json",
            "--output-format",
            "json",
        ])
        .current_dir(WORKSPACE)
        .output()
        .await
        .unwrap();
    assert!(
        invoked.status.success(),
        "{}",
        String::from_utf8_lossy(&invoked.stderr)
    );
    let invoked: Value = serde_json::from_slice(&invoked.stdout).unwrap();
    assert_eq!(invoked["statusCode"], 201, "{invoked}");

    let logout = http
        .post(format!("{base}/v1/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let after = http
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    assert_eq!(
        after.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
}
