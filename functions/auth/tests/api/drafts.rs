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

/// What the listener function's `POST /v1/listener/drafts` stores.
async fn draft(db: &TestDb, kind: &str, body: Value) {
    let client = db.pool.get().await.unwrap();
    let hash = hound_domain::listener::draft_token_hash(TOKEN).unwrap();
    client
        .query_one(
            "SELECT * FROM save_draft($1, $2, $3, 20, interval '7 days')",
            &[&hash, &kind, &body],
        )
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
    // Stored hashed: the token itself is nowhere.
    assert_eq!(
        count(&db, &format!("SELECT count(*) FROM drafts WHERE position('{TOKEN}' IN encode(token_hash, 'escape')) > 0 OR body::text LIKE '%{TOKEN}%'")).await,
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
