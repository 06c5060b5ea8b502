//! Telemetry batches: idempotency, per-item rejection, limits.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::*;

fn at(offset: Duration) -> String {
    (OffsetDateTime::now_utc() + offset)
        .format(&Rfc3339)
        .unwrap()
}

fn play(id: Uuid, track: Uuid, ms: i64, started: Duration) -> Value {
    json!({"id": id, "track_id": track, "started_at": at(started), "ms_played": ms,
           "completed": false, "source": "album"})
}

async fn post_plays(app: &App, token: &str, plays: Vec<Value>) -> hound_testing::TestResponse {
    Call::post("/v1/listener/telemetry/plays")
        .json(&json!({"plays": plays}))
        .bearer(token)
        .send(&app.router)
        .await
}

#[tokio::test]
async fn a_resent_play_id_is_counted_once_across_two_batches() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 180_000, -14.0, -3.0).await;
    let repeated = play(Uuid::new_v4(), track, 30_000, -Duration::minutes(3));
    let fresh = play(Uuid::new_v4(), track, 30_000, -Duration::minutes(2));

    let first = post_plays(&app, &fan.token, vec![repeated.clone()]).await;
    let second = post_plays(&app, &fan.token, vec![repeated.clone(), fresh, repeated]).await;

    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["accepted"], 1);
    assert_eq!(first.body["duplicates"], 0);
    assert_eq!(second.status, 202, "{}", second.body);
    assert_eq!(second.body["accepted"], 1);
    assert_eq!(second.body["duplicates"], 2);
    assert_eq!(app.count("SELECT count(*) FROM plays").await, 2);
    app.roll_up().await;
    assert_eq!(
        app.count("SELECT sum(plays)::bigint FROM release_play_days")
            .await,
        2,
        "the rollup counts only rows really inserted"
    );
}

#[tokio::test]
async fn a_batch_of_500_mixed_items_keeps_the_good_and_reports_each_bad_one() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    let (draft, _) = app.release(&owner, "draft", "public", None).await;
    let hidden = app.playable_track(draft, 1, 60_000, -14.0, -3.0).await;
    let (gated_release, _) = app.release(&owner, "published", "paid", None).await;
    let gated = app
        .playable_track(gated_release, 1, 60_000, -14.0, -3.0)
        .await;

    let mut plays = Vec::new();
    let mut want_rejected = Vec::new();
    for i in 0..500 {
        let id = Uuid::new_v4();
        let (item, problem) = match i % 10 {
            0 => (
                play(id, Uuid::new_v4(), 1000, -Duration::hours(1)),
                Some("unknown_track"),
            ),
            1 => (
                play(id, hidden, 1000, -Duration::hours(1)),
                Some("unknown_track"),
            ),
            2 => (play(id, gated, 1000, -Duration::hours(1)), Some("gated")),
            3 => (
                play(id, track, 70_001, -Duration::hours(1)),
                Some("ms_played_exceeds_duration"),
            ),
            4 => (
                play(id, track, 1000, Duration::minutes(10)),
                Some("in_future"),
            ),
            5 => (play(id, track, 1000, -Duration::days(31)), Some("too_old")),
            6 => (play(id, track, 70_000, Duration::minutes(4)), None),
            _ => (play(id, track, 1000, -Duration::days(29)), None),
        };
        if let Some(problem) = problem {
            want_rejected.push(json!({"index": i, "id": id, "problem": problem}));
        }
        plays.push(item);
    }

    let r = post_plays(&app, &fan.token, plays).await;

    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], 200);
    assert_eq!(r.body["duplicates"], 0);
    assert_eq!(r.body["details"]["rejected"], Value::Array(want_rejected));
    assert_eq!(app.count("SELECT count(*) FROM plays").await, 200);
}

#[tokio::test]
async fn more_than_500_items_or_no_bearer_are_refused_whole() {
    let app = App::new().await;
    let fan = app.account("listener", "fan@example.com").await;
    let plays: Vec<Value> = (0..501)
        .map(|_| play(Uuid::new_v4(), Uuid::new_v4(), 1, -Duration::minutes(1)))
        .collect();
    let r = post_plays(&app, &fan.token, plays).await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.body["error"]["details"]["fields"]["plays"].is_string());

    let r = Call::post("/v1/listener/telemetry/plays")
        .json(&json!({"plays": []}))
        .send(&app.router)
        .await;
    assert_error(&r, 401, "unauthorized");

    let r = post_plays(&app, &fan.token, vec![json!({"id": "nope"})]).await;
    assert_error(&r, 400, "invalid_request");
}

#[tokio::test]
async fn events_are_stored_once_with_their_props() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    let seek = json!({"id": Uuid::new_v4(), "type": "seek", "track_id": track,
                      "at": at(-Duration::seconds(5)), "props": {"to_ms": 1200}});
    let events = json!({"events": [
        seek,
        {"id": Uuid::new_v4(), "type": "app_open", "at": at(-Duration::seconds(9))},
        {"id": Uuid::new_v4(), "type": "Bad Type", "at": at(Duration::ZERO)},
        {"id": Uuid::new_v4(), "type": "seek", "track_id": Uuid::new_v4(), "at": at(Duration::ZERO)},
    ]});
    let send = || {
        Call::post("/v1/listener/telemetry/events")
            .json(&events)
            .bearer(&fan.token)
            .send(&app.router)
    };

    let first = send().await;
    let again = send().await;

    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["accepted"], 2);
    let problems: Vec<&str> = first.body["details"]["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["problem"].as_str().unwrap())
        .collect();
    assert_eq!(problems, ["invalid_type", "unknown_track"]);
    assert_eq!(again.body["accepted"], 0);
    assert_eq!(again.body["duplicates"], 2);
    assert_eq!(
        app.count("SELECT count(*) FROM listen_events WHERE props->>'to_ms' = '1200'")
            .await,
        1
    );
}

#[tokio::test]
async fn text_postgres_cannot_store_is_a_400_not_a_500() {
    let app = App::new().await;
    let fan = app.account("listener", "nul@example.com").await;
    let events = json!({"events": [
        {"id": Uuid::new_v4(), "type": "pause", "at": at(-Duration::minutes(1)),
         "props": {"note": "a\u{0}b"}},
    ]});
    let r = Call::post("/v1/listener/telemetry/events")
        .json(&events)
        .bearer(&fan.token)
        .send(&app.router)
        .await;
    assert_error(&r, 400, "invalid_request");
    assert_eq!(app.count("SELECT count(*) FROM listen_events").await, 0);
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "unlisted", None).await;
    let r = Call::get(&format!("/v1/listener/albums/{release}?share_token=a%00b"))
        .send(&app.router)
        .await;
    assert_error(&r, 400, "invalid_request");
}

/// A deleted track, release or account takes its play counts with it (the rollups keep no
/// foreign keys since V32; statement triggers do what `ON DELETE CASCADE` did).
#[tokio::test]
async fn deleting_a_track_a_release_or_an_account_removes_its_counts() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let other = app.account("listener", "other@example.com").await;
    let (kept_release, _) = app.release(&owner, "published", "public", None).await;
    let kept = app
        .playable_track(kept_release, 1, 180_000, -14.0, -3.0)
        .await;
    let dropped = app
        .playable_track(kept_release, 2, 180_000, -14.0, -3.0)
        .await;
    let (gone_release, _) = app.release(&owner, "published", "public", None).await;
    let gone = app
        .playable_track(gone_release, 1, 180_000, -14.0, -3.0)
        .await;
    for listener in [&fan, &other] {
        let plays = [kept, dropped, gone]
            .iter()
            .map(|t| play(Uuid::new_v4(), *t, 60_000, -Duration::minutes(5)))
            .collect();
        assert_eq!(post_plays(&app, &listener.token, plays).await.status, 202);
    }
    app.roll_up().await;
    let counts = |sql: &'static str| app.count(sql);
    assert_eq!(counts("SELECT count(*) FROM play_counts").await, 6);
    assert_eq!(
        counts("SELECT sum(plays)::bigint FROM release_play_days").await,
        6
    );

    app.execute("DELETE FROM tracks WHERE id = $1", &[&dropped])
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM play_counts WHERE track_id = '{dropped}'"
        ))
        .await,
        0
    );
    app.execute("DELETE FROM releases WHERE id = $1", &[&gone_release])
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM release_play_days WHERE release_id = '{gone_release}'"
        ))
        .await,
        0
    );
    assert_eq!(
        counts("SELECT count(*) FROM play_counts").await,
        2,
        "the kept track's counts, one a listener"
    );
    app.execute("DELETE FROM users WHERE id = $1", &[&other.user_id])
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM play_counts WHERE user_id = '{}'",
            fan.user_id
        ))
        .await,
        1
    );
    assert_eq!(counts("SELECT count(*) FROM play_counts").await, 1);
}

/// What a release says of its tracks' reach follows every change of the release (V34: each
/// track carries its release's opening; telemetry and the tracks policy read it first): closed,
/// unlisted, scheduled, opening by the clock with no write, gated, and a track added later.
#[tokio::test]
async fn a_tracks_reach_follows_its_release_opening_closing_and_gating() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 180_000, -14.0, -3.0).await;
    let outcome = |track: Uuid| {
        let app = &app;
        let token = fan.token.clone();
        async move {
            let r = post_plays(
                app,
                &token,
                vec![play(Uuid::new_v4(), track, 60_000, -Duration::minutes(1))],
            )
            .await;
            assert_eq!(r.status, 202, "{}", r.body);
            match r.body["details"]["rejected"][0]["problem"].as_str() {
                Some(problem) => problem.to_owned(),
                None => "accepted".to_owned(),
            }
        }
    };
    let stream = |track: Uuid| {
        let app = &app;
        let token = fan.token.clone();
        async move {
            app.get(&format!("/v1/listener/tracks/{track}/stream"), Some(&token))
                .await
                .status
        }
    };
    let set = |sql: &'static str| {
        let app = &app;
        async move { app.execute(sql, &[&release]).await }
    };

    assert_eq!(outcome(track).await, "accepted");
    assert_eq!(stream(track).await, 200);

    set("UPDATE releases SET access = 'unlisted' WHERE id = $1").await;
    assert_eq!(outcome(track).await, "unknown_track");
    assert_eq!(stream(track).await, 404);

    set("UPDATE releases SET access = 'public', status = 'draft' WHERE id = $1").await;
    assert_eq!(outcome(track).await, "unknown_track");
    assert_eq!(stream(track).await, 404);

    // Scheduled two seconds ahead: closed now, open once the time has come, with no write.
    set(
        "UPDATE releases SET status = 'scheduled', publish_at = now() + interval '2 seconds'
          WHERE id = $1",
    )
    .await;
    assert_eq!(outcome(track).await, "unknown_track");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(outcome(track).await, "accepted");
    assert_eq!(stream(track).await, 200);

    // Open but paid: the release's own rules answer (no entitlement: gated).
    set("UPDATE releases SET access = 'paid', price_credits = 100 WHERE id = $1").await;
    assert_eq!(outcome(track).await, "gated");

    // A track added to a closed release is closed; it opens with its release.
    let (later, _) = app.release(&owner, "draft", "public", None).await;
    let added = app.playable_track(later, 1, 180_000, -14.0, -3.0).await;
    assert_eq!(outcome(added).await, "unknown_track");
    app.execute(
        "UPDATE releases SET status = 'published', published_at = now() WHERE id = $1",
        &[&later],
    )
    .await;
    assert_eq!(outcome(added).await, "accepted");
    assert_eq!(stream(added).await, 200);
}

/// The values a track carries of its release are the triggers' alone: the studio writing them
/// for its own unlisted release's track opens nothing.
#[tokio::test]
async fn the_studio_cannot_open_a_track_by_writing_its_opening() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (unlisted, _) = app.release(&owner, "published", "unlisted", None).await;
    let track = app.playable_track(unlisted, 1, 180_000, -14.0, -3.0).await;

    let studio = app.db.pool_as(hound_domain::db::roles::STUDIO);
    let mut client = studio.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let id = owner.user_id.to_string();
    tx.execute(
        "SELECT set_config('hound.user_id', $1, true), set_config('hound.roles', 'artist', true)",
        &[&id],
    )
    .await
    .unwrap();
    let updated = tx
        .execute(
            "UPDATE tracks SET open_from = '-infinity', public = true WHERE id = $1",
            &[&track],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(updated, 1, "the studio may update its own track");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tracks WHERE id = '{track}' AND open_from IS NULL AND NOT public"
        ))
        .await,
        1
    );
    let r = post_plays(
        &app,
        &fan.token,
        vec![play(Uuid::new_v4(), track, 60_000, -Duration::minutes(1))],
    )
    .await;
    assert_eq!(r.body["details"]["rejected"][0]["problem"], "unknown_track");
}
