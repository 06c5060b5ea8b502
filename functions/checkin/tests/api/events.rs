//! Events in the studio: creation rules, the rotating token, and the sealed secret.

use hound_testing::Call;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn an_artist_creates_an_event_and_reads_its_current_token() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = app.gated_release(&artist).await;
    let (starts_at, ends_at) = window(-10, 120);
    let event = app
        .event(
            &artist,
            json!({"name": "  Release show ", "starts_at": starts_at, "ends_at": ends_at,
                   "lat": 52.5, "lon": 13.4, "release_id": release}),
        )
        .await;
    assert_eq!(event["name"], "Release show");
    assert_eq!(
        event["radius_m"], 200,
        "a place without a radius gets the default"
    );
    assert_eq!(event["release_id"], release.to_string());
    assert!(event.get("secret").is_none() && event.get("secret_sealed").is_none());

    let r = Call::get(&format!(
        "/v1/studio/events/{}/token",
        event["id"].as_str().unwrap()
    ))
    .bearer(&artist.token)
    .send(&app.studio)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().unwrap();
    assert_eq!(token.len(), 8);
    assert!(token.bytes().all(|b| b.is_ascii_digit()));
    let expires = time::OffsetDateTime::parse(
        r.body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::ZERO && left <= time::Duration::seconds(30),
        "the token rotates within 30 s: {left}"
    );
    assert_eq!(
        expires.unix_timestamp() % 30,
        0,
        "steps are aligned to 30 s"
    );

    // Sealed at rest: ciphertext with a 16-byte tag, a 12-byte nonce, the key's id.
    let client = app.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT octet_length(secret_sealed), octet_length(secret_nonce), secret_key_id
               FROM events",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 20 + 16);
    assert_eq!(row.get::<_, i32>(1), 12);
    assert_eq!(row.get::<_, String>(2), "test-1");
}

#[tokio::test]
async fn events_are_the_artists_own_and_bad_ones_are_refused_field_by_field() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let others_release = app.gated_release(&other).await;
    let (starts_at, ends_at) = window(0, 60);
    for (body, field) in [
        (
            json!({"name": "", "starts_at": starts_at, "ends_at": ends_at}),
            "name",
        ),
        (
            json!({"name": "x", "starts_at": ends_at, "ends_at": starts_at}),
            "ends_at",
        ),
        (
            json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at, "lat": 10.0}),
            "lon",
        ),
        (
            json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at, "radius_m": 50}),
            "radius_m",
        ),
        (
            json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at, "lat": 91.0, "lon": 0.0}),
            "lat",
        ),
        (
            json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at, "lat": 0.0, "lon": 0.0, "radius_m": 5}),
            "radius_m",
        ),
        (
            json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at, "release_id": others_release}),
            "release_id",
        ),
    ] {
        let r = Call::post("/v1/studio/events")
            .bearer(&artist.token)
            .json(&body)
            .send(&app.studio)
            .await;
        assert_error(&r, 400, "invalid_request");
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{field}: {}",
            r.body
        );
    }
    let r = Call::post("/v1/studio/events")
        .bearer(&fan.token)
        .json(&json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at}))
        .send(&app.studio)
        .await;
    assert_error(&r, 403, "role_required");
    assert_eq!(app.count("SELECT count(*) FROM events").await, 0);

    // Another artist's event has no token for you.
    let event = app
        .event(
            &artist,
            json!({"name": "x", "starts_at": starts_at, "ends_at": ends_at}),
        )
        .await;
    let r = Call::get(&format!(
        "/v1/studio/events/{}/token",
        event["id"].as_str().unwrap()
    ))
    .bearer(&other.token)
    .send(&app.studio)
    .await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn events_sealed_before_a_key_rotation_still_check_in_after_it() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (starts_at, ends_at) = window(-5, 60);
    let event = app
        .event(
            &artist,
            json!({"name": "Old key", "starts_at": starts_at, "ends_at": ends_at}),
        )
        .await;
    let token = app.token(&artist, &event).await;

    // The ring gains a new active key and keeps the old one: the event still opens.
    let b64 = |byte: u8| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    };
    let rotated = hound_domain::gates::EventKeys::from_json(
        &json!({"active_kid": "test-2", "keys": {"test-1": b64(4), "test-2": b64(5)}}).to_string(),
    )
    .unwrap();
    let checkin = checkin_router(&app.db, rotated);
    let r = Call::post("/v1/checkin")
        .bearer(&fan.token)
        .json(&json!({"event_id": event["id"], "token": token}))
        .send(&checkin)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
