//! The artists' stats end to end: plays and saves arrive through the listener, the maintenance
//! schedule rolls them up, the studio reads them (as the artist, through its own role).

use hound_testing::{Call, TestResponse, test_gate_keys};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::*;

fn studio(app: &App) -> Router {
    let (code_keys, event_keys) = test_gate_keys();
    studio::router(studio::AppState {
        backend: hound_http::Backend::new(
            app.db.pool_as(hound_domain::db::roles::STUDIO),
            test_keys(),
        ),
        storage: app.aws.storage.clone(),
        queue: app.aws.queue.clone(),
        code_keys,
        event_keys,
    })
}

async fn play(app: &App, who: &Account, track: Uuid, at: OffsetDateTime, ms: i32, done: bool) {
    let started = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = Call::post("/v1/listener/telemetry/plays")
        .json(
            &json!({"plays": [{"id": Uuid::new_v4(), "track_id": track, "started_at": started,
                                 "ms_played": ms, "completed": done, "source": "album"}]}),
        )
        .bearer(&who.token)
        .send(&app.router)
        .await;
    assert_eq!(r.body["accepted"], 1, "{}", r.body);
}

async fn stats(studio: &Router, artist: &Account, query: &str) -> TestResponse {
    Call::get(&format!("/v1/studio/stats?{query}"))
        .bearer(&artist.token)
        .send(studio)
        .await
}

#[tokio::test]
async fn an_artist_sees_counted_plays_listeners_completion_and_saves_per_day() {
    let app = App::new().await;
    let studio = studio(&app);
    let artist = app.account("artist", "band@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let (a, b) = (
        app.account("listener", "a@example.com").await,
        app.account("listener", "b@example.com").await,
    );
    let (release, _) = app.release(&artist, "published", "public", None).await;
    let hit = app.playable_track(release, 1, 180_000, -14.0, -1.0).await;
    let deep_cut = app.playable_track(release, 2, 200_000, -14.0, -1.0).await;
    let now = OffsetDateTime::now_utc() - Duration::minutes(1);
    let yesterday = now - Duration::days(1);

    // Today: A plays the hit to the end four times (three count), skips the deep cut after
    // 10 s (does not count); B plays a minute of the hit. Yesterday: B finished the deep cut.
    for _ in 0..4 {
        play(&app, &a, hit, now, 180_000, true).await;
    }
    play(&app, &a, deep_cut, now, 10_000, false).await;
    play(&app, &b, hit, now, 60_000, false).await;
    play(&app, &b, deep_cut, yesterday, 200_000, true).await;
    let saved = Call::post(&format!("/v1/listener/tracks/{hit}/save"))
        .bearer(&a.token)
        .send(&app.router)
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    let day = |t: OffsetDateTime| t.date().to_string();
    let range = format!(
        "release_id={release}&from={}&to={}",
        day(yesterday),
        day(now)
    );
    let before = stats(&studio, &artist, &range).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(
        before.body["days"][1]["plays"], 0,
        "nothing before the roll-up"
    );
    assert!(before.body["as_of"].is_null());

    app.roll_up().await;
    let r = stats(&studio, &artist, &range).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let days = r.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["day"], day(yesterday));
    assert_eq!(
        (
            &days[0]["plays"],
            &days[0]["unique_listeners"],
            &days[0]["completion_rate"]
        ),
        (&json!(1), &json!(1), &json!(1.0))
    );
    assert_eq!(days[1]["day"], day(now));
    assert_eq!(
        days[1]["plays"], 4,
        "three of A's four, and B's: {}",
        r.body
    );
    assert_eq!(days[1]["unique_listeners"], 2);
    assert_eq!(days[1]["completion_rate"], 0.667, "4 of 6 plays finished");
    assert_eq!(days[1]["saves"], 1);
    let top = r.body["top_tracks"].as_array().unwrap();
    assert_eq!(top[0]["track_id"], hit.to_string());
    assert_eq!(top[0]["plays"], 4);
    assert_eq!(top[1]["track_id"], deep_cut.to_string());
    assert_eq!(
        top[1]["plays"], 1,
        "yesterday's; today's 10 s skip does not count"
    );
    assert!(r.body["as_of"].is_string());

    // Another run adds only what arrived since; so does one after a run with a longer lag
    // (which must not move the watermark back for the next to count the same plays again).
    app.roll_up().await;
    app.roll_up_lagging(3600).await;
    app.roll_up().await;
    assert_eq!(
        stats(&studio, &artist, &range).await.body["days"][1]["plays"],
        4
    );
    play(&app, &b, hit, now, 180_000, true).await;
    app.roll_up().await;
    let r = stats(&studio, &artist, &range).await;
    assert_eq!(r.body["days"][1]["plays"], 5);
    assert_eq!(r.body["days"][1]["unique_listeners"], 2);

    // Another artist's release is not there; bad ranges are 400s.
    assert_error(&stats(&studio, &other, &range).await, 404, "not_found");
    for bad in [
        String::new(),
        "release_id=nope".to_owned(),
        format!("release_id={release}&from=2026-13-01"),
        format!(
            "release_id={release}&from={}&to={}",
            day(now),
            day(yesterday)
        ),
        format!("release_id={release}&from=2024-01-01&to=2025-12-31"),
    ] {
        let r = stats(&studio, &artist, &bad).await;
        assert_error(&r, 400, "invalid_request");
    }
    // Without a range: the last 30 days, today last.
    let r = stats(&studio, &artist, &format!("release_id={release}")).await;
    assert_eq!(r.body["days"].as_array().unwrap().len(), 30);
    assert_eq!(r.body["to"], day(OffsetDateTime::now_utc()));
}
