//! The studio function, driven in-process through API Gateway v2 events, against a private
//! Postgres database and private moto buckets and queue per test.

mod events;
mod lifecycle;
mod releases;
mod uploads;

use axum::Router;
use hound_domain::auth::AccountKind;
use hound_testing::{Call, TestAws, TestDb, TestResponse, sign_up, test_gate_keys, test_keys};
use serde_json::{Value, json};

pub struct App {
    pub db: TestDb,
    pub aws: TestAws,
    pub router: Router,
}

impl App {
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let aws = TestAws::new().await;
        let state = studio::AppState {
            backend: hound_http::Backend::new(
                db.pool_as(hound_domain::db::roles::STUDIO),
                test_keys(),
            ),
            storage: aws.storage.clone(),
            queue: aws.queue.clone(),
            code_keys: test_gate_keys().0,
            event_keys: test_gate_keys().1,
        };
        Self {
            router: studio::router(state),
            db,
            aws,
        }
    }

    /// Sign up and return an access token.
    pub async fn account(&self, kind: &str, email: &str) -> String {
        let kind = if kind == "artist" {
            AccountKind::Artist
        } else {
            AccountKind::Listener
        };
        let (_, session) = sign_up(&self.db, kind, email, "Test Artist").await;
        session.access_token
    }

    /// A single count from the test database.
    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.db.pool.get().await.unwrap();
        client.query_one(sql, &[]).await.unwrap().get(0)
    }

    pub async fn call(&self, call: Call, token: &str) -> TestResponse {
        call.bearer(token).send(&self.router).await
    }

    pub async fn create_release(&self, token: &str, title: &str) -> Value {
        let r = self
            .call(
                Call::post("/v1/studio/releases").json(&json!({"title": title, "kind": "album"})),
                token,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    pub async fn add_track(&self, token: &str, release: &str, title: &str) -> Value {
        let r = self
            .call(
                Call::post(&format!("/v1/studio/releases/{release}/tracks"))
                    .json(&json!({"title": title})),
                token,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }
}

pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.code(), code, "body: {}", response.body);
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// A real WAV file made by ffmpeg: `seconds` of a 440 Hz sine.
pub fn wav(seconds: u32) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args(["-ac", "2", "-ar", "44100", "-f", "wav", "-"])
        .output()
        .expect("ffmpeg is installed (make test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// PUT bytes to a presigned upload exactly as a client would, with the signed headers.
pub async fn put(upload: &Value, body: Vec<u8>) -> u16 {
    let client = reqwest::Client::new();
    let mut request = client.put(upload["url"].as_str().unwrap());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    request.body(body).send().await.unwrap().status().as_u16()
}
