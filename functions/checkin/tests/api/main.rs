//! The checkin function with the studio that creates its events and the listener that shows
//! what they unlock, each driven in-process through API Gateway v2 events as its own database
//! role, against a private Postgres database per test.

mod checking_in;
mod events;
mod samples;

use axum::Router;
use hound_domain::auth::AccountKind;
use hound_domain::listener::Media;
use hound_testing::{Call, TestAws, TestDb, TestResponse, sign_up, test_gate_keys, test_keys};
use serde_json::Value;
use uuid::Uuid;

pub struct App {
    pub db: TestDb,
    pub studio: Router,
    pub checkin: Router,
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
            code_keys,
            event_keys: event_keys.clone(),
        });
        let checkin = checkin_router(&db, event_keys);
        let listener = listener::router(listener::AppState {
            backend: backend(hound_domain::db::roles::LISTENER),
            media: Media::new(aws.storage.clone(), None),
            collective: Default::default(),
            stripe: hound_testing::test_stripe(),
        });
        Self {
            db,
            studio,
            checkin,
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

    /// A published release of `artist`'s behind a check-in (written directly: the studio's
    /// lifecycle is tested elsewhere).
    pub async fn gated_release(&self, artist: &Account) -> Uuid {
        let id = Uuid::new_v4();
        self.execute(
            "INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                                   published_at)
             SELECT $1::uuid, ap.id, 'Gated ' || left($1::uuid::text, 8), 'album', 'published', 'event',
                    md5(random()::text), now()
               FROM artist_profiles ap WHERE ap.user_id = $2",
            &[&id, &artist.user_id],
        )
        .await;
        id
    }

    /// Create an event over the studio's route.
    pub async fn event(&self, artist: &Account, body: Value) -> Value {
        let r = Call::post("/v1/studio/events")
            .bearer(&artist.token)
            .json(&body)
            .send(&self.studio)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// The event's current token, as its artist's screen shows it.
    pub async fn token(&self, artist: &Account, event: &Value) -> String {
        let r = Call::get(&format!(
            "/v1/studio/events/{}/token",
            event["id"].as_str().unwrap()
        ))
        .bearer(&artist.token)
        .send(&self.studio)
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn check_in(&self, listener: &Account, body: Value) -> TestResponse {
        Call::post("/v1/checkin")
            .bearer(&listener.token)
            .json(&body)
            .send(&self.checkin)
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

/// The checkin function over `db` with these event keys.
pub fn checkin_router(db: &TestDb, event_keys: hound_domain::gates::EventKeys) -> Router {
    checkin::router(checkin::AppState {
        backend: hound_http::Backend::new(
            db.pool_as(hound_domain::db::roles::CHECKIN),
            test_keys(),
        ),
        event_keys,
    })
}

/// An event window around now, as RFC 3339 strings: (starts_at, ends_at).
pub fn window(from_min: i64, to_min: i64) -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let at = |m: i64| {
        (now + time::Duration::minutes(m))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    (at(from_min), at(to_min))
}

pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.code(), code, "body: {}", response.body);
}
