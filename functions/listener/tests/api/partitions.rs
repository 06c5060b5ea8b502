//! Monthly partitions: present after migrating, created ahead, and pruned a whole month at a time.

use time::{Duration, OffsetDateTime};

use crate::*;

async fn partitions(app: &App, table: &str) -> Vec<String> {
    let client = app.db.pool.get().await.unwrap();
    client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = $1::text::regclass ORDER BY 1",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn month_name(table: &str, at: OffsetDateTime) -> String {
    format!("{table}_p{:04}{:02}", at.year(), u8::from(at.month()))
}

#[tokio::test]
async fn this_and_next_month_exist_and_ensure_creates_ahead() {
    let app = App::new().await;
    let client = app.db.pool.get().await.unwrap();
    let now = OffsetDateTime::now_utc();
    hound_domain::partitions::ensure(&client, now, 1)
        .await
        .unwrap();
    let next = now.replace_day(1).unwrap() + Duration::days(32);
    for table in ["plays", "listen_events"] {
        let have = partitions(&app, table).await;
        assert!(have.contains(&month_name(table, now)), "{have:?}");
        assert!(have.contains(&month_name(table, next)), "{have:?}");
    }

    let created = hound_domain::partitions::ensure(&client, now, 6)
        .await
        .unwrap();
    let in_six = now.replace_day(1).unwrap() + Duration::days(31 * 6);
    assert!(
        created.contains(&month_name("plays", in_six)),
        "{created:?}"
    );
    assert!(
        hound_domain::partitions::ensure(&client, now, 6)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn prune_detaches_and_drops_whole_old_months_only() {
    let app = App::new().await;
    let client = app.db.pool.get().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let long_ago = now - Duration::days(400);
    hound_domain::partitions::ensure_table(&client, "plays", long_ago, 1)
        .await
        .unwrap();
    let old = month_name("plays", long_ago);
    client
        .execute(
            "INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed, source)
             VALUES ($1, $2, $3, $4, 1, false, 'album')",
            &[&Uuid::new_v4(), &long_ago, &Uuid::new_v4(), &Uuid::new_v4()],
        )
        .await
        .unwrap();
    let recent = now - Duration::minutes(1);
    client
        .execute(
            "INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed, source)
             VALUES ($1, $2, $3, $4, 1, false, 'album')",
            &[&Uuid::new_v4(), &recent, &Uuid::new_v4(), &Uuid::new_v4()],
        )
        .await
        .unwrap();

    let dropped = hound_domain::partitions::prune(&client, now, 90)
        .await
        .unwrap();

    assert_eq!(dropped, std::slice::from_ref(&old));
    assert!(!partitions(&app, "plays").await.contains(&old));
    let exists: Option<String> = client
        .query_one("SELECT to_regclass($1)::text", &[&old])
        .await
        .unwrap()
        .get(0);
    assert_eq!(exists, None, "the table itself is gone, not only detached");
    assert_eq!(app.count("SELECT count(*) FROM plays").await, 1);
    assert!(
        hound_domain::partitions::prune(&client, now, 90)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_batch_that_meets_a_missing_month_creates_it_and_is_kept() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    // Nobody ran the schedule: this month's partition is gone.
    let now = OffsetDateTime::now_utc();
    let month = month_name("plays", now);
    app.execute(&format!("DROP TABLE {month}"), &[]).await;
    assert!(!partitions(&app, "plays").await.contains(&month));

    let play = serde_json::json!({"plays": [{"id": uuid::Uuid::new_v4(), "track_id": track,
        "started_at": now.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "ms_played": 40_000, "completed": false, "source": "album"}]});
    let r = Call::post("/v1/listener/telemetry/plays")
        .json(&play)
        .bearer(&fan.token)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], 1, "{}", r.body);
    assert!(partitions(&app, "plays").await.contains(&month));
}

#[tokio::test]
async fn on_the_first_of_a_month_after_a_30_day_one_last_month_and_the_months_ahead_exist() {
    let app = App::new().await;
    let client = app.db.pool.get().await.unwrap();
    // 1 December, just after midnight: November had 30 days.
    let now = time::macros::datetime!(2031-12-01 00:05 UTC);
    hound_domain::partitions::ensure(&client, now, 2)
        .await
        .unwrap();
    let have = partitions(&app, "plays").await;
    for month in [
        "plays_p203111",
        "plays_p203112",
        "plays_p203201",
        "plays_p203202",
    ] {
        assert!(have.contains(&month.to_owned()), "{month} in {have:?}");
    }
}
