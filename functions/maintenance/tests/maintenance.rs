//! The scheduled task with the schedule's own input (events/maintenance-partitions.json).

use hound_testing::TestDb;

fn sample() -> maintenance::Task {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/maintenance-partitions.json"
    ))
    .unwrap();
    serde_json::from_str(&json).unwrap()
}

async fn partitions(db: &TestDb) -> Vec<String> {
    let client = db.pool.get().await.unwrap();
    hound_domain::partitions::list(&client)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

#[tokio::test]
async fn the_schedule_creates_months_ahead_and_is_idempotent() {
    let db = TestDb::new().await;
    let before = partitions(&db).await;
    let first = maintenance::handle(&db.pool_as(hound_domain::db::roles::MAINTENANCE), sample())
        .await
        .unwrap();
    assert!(!first.created.is_empty(), "months ahead are created");
    let after = partitions(&db).await;
    assert_eq!(after.len(), before.len() + first.created.len());
    for name in &first.created {
        assert!(after.contains(name));
    }
    // Two months ahead of now exist for both tables.
    let ahead = time::OffsetDateTime::now_utc() + time::Duration::days(62);
    let suffix = format!("_p{:04}{:02}", ahead.year(), u8::from(ahead.month()));
    assert_eq!(
        after.iter().filter(|n| n.ends_with(&suffix)).count(),
        2,
        "{after:?}"
    );
    // Running again creates and drops nothing.
    let second = maintenance::handle(&db.pool_as(hound_domain::db::roles::MAINTENANCE), sample())
        .await
        .unwrap();
    assert_eq!(
        second,
        maintenance::Report {
            created: vec![],
            dropped: vec![],
            login_failures_removed: 0,
        }
    );
}

#[tokio::test]
async fn a_keep_window_shorter_than_telemetry_accepts_is_refused() {
    let db = TestDb::new().await;
    let task: maintenance::Task =
        serde_json::from_str(r#"{"task": "partitions", "keep_days": 7}"#).unwrap();
    let err = maintenance::handle(&db.pool_as(hound_domain::db::roles::MAINTENANCE), task)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("keep_days"), "{err}");
}

#[tokio::test]
async fn the_janitors_remove_expired_login_failures_only_and_in_bounded_runs() {
    let db = TestDb::new().await;
    let admin = db.pool.get().await.unwrap();
    admin
        .batch_execute(
            "INSERT INTO login_failures (email, attempted_at)
             SELECT 'gone' || n || '@example.com', now() - interval '2 hours'
               FROM generate_series(1, 5) n;
             INSERT INTO login_failures (email) VALUES ('fresh@example.com');",
        )
        .await
        .unwrap();
    let pool = db.pool_as(hound_domain::db::roles::MAINTENANCE);
    let task = |limit: i64| -> maintenance::Task {
        serde_json::from_value(serde_json::json!({"task": "janitors", "limit": limit})).unwrap()
    };
    let first = maintenance::handle(&pool, task(3)).await.unwrap();
    assert_eq!(first.login_failures_removed, 3, "a run is bounded");
    let second = maintenance::handle(&pool, task(3)).await.unwrap();
    assert_eq!(second.login_failures_removed, 2);
    let third = maintenance::handle(&pool, task(3)).await.unwrap();
    assert_eq!(third.login_failures_removed, 0, "idempotent once done");
    let left: Vec<String> = admin
        .query("SELECT email FROM login_failures", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, vec!["fresh@example.com".to_owned()]);
    // The schedule's own input runs too.
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/maintenance-janitors.json"
    ))
    .unwrap();
    let sample: maintenance::Task = serde_json::from_str(&json).unwrap();
    assert_eq!(
        maintenance::handle(&pool, sample)
            .await
            .unwrap()
            .login_failures_removed,
        0
    );
}
