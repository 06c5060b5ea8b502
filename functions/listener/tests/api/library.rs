//! Saves and the library.

use crate::*;

async fn send(app: &App, method: &str, path: &str, token: &str) -> TestResponse {
    Call::new(method, path)
        .bearer(token)
        .send(&app.router)
        .await
}

#[tokio::test]
async fn saving_and_unsaving_are_idempotent() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    let path = format!("/v1/listener/tracks/{track}/save");

    for _ in 0..2 {
        let r = send(&app, "POST", &path, &fan.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["saved"], true);
    }
    assert_eq!(app.count("SELECT count(*) FROM saves").await, 1);
    for _ in 0..2 {
        let r = send(&app, "DELETE", &path, &fan.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["saved"], false);
    }
    assert_eq!(app.count("SELECT count(*) FROM saves").await, 0);
    let r = Call::post(&path).send(&app.router).await;
    assert_error(&r, 401, "unauthorized");
}

#[tokio::test]
async fn only_visible_tracks_can_be_saved() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (draft, _) = app.release(&owner, "draft", "public", None).await;
    let hidden = app.track(draft, 1, 60_000).await;
    let (gated, _) = app.release(&owner, "published", "code", None).await;
    let page_only = app.track(gated, 1, 60_000).await;

    let r = send(
        &app,
        "POST",
        &format!("/v1/listener/tracks/{hidden}/save"),
        &fan.token,
    )
    .await;
    assert_error(&r, 404, "not_found");
    let r = send(
        &app,
        "POST",
        &format!("/v1/listener/tracks/{}/save", Uuid::new_v4()),
        &fan.token,
    )
    .await;
    assert_error(&r, 404, "not_found");
    // A gated release's album page is visible, so its tracks can be saved.
    let r = send(
        &app,
        "POST",
        &format!("/v1/listener/tracks/{page_only}/save"),
        &fan.token,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The owner can save their own draft's track.
    let r = send(
        &app,
        "POST",
        &format!("/v1/listener/tracks/{hidden}/save"),
        &owner.token,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn the_library_pages_newest_first_by_cursor() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let mut saved = Vec::new();
    for position in 1..=5 {
        let track = app.track(release, position, 60_000).await;
        let r = send(
            &app,
            "POST",
            &format!("/v1/listener/tracks/{track}/save"),
            &fan.token,
        )
        .await;
        assert_eq!(r.status, 200);
        saved.push(track.to_string());
    }
    saved.reverse();

    let mut seen = Vec::new();
    let mut path = "/v1/listener/library/tracks?limit=2".to_owned();
    for _ in 0..5 {
        let r = send(&app, "GET", &path, &fan.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for item in r.body["items"].as_array().unwrap() {
            seen.push(item["track"]["id"].as_str().unwrap().to_owned());
            assert_eq!(item["release"]["id"], release.to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/listener/library/tracks?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, saved);

    let r = send(
        &app,
        "GET",
        "/v1/listener/library/tracks?cursor=garbage",
        &fan.token,
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let r = send(
        &app,
        "GET",
        "/v1/listener/library/tracks?limit=0",
        &fan.token,
    )
    .await;
    assert_error(&r, 400, "invalid_request");
}

#[tokio::test]
async fn without_its_token_an_unlisted_releases_tracks_cannot_be_saved_counted_or_listed() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (unlisted, _) = app.release(&owner, "published", "unlisted", None).await;
    let track = app.playable_track(unlisted, 1, 60_000, -14.0, -3.0).await;

    // Holding a track id is not holding the release's link: no token came, so 404 as on the
    // album page and the stream without it.
    let r = send(
        &app,
        "POST",
        &format!("/v1/listener/tracks/{track}/save"),
        &fan.token,
    )
    .await;
    assert_error(&r, 404, "not_found");
    let play = serde_json::json!({"plays": [{"id": Uuid::new_v4(), "track_id": track,
        "started_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339).unwrap(),
        "ms_played": 40_000, "completed": false, "source": "album"}]});
    let r = Call::post("/v1/listener/telemetry/plays")
        .json(&play)
        .bearer(&fan.token)
        .send(&app.router)
        .await;
    assert_eq!(r.body["accepted"], 0, "{}", r.body);
    assert_eq!(r.body["details"]["rejected"][0]["problem"], "unknown_track");
    // A save made earlier (when the release was public) no longer lists the track.
    app.execute(
        "INSERT INTO saves (user_id, track_id) VALUES ($1, $2)",
        &[&fan.user_id, &track],
    )
    .await;
    let r = send(&app, "GET", "/v1/listener/library/tracks", &fan.token).await;
    assert_eq!(r.body["items"], serde_json::json!([]), "{}", r.body);
    // Its artist still reaches it.
    let r = send(
        &app,
        "POST",
        &format!("/v1/listener/tracks/{track}/save"),
        &owner.token,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn library_items_carry_their_release_cover() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (release, _) = app.release(&artist, "published", "public", None).await;
    app.cover(release).await;
    let track = app.track(release, 1, 180_000).await;
    let path = format!("/v1/listener/tracks/{track}/save");
    assert_eq!(send(&app, "POST", &path, &ada.token).await.status, 200);
    let library = app
        .get("/v1/listener/library/tracks", Some(&ada.token))
        .await;
    let cover = &library.body["items"][0]["release"]["cover"];
    for width in ["300", "600", "1200"] {
        assert!(
            cover[width]["jpeg"]
                .as_str()
                .is_some_and(|u| u.starts_with("http")),
            "{cover}"
        );
    }
}
