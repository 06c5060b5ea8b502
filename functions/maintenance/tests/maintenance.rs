//! The scheduled task with the schedule's own input (events/maintenance-partitions.json).

use hound_testing::{TestAws, TestDb};

/// The maintenance tasks over this test's database (as their own role) and its own buckets.
async fn maintenance_for(db: &TestDb) -> maintenance::Maintenance {
    let aws = TestAws::new().await;
    maintenance::Maintenance::new(
        db.pool_as(hound_domain::db::roles::MAINTENANCE),
        aws.storage,
        aws.mailer,
    )
}

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
    let first = maintenance_for(&db).await.handle(sample()).await.unwrap();
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
    let second = maintenance_for(&db).await.handle(sample()).await.unwrap();
    assert_eq!(second, maintenance::Report::default());
}

#[tokio::test]
async fn a_keep_window_shorter_than_telemetry_accepts_is_refused() {
    let db = TestDb::new().await;
    let task: maintenance::Task =
        serde_json::from_str(r#"{"task": "partitions", "keep_days": 7}"#).unwrap();
    let err = maintenance_for(&db).await.handle(task).await.unwrap_err();
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
    let pool = maintenance_for(&db).await;
    let task = |limit: i64| -> maintenance::Task {
        serde_json::from_value(serde_json::json!({"task": "janitors", "limit": limit})).unwrap()
    };
    let first = pool.handle(task(3)).await.unwrap();
    assert_eq!(first.login_failures_removed, 3, "a run is bounded");
    let second = pool.handle(task(3)).await.unwrap();
    assert_eq!(second.login_failures_removed, 2);
    let third = pool.handle(task(3)).await.unwrap();
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
    assert_eq!(pool.handle(sample).await.unwrap().login_failures_removed, 0);
}

#[tokio::test]
async fn the_janitors_remove_gate_failures_out_of_the_hour_only_and_in_bounded_runs() {
    let db = TestDb::new().await;
    let (user, _) = hound_testing::sign_up(
        &db,
        hound_domain::auth::AccountKind::Listener,
        "guesser@example.com",
        "Guesser",
    )
    .await;
    let admin = db.pool.get().await.unwrap();
    admin
        .execute(
            "INSERT INTO gate_failures (user_id, gate, failed_at)
             SELECT $1, 'redeem', now() - interval '61 minutes' FROM generate_series(1, 4);
            ",
            &[&user.id],
        )
        .await
        .unwrap();
    admin
        .execute(
            "INSERT INTO gate_failures (user_id, gate) VALUES ($1, 'checkin')",
            &[&user.id],
        )
        .await
        .unwrap();
    let pool = maintenance_for(&db).await;
    let task = |limit: i64| -> maintenance::Task {
        serde_json::from_value(serde_json::json!({"task": "janitors", "limit": limit})).unwrap()
    };
    let removed: Vec<u64> = [
        pool.handle(task(3)).await.unwrap(),
        pool.handle(task(3)).await.unwrap(),
        pool.handle(task(3)).await.unwrap(),
    ]
    .iter()
    .map(|r| r.gate_failures_removed)
    .collect();
    assert_eq!(
        removed,
        vec![3, 1, 0],
        "bounded, then done, then idempotent"
    );
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM gate_failures WHERE gate = 'checkin'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "a failure inside the hour stays");
}

/// Plays written as the telemetry insert would, received `received` (SQL) ago or at a time.
struct Catalogue {
    db: TestDb,
    a: Uuid,
    b: Uuid,
    same_artist_as_a: Uuid,
}

use uuid::Uuid;

impl Catalogue {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let x = hound_testing::sign_up(
            &db,
            hound_domain::auth::AccountKind::Artist,
            "x@example.com",
            "X",
        )
        .await
        .0;
        let y = hound_testing::sign_up(
            &db,
            hound_domain::auth::AccountKind::Artist,
            "y@example.com",
            "Y",
        )
        .await
        .0;
        let client = db.pool.get().await.unwrap();
        let mut tracks = Vec::new();
        for (artist, n) in [(x.id, 2), (y.id, 1)] {
            let release = Uuid::new_v4();
            client
                .execute(
                    "INSERT INTO releases (id, artist_id, title, kind, share_token, status, published_at)
                     SELECT $1, ap.id, 'R', 'album', md5(random()::text), 'published', now()
                       FROM artist_profiles ap WHERE ap.user_id = $2",
                    &[&release, artist.as_uuid()],
                )
                .await
                .unwrap();
            for position in 1..=n {
                let track = Uuid::new_v4();
                client
                    .execute(
                        "INSERT INTO tracks (id, release_id, position, title, duration_ms)
                         VALUES ($1, $2, $3, 'T', 180000)",
                        &[&track, &release, &position],
                    )
                    .await
                    .unwrap();
                tracks.push(track);
            }
        }
        Self {
            db,
            a: tracks[0],
            same_artist_as_a: tracks[1],
            b: tracks[2],
        }
    }

    async fn listener(&self, email: &str) -> Uuid {
        *hound_testing::sign_up(
            &self.db,
            hound_domain::auth::AccountKind::Listener,
            email,
            "L",
        )
        .await
        .0
        .id
        .as_uuid()
    }

    /// A play of `track` starting `minutes` after a fixed hour, lasting `ms`, received ten
    /// minutes ago ("old") or five and a half ("new": after a run whose horizon was six minutes
    /// ago, and settled before the next run's).
    async fn play(&self, user: Uuid, track: Uuid, minutes: i64, ms: i32, received: &str) {
        let client = self.db.pool.get().await.unwrap();
        let received_at = if received == "old" {
            "now() - interval '10 minutes'"
        } else {
            "now() - interval '330 seconds'"
        };
        client
            .execute(
                &format!(
                    "INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed,
                                        source, received_at)
                     VALUES (gen_random_uuid(),
                             date_trunc('hour', now()) - interval '3 hours'
                                 + make_interval(mins => $3::int),
                             $1, $2, $4, false, 'album', {received_at})"
                ),
                &[&user, &track, &(minutes as i32), &ms],
            )
            .await
            .unwrap();
    }

    async fn run(&self) -> hound_domain::listener::CoListenRun {
        let json = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/maintenance-co-listening.json"
        ))
        .unwrap();
        let task: maintenance::Task = serde_json::from_str(&json).unwrap();
        maintenance_for(&self.db)
            .await
            .handle(task)
            .await
            .unwrap()
            .co_listening
            .unwrap()
    }

    async fn listeners(&self, a: Uuid, b: Uuid) -> i32 {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_opt(
                "SELECT listeners FROM co_listen_pairs WHERE track_a = $1 AND track_b = $2",
                &[&a, &b],
            )
            .await
            .unwrap()
            .map_or(0, |row| row.get(0))
    }
}

#[tokio::test]
async fn co_listening_counts_each_listener_once_per_pair_within_a_session() {
    let c = Catalogue::new().await;
    let (a, b) = (c.a, c.b);
    let one = c.listener("one@example.com").await;
    let two = c.listener("two@example.com").await;
    let apart = c.listener("apart@example.com").await;
    let skipper = c.listener("skipper@example.com").await;
    let loyal = c.listener("loyal@example.com").await;
    // One: a then b, twice, and a then another track of a's artist.
    c.play(one, a, 0, 180_000, "old").await;
    c.play(one, b, 4, 180_000, "old").await;
    c.play(one, a, 10, 180_000, "old").await;
    c.play(one, b, 14, 180_000, "old").await;
    c.play(one, c.same_artist_as_a, 18, 180_000, "old").await;
    // Two: a, a skip of something else, then b: skips do not count and do not break the pair.
    c.play(two, a, 0, 180_000, "old").await;
    c.play(two, c.same_artist_as_a, 3, 5_000, "old").await;
    c.play(two, b, 4, 180_000, "old").await;
    // Apart: b starts 40 minutes after a ended: a new session.
    c.play(apart, a, 0, 180_000, "old").await;
    c.play(apart, b, 43, 180_000, "old").await;
    // Loyal: a then another track by a's artist: not a pair across artists.
    c.play(loyal, a, 0, 180_000, "old").await;
    c.play(loyal, c.same_artist_as_a, 4, 180_000, "old").await;
    // Skipper: a was skipped, so nothing precedes b.
    c.play(skipper, a, 0, 10_000, "old").await;
    c.play(skipper, b, 1, 180_000, "old").await;

    let first = c.run().await;
    assert_eq!(
        c.listeners(a, b).await,
        2,
        "one and two, once each: {first:?}"
    );
    assert_eq!(c.listeners(b, a).await, 1, "one played b then a");
    assert_eq!(c.listeners(b, c.same_artist_as_a).await, 1);
    assert_eq!(c.listeners(a, c.same_artist_as_a).await, 0, "same artist");
    assert_eq!(first.plays, 12, "counted plays only: {first:?}");

    // Incremental: nothing new, nothing counted again; a new play joins its old session.
    let again = c.run().await;
    assert_eq!(
        again,
        hound_domain::listener::CoListenRun { plays: 0, pairs: 0 }
    );
    assert_eq!(c.listeners(a, b).await, 2);
    // As if that run had happened a minute earlier: the plays below arrive after it.
    let admin = c.db.pool.get().await.unwrap();
    admin
        .execute(
            "UPDATE co_listen_progress SET received_until = now() - interval '6 minutes'",
            &[],
        )
        .await
        .unwrap();
    c.play(apart, a, 60, 180_000, "new").await;
    c.play(apart, b, 64, 180_000, "new").await;
    let late = c.run().await;
    assert_eq!(late.plays, 2);
    assert_eq!(c.listeners(a, b).await, 3);
}

#[tokio::test]
async fn the_janitors_purge_expired_drafts_only() {
    let db = TestDb::new().await;
    let admin = db.pool.get().await.unwrap();
    for token in ["kept-token", "expired-token"] {
        admin
            .query_one(
                "SELECT * FROM save_draft(sha256(convert_to($1, 'UTF8')), 'playlist',
                                          '{\"name\": \"D\"}')",
                &[&token],
            )
            .await
            .unwrap();
    }
    admin
        .execute(
            "UPDATE drafts SET expires_at = now() - interval '1 second'
              WHERE token_hash = sha256(convert_to('expired-token', 'UTF8'))",
            &[],
        )
        .await
        .unwrap();
    let task: maintenance::Task = serde_json::from_str(r#"{"task": "janitors"}"#).unwrap();
    let report = maintenance_for(&db).await.handle(task).await.unwrap();
    assert_eq!(report.drafts_removed, 1);
    let left: i64 = admin
        .query_one("SELECT count(*) FROM drafts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1);
}

#[tokio::test]
async fn the_janitors_remove_sessions_idle_for_over_an_hour_only_and_in_bounded_runs() {
    let db = TestDb::new().await;
    let admin = db.pool.get().await.unwrap();
    let mut users = Vec::new();
    for n in 0..4 {
        let (user, _) = hound_testing::sign_up(
            &db,
            hound_domain::auth::AccountKind::Listener,
            &format!("beat{n}@example.com"),
            "Beat",
        )
        .await;
        users.push(*user.id.as_uuid());
    }
    for (user, minutes) in users.iter().zip([5, 61, 90, 600]) {
        admin
            .execute(
                "INSERT INTO listening_sessions (user_id, last_beat_at)
                 VALUES ($1, now() - make_interval(mins => $2))",
                &[user, &minutes],
            )
            .await
            .unwrap();
    }
    let pool = maintenance_for(&db).await;
    let task = |limit: i64| -> maintenance::Task {
        serde_json::from_value(serde_json::json!({"task": "janitors", "limit": limit})).unwrap()
    };
    let runs = [
        pool.handle(task(2))
            .await
            .unwrap()
            .listening_sessions_removed,
        pool.handle(task(2))
            .await
            .unwrap()
            .listening_sessions_removed,
        pool.handle(task(2))
            .await
            .unwrap()
            .listening_sessions_removed,
    ];
    assert_eq!(runs, [2, 1, 0], "bounded, then done, then idempotent");
    let left: Vec<uuid::Uuid> = admin
        .query("SELECT user_id FROM listening_sessions", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, vec![users[0]], "the active listener stays");
}

#[tokio::test]
async fn the_janitors_give_up_uploads_never_completed_within_a_day_and_delete_their_objects() {
    let db = TestDb::new().await;
    let aws = TestAws::new().await;
    let admin = db.pool.get().await.unwrap();
    let (artist, _) = hound_testing::sign_up(
        &db,
        hound_domain::auth::AccountKind::Artist,
        "uploader@example.com",
        "Uploader",
    )
    .await;
    let release = uuid::Uuid::new_v4();
    admin
        .execute(
            "INSERT INTO releases (id, artist_id, title, kind, share_token)
             SELECT $1, id, 'Unfinished', 'album', md5(random()::text)
               FROM artist_profiles WHERE user_id = $2",
            &[&release, &artist.id],
        )
        .await
        .unwrap();
    // Three stale intents (two of them uploaded to, never completed), one fresh, one completed.
    let bucket = aws.storage.covers_bucket.clone();
    let mut stale = Vec::new();
    for (n, (state, hours, uploaded)) in [
        ("pending_upload", 30, true),
        ("pending_upload", 25, true),
        ("pending_upload", 48, false),
        ("pending_upload", 1, true),
        ("uploaded", 72, true),
    ]
    .into_iter()
    .enumerate()
    {
        let id = uuid::Uuid::new_v4();
        let key = format!("covers/{id}.jpg");
        admin
            .execute(
                "INSERT INTO assets (id, artist_id, release_id, kind, state, bucket, key, filename,
                                     content_type, size_bytes, created_at)
                 SELECT $1, r.artist_id, r.id, 'cover', $3::text::asset_state, $4, $5,
                        'c.jpg', 'image/jpeg', 3, now() - make_interval(hours => $6)
                   FROM releases r WHERE r.id = $2",
                &[&id, &release, &state, &bucket, &key, &hours],
            )
            .await
            .unwrap();
        if uploaded {
            aws.storage
                .upload_bytes(&bucket, &key, b"jpg".to_vec(), "image/jpeg")
                .await
                .unwrap();
        }
        if n < 3 {
            stale.push((id, key));
        }
    }
    let pool = maintenance::Maintenance::new(
        db.pool_as(hound_domain::db::roles::MAINTENANCE),
        aws.storage.clone(),
        aws.mailer.clone(),
    );
    let task = |limit: i64| -> maintenance::Task {
        serde_json::from_value(serde_json::json!({"task": "janitors", "limit": limit})).unwrap()
    };
    let runs = [
        pool.handle(task(2)).await.unwrap().uploads_abandoned,
        pool.handle(task(2)).await.unwrap().uploads_abandoned,
        pool.handle(task(2)).await.unwrap().uploads_abandoned,
    ];
    assert_eq!(runs, [2, 1, 0]);
    for (id, key) in &stale {
        let state: String = admin
            .query_one("SELECT state::text FROM assets WHERE id = $1", &[id])
            .await
            .unwrap()
            .get(0);
        assert_eq!(state, "abandoned");
        assert!(
            aws.storage.head(&bucket, key).await.unwrap().is_none(),
            "{key} deleted"
        );
    }
    let untouched: i64 = admin
        .query_one(
            "SELECT count(*) FROM assets WHERE state IN ('pending_upload', 'uploaded')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        untouched, 2,
        "the fresh intent and the completed upload stay"
    );
    let objects = aws
        .storage
        .client()
        .await
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .key_count()
        .unwrap_or_default();
    assert_eq!(objects, 2, "their objects stay");
}

#[tokio::test]
async fn pending_notifications_are_sent_and_failed_sends_retried_later_then_given_up() {
    let db = TestDb::new().await;
    let admin = db.pool.get().await.unwrap();
    let (user, _) = hound_testing::sign_up(
        &db,
        hound_domain::auth::AccountKind::Listener,
        &format!("mailed-{}@example.com", uuid::Uuid::new_v4().simple()),
        "Mailed",
    )
    .await;
    let to = format!("inbox-{}@example.com", uuid::Uuid::new_v4().simple());
    for (cause, address) in [("good", to.as_str()), ("bad", "not an address")] {
        admin
            .execute(
                "INSERT INTO notifications (id, user_id, to_email, kind, cause, subject, body)
                 VALUES (gen_random_uuid(), $1, $2, 'job_ready', $3, 'Ready: Song', 'It is ready.')",
                &[&user.id, &address, &cause],
            )
            .await
            .unwrap();
    }
    let pool = maintenance_for(&db).await;
    let task = || -> maintenance::Task {
        serde_json::from_value(serde_json::json!({"task": "notifications"})).unwrap()
    };
    let run = pool.handle(task()).await.unwrap().notifications.unwrap();
    assert_eq!((run.sent, run.failed), (1, 1));
    let mail = hound_testing::mail_to(&to).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Ready: Song");
    let state = |cause: &'static str| {
        let admin = &admin;
        async move {
            let row = admin
                .query_one(
                    "SELECT status::text, attempts, next_attempt_at > now() FROM notifications
                      WHERE cause = $1",
                    &[&cause],
                )
                .await
                .unwrap();
            (
                row.get::<_, String>(0),
                row.get::<_, i32>(1),
                row.get::<_, bool>(2),
            )
        }
    };
    assert_eq!(state("good").await, ("sent".into(), 1, false));
    assert_eq!(
        state("bad").await,
        ("pending".into(), 1, true),
        "retried later"
    );

    // Nothing is due now: a second run sends nothing again.
    let run = pool.handle(task()).await.unwrap().notifications.unwrap();
    assert_eq!((run.sent, run.failed), (0, 0));
    assert_eq!(hound_testing::mail_to(&to).await.len(), 1, "sent once");

    // Its last attempt fails too: given up.
    admin
        .execute(
            "UPDATE notifications SET next_attempt_at = now(), attempts = $1 - 1
              WHERE cause = 'bad'",
            &[&hound_domain::notify::MAX_ATTEMPTS],
        )
        .await
        .unwrap();
    let run = pool.handle(task()).await.unwrap().notifications.unwrap();
    assert_eq!((run.sent, run.failed), (0, 1));
    assert_eq!(state("bad").await.0, "failed");
}
