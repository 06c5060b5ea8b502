//! The redeem function with the studio that issues its codes and the listener that shows what
//! they unlock, each driven in-process through API Gateway v2 events as its own database role,
//! against a private Postgres database per test.

mod codes;
mod redeeming;
mod samples;
mod share_token;

use axum::Router;
use hound_domain::auth::AccountKind;
use hound_domain::listener::Media;
use hound_testing::{Call, TestAws, TestDb, TestResponse, sign_up, test_gate_keys, test_keys};
use serde_json::{Value, json};
use uuid::Uuid;

pub struct App {
    pub db: TestDb,
    pub studio: Router,
    pub redeem: Router,
    pub listener: Router,
}

/// An account: its access token and user id.
pub struct Account {
    pub token: String,
    pub user_id: Uuid,
}

impl App {
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let aws = TestAws::new().await;
        let (code_keys, event_keys) = test_gate_keys();
        let backend = |role| hound_http::Backend::new(db.pool_as(role), test_keys());
        let studio = studio::router(studio::AppState {
            backend: backend(hound_domain::db::roles::STUDIO),
            storage: aws.storage.clone(),
            queue: aws.queue.clone(),
            code_keys: code_keys.clone(),
            event_keys,
        });
        let redeem = redeem::router(redeem::AppState {
            backend: backend(hound_domain::db::roles::REDEEM),
            code_keys,
        });
        let listener = listener::router(listener::AppState {
            backend: backend(hound_domain::db::roles::LISTENER),
            media: Media::new(aws.storage.clone(), None),
            collective: Default::default(),
            stripe: hound_testing::test_stripe(),
        });
        Self {
            db,
            studio,
            redeem,
            listener,
        }
    }

    pub async fn account(&self, kind: &str, email: &str) -> Account {
        let kind = if kind == "artist" {
            AccountKind::Artist
        } else {
            AccountKind::Listener
        };
        let (user, session) = sign_up(&self.db, kind, email, "Test Person").await;
        Account {
            token: session.access_token,
            user_id: *user.id.as_uuid(),
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.db.pool.get().await.unwrap();
        client.query_one(sql, &[]).await.unwrap().get(0)
    }

    pub async fn execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
        let client = self.db.pool.get().await.unwrap();
        client
            .execute(sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// A published release of `artist`'s behind a code (written directly: the studio's
    /// lifecycle is tested elsewhere).
    pub async fn gated_release(&self, artist: &Account) -> Uuid {
        let id = Uuid::new_v4();
        self.execute(
            "INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                                   published_at)
             SELECT $1::uuid, ap.id, 'Gated ' || left($1::uuid::text, 8), 'album', 'published', 'code',
                    md5(random()::text), now()
               FROM artist_profiles ap WHERE ap.user_id = $2",
            &[&id, &artist.user_id],
        )
        .await;
        id
    }

    /// Issue codes over the studio's route; the batch and the codes.
    pub async fn issue(
        &self,
        artist: &Account,
        release: Uuid,
        body: Value,
    ) -> (Value, Vec<String>) {
        let r = Call::post(&format!("/v1/studio/releases/{release}/codes"))
            .bearer(&artist.token)
            .json(&body)
            .send(&self.studio)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let codes = r.body["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (r.body["batch"].clone(), codes)
    }

    pub async fn redeem(&self, listener: &Account, code: &str) -> TestResponse {
        Call::post("/v1/redeem")
            .bearer(&listener.token)
            .json(&json!({ "code": code }))
            .send(&self.redeem)
            .await
    }

    /// The album's `gate` as the listener sees it (`null` once it streams for them).
    pub async fn gate_seen_by(&self, listener: &Account, release: Uuid) -> Value {
        let r = Call::get(&format!("/v1/listener/albums/{release}"))
            .bearer(&listener.token)
            .send(&self.listener)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["gate"].clone()
    }
}

pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.code(), code, "body: {}", response.body);
}
