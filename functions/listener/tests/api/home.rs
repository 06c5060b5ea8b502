//! Home: what it lists, and that it costs one statement whatever the number of cards.

use serde_json::json;
use time::Duration;
use time::format_description::well_known::Rfc3339;

use crate::*;

/// `n` plays of a minute each: plays that count toward popularity (at least 30 s).
async fn plays(app: &App, listener: &Account, track: Uuid, n: usize) {
    post_plays(app, listener, track, n, 60_000).await;
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|card| card["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn home_lists_new_and_popular_public_releases_only() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (older, _) = app.release(&owner, "published", "public", None).await;
    app.execute(
        "UPDATE releases SET published_at = now() - interval '1 day' WHERE id = $1",
        &[&older],
    )
    .await;
    let (newer, _) = app.release(&owner, "published", "public", None).await;
    let (_draft, _) = app.release(&owner, "draft", "public", None).await;
    let (unlisted, _) = app.release(&owner, "published", "unlisted", None).await;
    let (_future, _) = app
        .release(
            &owner,
            "scheduled",
            "public",
            Some(time::OffsetDateTime::now_utc() + Duration::days(1)),
        )
        .await;
    let older_track = app.playable_track(older, 1, 60_000, -14.0, -3.0).await;
    let newer_track = app.playable_track(newer, 1, 60_000, -14.0, -3.0).await;
    let unlisted_track = app.playable_track(unlisted, 1, 60_000, -14.0, -3.0).await;
    plays(&app, &fan, older_track, 3).await;
    plays(&app, &fan, newer_track, 1).await;
    // The most played of all, but unlisted: only its share token reaches it, and telemetry
    // carries none, so its plays are counted straight into the rollup here.
    let refused = Call::post("/v1/listener/telemetry/plays")
        .json(
            &json!({"plays": [{"id": Uuid::new_v4(), "track_id": unlisted_track,
            "started_at": time::OffsetDateTime::now_utc().format(&Rfc3339).unwrap(),
            "ms_played": 1000, "completed": false, "source": "home"}]}),
        )
        .bearer(&fan.token)
        .send(&app.router)
        .await;
    assert_eq!(
        refused.body["details"]["rejected"][0]["problem"],
        "unknown_track"
    );
    app.execute(
        "INSERT INTO release_play_days (release_id, day, plays) VALUES ($1, current_date, 9)",
        &[&unlisted],
    )
    .await;
    app.cover(newer).await;
    app.roll_up().await;

    let r = app.get("/v1/listener/home", None).await;

    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body["new_releases"]),
        [newer.to_string(), older.to_string()]
    );
    assert_eq!(
        ids(&r.body["popular"]),
        [older.to_string(), newer.to_string()]
    );
    assert_eq!(r.body["for_you"], json!([]));
    let card = &r.body["new_releases"][0];
    assert_eq!(card["kind"], "album");
    assert_eq!(card["access"], "public");
    assert!(card["artist"]["name"].is_string());
    assert!(card["cover"]["300"]["webp"].is_string());
    assert!(card["published_at"].is_string());
    assert!(r.body["new_releases"][1]["cover"].is_null());
}

#[tokio::test]
async fn home_runs_one_statement_whatever_the_number_of_cards() {
    let app = App::new().await;
    let counter = StatementCounter::start(&app.db.url).await;
    let pool = hound_domain::db::pool(&hound_domain::db::PoolSettings {
        url: counter.url.clone().into(),
        max_size: 1,
        ca_file: None,
        role: Some(hound_domain::db::roles::LISTENER),
    })
    .unwrap();
    let counted = router_with(&app.aws, pool, None);
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let home = || Call::get("/v1/listener/home").send(&counted);

    // Warm the connection (type lookups and statement preparation happen once per connection).
    assert_eq!(home().await.status, 200);
    counter.take();
    let empty = home().await;
    let with_none = counter.take();

    let mut tracks = Vec::new();
    for _ in 0..25 {
        let (release, _) = app.release(&owner, "published", "public", None).await;
        app.cover(release).await;
        tracks.push(app.playable_track(release, 1, 60_000, -14.0, -3.0).await);
    }
    for (i, track) in tracks.iter().enumerate() {
        plays(&app, &fan, *track, 1 + i % 3).await;
    }
    app.roll_up().await;
    counter.take();
    let full = home().await;
    let with_forty = counter.take();

    assert_eq!(empty.body["new_releases"].as_array().unwrap().len(), 0);
    assert_eq!(full.body["new_releases"].as_array().unwrap().len(), 20);
    assert_eq!(full.body["popular"].as_array().unwrap().len(), 20);
    assert_eq!((with_none, with_forty), (1, 1));
}

async fn post_plays(app: &App, listener: &Account, track: Uuid, n: usize, ms_played: i64) {
    let started = (time::OffsetDateTime::now_utc() - Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let plays: Vec<_> = chunk
            .iter()
            .map(|_| {
                json!({"id": Uuid::new_v4(), "track_id": track, "started_at": started,
                       "ms_played": ms_played, "completed": false, "source": "home"})
            })
            .collect();
        let r = Call::post("/v1/listener/telemetry/plays")
            .json(&json!({"plays": plays}))
            .bearer(&listener.token)
            .send(&app.router)
            .await;
        assert_eq!(r.body["accepted"], chunk.len(), "{}", r.body);
    }
}

#[tokio::test]
async fn popularity_counts_real_listens_a_few_times_per_listener_per_day() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let spammer = app.account("listener", "spammer@example.com").await;
    let (fan_a, fan_b) = (
        app.account("listener", "a@example.com").await,
        app.account("listener", "b@example.com").await,
    );
    let (pushed, _) = app.release(&owner, "published", "public", None).await;
    let (loved, _) = app.release(&owner, "published", "public", None).await;
    let (short, _) = app.release(&owner, "published", "public", None).await;
    let pushed_track = app.playable_track(pushed, 1, 180_000, -14.0, -3.0).await;
    let loved_track = app.playable_track(loved, 1, 180_000, -14.0, -3.0).await;
    let short_track = app.playable_track(short, 1, 12_000, -14.0, -3.0).await;

    // 2,000 zero-length plays and 50 full ones, all from one listener, on one day.
    post_plays(&app, &spammer, pushed_track, 2000, 0).await;
    post_plays(&app, &spammer, pushed_track, 50, 180_000).await;
    // Two listeners who really listened, once each.
    post_plays(&app, &fan_a, loved_track, 1, 40_000).await;
    post_plays(&app, &fan_b, loved_track, 1, 30_000).await;
    // A 12-second track counts when played whole, not when skipped.
    post_plays(&app, &fan_a, short_track, 1, 12_000).await;
    post_plays(&app, &fan_b, short_track, 1, 5_000).await;

    // Every play is stored; only what qualifies, capped, reaches the rollup.
    assert_eq!(
        app.count("SELECT count(*) FROM plays").await,
        2000 + 50 + 2 + 2
    );
    let home = app.get("/v1/listener/home", None).await;
    assert!(
        ids(&home.body["popular"]).is_empty(),
        "nothing counts before the schedule's stats run"
    );
    app.roll_up().await;
    let counted = |release: Uuid| {
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT coalesce(sum(plays), 0)::bigint FROM release_play_days
                  WHERE release_id = '{release}'"
            ))
            .await
        }
    };
    assert_eq!(
        counted(pushed).await,
        3,
        "one listener, one track, one day: three at most"
    );
    assert_eq!(counted(loved).await, 2);
    assert_eq!(counted(short).await, 1);
    let r = app.get("/v1/listener/home", None).await;
    assert_eq!(
        ids(&r.body["popular"]),
        [pushed.to_string(), loved.to_string(), short.to_string()]
    );
}

#[tokio::test]
async fn concurrent_batches_and_runs_count_one_listener_at_most_three_times() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 180_000, -14.0, -3.0).await;
    let batches = (0..8).map(|_| post_plays(&app, &fan, track, 2, 60_000));
    futures::future::join_all(batches).await;
    // Two schedule runs at once (a retried invocation beside the next one): one counts.
    futures::future::join(app.roll_up(), app.roll_up()).await;
    assert_eq!(
        app.count(&format!(
            "SELECT plays FROM release_play_days WHERE release_id = '{release}'"
        ))
        .await,
        3
    );
    assert_eq!(
        app.count("SELECT plays::bigint FROM play_counts").await,
        16,
        "every counted play, uncapped, once"
    );
}
