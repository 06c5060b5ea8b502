//! Drafts kept before signup are claimed by signup or login with their token: all of them, once,
//! in the same transaction.

use hound_testing::{Call, TestDb};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::*;

const TOKEN: &str = "draft-token-0123456789abcdefghijklmnopqrstuv";

/// A published public release with `n` tracks, written directly (the studio is tested elsewhere).
async fn tracks(db: &TestDb, n: i32) -> Vec<Uuid> {
    let client = db.pool.get().await.unwrap();
    let (user, _) = hound_testing::sign_up(
        db,
        hound_domain::auth::AccountKind::Artist,
        "artist@example.com",
        "Artist",
    )
    .await;
    let release = Uuid::new_v4();
    client
        .execute(
            "INSERT INTO releases (id, artist_id, title, kind, share_token, status, published_at)
             SELECT $1, ap.id, 'R', 'album', md5(random()::text), 'published', now()
               FROM artist_profiles ap WHERE ap.user_id = $2",
            &[&release, user.id.as_uuid()],
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for position in 1..=n {
        let id = Uuid::new_v4();
        client
            .execute(
                "INSERT INTO tracks (id, release_id, position, title) VALUES ($1, $2, $3, 'T')",
                &[&id, &release, &position],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

/// What the listener function's `POST /v1/listener/drafts` does (its checks included).
async fn draft(db: &TestDb, kind: &str, body: Value) {
    let client = db
        .pool_as(hound_domain::db::roles::LISTENER)
        .get()
        .await
        .unwrap();
    let fields =
        serde_json::from_value(json!({"draft_token": TOKEN, "kind": kind, "body": body})).unwrap();
    hound_domain::listener::save_draft(&client, fields)
        .await
        .unwrap();
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.pool
        .get()
        .await
        .unwrap()
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn signup_claims_every_draft_of_its_token_once() {
    let (db, router) = app().await;
    let tracks = tracks(&db, 2).await;
    draft(
        &db,
        "playlist",
        json!({"name": "Road", "track_ids": [tracks[0], tracks[1], tracks[0]]}),
    )
    .await;
    draft(&db, "playlist", json!({"name": "Road", "is_public": true})).await;
    draft(&db, "mix", json!({"name": "Rain", "is_public": false,
        "layers": [{"track_id": tracks[1], "volume": 0.5}, {"track_id": Uuid::new_v4(), "volume": 1.0}]})).await;
    // A mix none of whose tracks the account reaches is not made.
    draft(
        &db,
        "mix",
        json!({"name": "Nothing", "layers": [{"track_id": Uuid::new_v4(), "volume": 1.0}]}),
    )
    .await;
    // Stored as its SHA-256 only: the token itself is in no column.
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM drafts WHERE token_hash = sha256('{TOKEN}')")
        )
        .await,
        4
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM drafts d WHERE d::text LIKE '%{TOKEN}%'")
        )
        .await
            + count(
                &db,
                &format!("SELECT count(*) FROM draft_tokens t WHERE t::text LIKE '%{TOKEN}%'")
            )
            .await,
        0
    );

    let signed = Call::post("/v1/auth/listener/signup")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada", "draft_token": TOKEN}))
        .send(&router)
        .await;
    assert_eq!(signed.status, 201, "{}", signed.body);
    // Two drafts under one token both come (seed 003 raised "more than one row").
    assert_eq!(
        signed.body["drafts_claimed"],
        json!({"playlists": 2, "mixes": 1})
    );
    let user = signed.body["user"]["id"].as_str().unwrap();
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM playlists WHERE owner_id = '{user}'")
        )
        .await,
        2
    );
    // The second "Road" was renamed; the first kept its tracks once each, in order.
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM playlists WHERE owner_id = '{user}' AND name = 'Road (2)'"
            )
        )
        .await,
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM playlist_items").await, 2);
    assert_eq!(
        count(
            &db,
            &format!("SELECT live::bigint FROM playlist_quotas WHERE owner_id = '{user}'")
        )
        .await,
        2
    );
    // The mix keeps the layer it could reach and drops the unknown track.
    assert_eq!(count(&db, "SELECT count(*) FROM mix_layers").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM drafts").await, 0);

    // Once: a login with the same token claims nothing more.
    let again = Call::post("/v1/auth/listener/login")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD, "draft_token": TOKEN}))
        .send(&router)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        again.body["drafts_claimed"],
        json!({"playlists": 0, "mixes": 0})
    );
    assert_eq!(count(&db, "SELECT count(*) FROM playlists").await, 2);
}

#[tokio::test]
async fn a_malformed_draft_token_is_refused_before_anything_is_written() {
    let (db, router) = app().await;
    let refused = Call::post("/v1/auth/listener/signup")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada", "draft_token": "short"}))
        .send(&router)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body["error"]["details"]["fields"]["draft_token"].is_string());
    assert_eq!(count(&db, "SELECT count(*) FROM users").await, 0);
    // A wrong password with a token claims nothing and is refused as usual.
    signup(&router, "listener", "bob@example.com").await;
    draft(&db, "playlist", json!({"name": "Kept"})).await;
    let wrong = Call::post("/v1/auth/listener/login")
        .json(&json!({"email": "bob@example.com", "password": "wrong-password-123", "draft_token": TOKEN}))
        .send(&router)
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(count(&db, "SELECT count(*) FROM drafts").await, 1);
}

#[tokio::test]
async fn hostile_draft_bodies_are_refused_when_kept_not_when_claimed() {
    let (db, _router) = app().await;
    let client = db
        .pool_as(hound_domain::db::roles::LISTENER)
        .get()
        .await
        .unwrap();
    for (kind, body) in [
        (
            "mix",
            json!({"name": "Loud", "layers": [{"track_id": Uuid::new_v4(), "volume": 1e300}]}),
        ),
        (
            "mix",
            json!({"name": "Late", "layers": [{"track_id": Uuid::new_v4(), "volume": 0.5, "delay_ms": -1}]}),
        ),
        ("playlist", json!({"name": "Nul\u{0}name"})),
        ("playlist", json!({"name": "x", "is_public": "yes"})),
        (
            "playlist",
            json!({"name": "x", "track_ids": ["not-a-uuid"]}),
        ),
    ] {
        let fields =
            serde_json::from_value(json!({"draft_token": TOKEN, "kind": kind, "body": body}))
                .unwrap();
        let refused = hound_domain::listener::save_draft(&client, fields).await;
        assert!(
            matches!(
                refused,
                Err(hound_domain::listener::ListenerError::Invalid(_))
            ),
            "{kind}: {refused:?}"
        );
    }
    assert_eq!(count(&db, "SELECT count(*) FROM drafts").await, 0);
}
