//! The suggestions' copy of the track points (`taste_points`, migrations/V29): kept exact by the
//! tracks triggers, written again in spatial order by the daily `taste_index` task
//! (events/maintenance-taste-index.json) without losing a point written meanwhile.

use std::sync::Arc;
use std::time::Duration;

use hound_domain::db::roles;
use hound_domain::listener::CANDIDATES;
use hound_testing::{TestAws, TestDb};
use uuid::Uuid;

/// 3 artists × 10 releases × 10 tracks, published and public, with random embeddings; a draft
/// and an unlisted release of 10 tracks each; 5 tracks not analysed yet.
const CATALOGUE: &str = "
    SELECT setseed(0.13);
    INSERT INTO users (id, email, password_hash, display_name, roles)
    SELECT gen_random_uuid(), 'artist' || g || '@points.test', 'x', 'Artist ' || g,
           '{listener,artist}'
      FROM generate_series(1, 3) g;
    INSERT INTO artist_profiles (id, user_id, name, slug)
    SELECT gen_random_uuid(), id, display_name, 'points-' || split_part(email, '@', 1)
      FROM users WHERE email LIKE '%@points.test';
    INSERT INTO releases (id, artist_id, title, kind, status, access, share_token, publish_at,
                          published_at)
    SELECT gen_random_uuid(), a.id, 'Release', 'album', 'published', 'public',
           md5(random()::text), now(), now()
      FROM artist_profiles a CROSS JOIN generate_series(1, 10);
    INSERT INTO releases (id, artist_id, title, kind, status, access, share_token)
    SELECT gen_random_uuid(), a.id, v.title, 'album', v.status::release_status,
           v.access::release_access, md5(random()::text)
      FROM (SELECT id FROM artist_profiles LIMIT 1) a,
           (VALUES ('Draft', 'draft', 'public'), ('Unlisted', 'published', 'unlisted'))
               AS v(title, status, access);
    UPDATE releases SET published_at = now() WHERE title = 'Unlisted';
    INSERT INTO tracks (id, release_id, position, title, duration_ms, embedding)
    SELECT gen_random_uuid(), r.id, p, 'Track', 200000,
           ARRAY[random(), random(), random(), random(), random()]::real[]
      FROM releases r CROSS JOIN generate_series(1, 10) p;
    INSERT INTO tracks (id, release_id, position, title, duration_ms)
    SELECT gen_random_uuid(), r.id, 10 + p, 'Not analysed', 200000
      FROM (SELECT id FROM releases WHERE title = 'Release' LIMIT 1) r
     CROSS JOIN generate_series(1, 5) p;";

/// Every analysed track's (id, release, point and what the copy keeps of its release: when it
/// opens, its artist, whether it is public), as the tracks and releases hold them, and as the
/// copy does.
const FROM_TRACKS: &str = "
    SELECT t.id, t.release_id,
           concat_ws(' ', t.taste_point::text, release_open_from(r.status, r.access, r.publish_at),
                     r.artist_id, r.access = 'public')
      FROM tracks t JOIN releases r ON r.id = t.release_id
     WHERE t.taste_point IS NOT NULL ORDER BY t.id";
const FROM_COPY: &str = "
    SELECT track_id, release_id, concat_ws(' ', point::text, open_from, artist_id, public)
      FROM taste_points ORDER BY track_id";

/// The exact nearest tracks of releases anyone may see (as of now: a scheduled release counts
/// once its time has come), by brute force over the tracks.
const BRUTE_FORCE: &str = "
    SELECT t.id FROM tracks t JOIN releases r ON r.id = t.release_id
     WHERE t.taste_point IS NOT NULL AND r.access <> 'unlisted'
       AND release_effective_status(r.status, r.publish_at) = 'published'
     ORDER BY t.taste_point <-> cube($1::float8[]), t.id LIMIT $2";

type Points = Vec<(Uuid, Uuid, String)>;

struct Fixture {
    db: TestDb,
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDb::new().await;
        db.pool
            .get()
            .await
            .unwrap()
            .batch_execute(CATALOGUE)
            .await
            .unwrap();
        Self { db }
    }

    async fn rows(&self, sql: &str) -> Points {
        let client = self.db.pool.get().await.unwrap();
        client
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// The copy holds exactly the tracks' points.
    async fn assert_exact(&self, when: &str) -> usize {
        let tracks = self.rows(FROM_TRACKS).await;
        assert_eq!(self.rows(FROM_COPY).await, tracks, "{when}");
        tracks.len()
    }

    /// What the listener's statements read: `nearest_tracks` as the listener role.
    async fn nearest(&self, q: &[f64]) -> Vec<Uuid> {
        let client = self.db.pool_as(roles::LISTENER).get().await.unwrap();
        client
            .query("SELECT track_id FROM nearest_tracks($1, NULL)", &[&q])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    async fn brute_force(&self, q: &[f64], k: i64) -> Vec<Uuid> {
        let client = self.db.pool.get().await.unwrap();
        client
            .query(BRUTE_FORCE, &[&q, &k])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    async fn rebuild(&self) -> i64 {
        let json = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/maintenance-taste-index.json"
        ))
        .unwrap();
        let task: maintenance::Task = serde_json::from_str(&json).unwrap();
        let aws = TestAws::new().await;
        maintenance::Maintenance::new(self.db.pool_as(roles::MAINTENANCE), aws.storage, aws.mailer)
            .handle(task)
            .await
            .unwrap()
            .taste_points
            .unwrap()
    }

    async fn execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
        let client = self.db.pool.get().await.unwrap();
        client.execute(sql, params).await.unwrap();
    }

    async fn some_track(&self, nth: i64) -> Uuid {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT id FROM tracks WHERE taste_point IS NOT NULL ORDER BY id OFFSET $1 LIMIT 1",
                &[&nth],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// The point of the first track of the release titled `title`, as a unit vector.
    async fn first_point_of(&self, title: &str) -> (Uuid, Vec<f64>) {
        let client = self.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT t.id, point_coords(t.taste_point) FROM tracks t
                   JOIN releases r ON r.id = t.release_id
                  WHERE r.title = $1 AND t.taste_point IS NOT NULL ORDER BY t.id LIMIT 1",
                &[&title],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    async fn point_of(&self, track: Uuid) -> Option<String> {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_opt(
                "SELECT point::text FROM taste_points WHERE track_id = $1",
                &[&track],
            )
            .await
            .unwrap()
            .map(|r| r.get(0))
    }

    /// Wait until a backend running a statement that contains `text` waits on a lock.
    async fn until_waiting(&self, text: &str) {
        let client = self.db.pool.get().await.unwrap();
        for _ in 0..500 {
            let waiting: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                                     WHERE datname = current_database()
                                       AND wait_event_type = 'Lock'
                                       AND query LIKE '%' || $1 || '%'
                                       AND pid <> pg_backend_pid())",
                    &[&text],
                )
                .await
                .unwrap()
                .get(0);
            if waiting {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("nothing running `{text}` came to wait on a lock");
    }
}

const Q: [f64; 5] = [0.6, -0.2, 0.3, -0.5, 0.5];

#[tokio::test]
async fn the_rebuild_keeps_every_point_and_the_nearest_tracks_stay_exact() {
    let f = Fixture::new().await;
    let analysed = f.assert_exact("after the catalogue's inserts").await;
    assert_eq!(
        analysed, 320,
        "300 public tracks, a draft's 10, an unlisted's 10"
    );
    let q: Vec<f64> = {
        let norm = Q.iter().map(|x| x * x).sum::<f64>().sqrt();
        Q.iter().map(|x| x / norm).collect()
    };
    // CANDIDATES nearest, of public published releases only, exactly in order.
    let before = f.nearest(&q).await;
    assert_eq!(
        before.len() as i64,
        CANDIDATES,
        "the SQL holds Rust's CANDIDATES"
    );
    assert_eq!(before, f.brute_force(&q, CANDIDATES).await);

    assert_eq!(f.rebuild().await, 320);
    f.assert_exact("after the rebuild").await;
    assert_eq!(
        f.nearest(&q).await,
        before,
        "the same answer from the new tree"
    );
    // Idempotent: a second run writes the same points.
    assert_eq!(f.rebuild().await, 320);
    f.assert_exact("after a second rebuild").await;

    // The new table is as closed as the one the migration made: row-level security enabled
    // and forced, no grant to any function role.
    let admin = f.db.pool.get().await.unwrap();
    let (enabled, forced): (bool, bool) = {
        let row = admin
            .query_one(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class
                  WHERE oid = 'taste_points'::regclass",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(enabled && forced);
    for role in roles::ALL {
        let client = f.db.pool_as(role).get().await.unwrap();
        let err = client
            .query("SELECT * FROM taste_points", &[])
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{role}"
        );
    }

    // The triggers keep writing into the rebuilt table: a re-analysis, a point withdrawn, a
    // track deleted, a track added.
    let moved = f.some_track(3).await;
    f.execute(
        "UPDATE tracks SET embedding = '{0.9,0.1,0.9,0.1,0.9}' WHERE id = $1",
        &[&moved],
    )
    .await;
    f.assert_exact("after a re-analysis").await;
    let withdrawn = f.some_track(4).await;
    f.execute(
        "UPDATE tracks SET embedding = NULL WHERE id = $1",
        &[&withdrawn],
    )
    .await;
    assert_eq!(f.point_of(withdrawn).await, None);
    f.execute(
        "DELETE FROM tracks WHERE id = $1",
        &[&f.some_track(5).await],
    )
    .await;
    f.execute(
        "INSERT INTO tracks (id, release_id, position, title, duration_ms, embedding)
         SELECT gen_random_uuid(), release_id, 99, 'New', 1000, '{0.5,0.5,0.5,0.5,0.9}'
           FROM tracks WHERE id = $1",
        &[&moved],
    )
    .await;
    assert_eq!(f.assert_exact("after a delete and an insert").await, 319);
    assert_eq!(
        f.nearest(&q).await,
        f.brute_force(&q, CANDIDATES).await,
        "still exact after writes into the rebuilt tree"
    );
}

#[tokio::test]
async fn points_written_while_a_rebuild_runs_are_in_the_table_it_leaves() {
    let f = Arc::new(Fixture::new().await);
    let (first, second) = (f.some_track(1).await, f.some_track(2).await);

    // A writer's transaction is open when the rebuild starts: the rebuild waits for it.
    let mut writer = f.db.pool.get().await.unwrap();
    let tx = writer.transaction().await.unwrap();
    tx.execute(
        "UPDATE tracks SET embedding = '{0.9,0.9,0.1,0.1,0.5}' WHERE id = $1",
        &[&first],
    )
    .await
    .unwrap();
    let rebuild = tokio::spawn({
        let f = f.clone();
        async move { f.rebuild().await }
    });
    f.until_waiting("rebuild_taste_points").await;
    tx.commit().await.unwrap();
    rebuild.await.unwrap();
    f.assert_exact("the writer committed before the rebuild copied")
        .await;

    // A reader keeps the rebuild from swapping tables; a writer arriving meanwhile waits for
    // the rebuild, then writes into the new table.
    let mut reader = f.db.pool.get().await.unwrap();
    let read = reader.transaction().await.unwrap();
    read.query("SELECT count(*) FROM taste_points", &[])
        .await
        .unwrap();
    let rebuild = tokio::spawn({
        let f = f.clone();
        async move { f.rebuild().await }
    });
    f.until_waiting("rebuild_taste_points").await;
    let write = tokio::spawn({
        let f = f.clone();
        async move {
            f.execute(
                "UPDATE tracks SET embedding = '{0.1,0.9,0.9,0.9,0.1}' WHERE id = $1",
                &[&second],
            )
            .await
        }
    });
    f.until_waiting("UPDATE tracks SET embedding").await;
    read.commit().await.unwrap();
    rebuild.await.unwrap();
    write.await.unwrap();
    let client = f.db.pool.get().await.unwrap();
    let expected: String = client
        .query_one(
            "SELECT taste_point::text FROM tracks WHERE id = $1",
            &[&second],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(f.point_of(second).await, Some(expected));
    f.assert_exact("a writer that waited on the rebuild").await;
}

#[tokio::test]
async fn two_rebuilds_at_once_take_turns_and_leave_every_point() {
    let f = Arc::new(Fixture::new().await);
    let (a, b) = tokio::join!(
        tokio::spawn({
            let f = f.clone();
            async move { f.rebuild().await }
        }),
        tokio::spawn({
            let f = f.clone();
            async move { f.rebuild().await }
        }),
    );
    assert_eq!((a.unwrap(), b.unwrap()), (320, 320));
    f.assert_exact("after two rebuilds at once").await;
}

/// A release's points open and close with it: publishing, unlisting, a scheduled release whose
/// time comes (with no write at all), and through a rebuild. Checked against brute force, and by
/// the track nearest to its own point (distance 0) being first or absent.
#[tokio::test]
async fn points_follow_their_release_opening_and_closing() {
    let f = Fixture::new().await;
    let (track, q) = f.first_point_of("Draft").await;
    let check = |label: &'static str, open: bool| check_open(&f, track, &q, label, open);
    check("a draft is suggested to no one", false).await;

    f.execute(
        "UPDATE releases SET status = 'published', published_at = now() WHERE title = 'Draft'",
        &[],
    )
    .await;
    check("published", true).await;

    f.execute(
        "UPDATE releases SET access = 'unlisted' WHERE title = 'Draft'",
        &[],
    )
    .await;
    check("unlisted", false).await;
    f.execute(
        "UPDATE releases SET access = 'paid', price_credits = 100 WHERE title = 'Draft'",
        &[],
    )
    .await;
    check("paid: open to view, the caller's reach decides", true).await;

    // Scheduled two seconds ahead: closed now, open once the time passes, with no write.
    f.execute(
        "UPDATE releases SET access = 'public', price_credits = NULL, status = 'scheduled',
                            published_at = NULL,
                            publish_at = now() + interval '2 seconds'
          WHERE title = 'Draft'",
        &[],
    )
    .await;
    check("scheduled, not yet", false).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    check("scheduled, time passed", true).await;

    // The rebuilt table carries the same openings.
    f.rebuild().await;
    check("after a rebuild", true).await;
    f.execute(
        "UPDATE releases SET status = 'draft', publish_at = NULL WHERE title = 'Draft'",
        &[],
    )
    .await;
    check("back to draft, in the rebuilt table", false).await;
}

/// The nearest tracks to `q` are exact, and the track at `q` is first among them when `open`,
/// absent otherwise.
async fn check_open(f: &Fixture, track: Uuid, q: &[f64], label: &str, open: bool) {
    f.assert_exact(label).await;
    let nearest = f.nearest(q).await;
    assert_eq!(nearest, f.brute_force(q, CANDIDATES).await, "{label}");
    assert_eq!(nearest.first() == Some(&track), open, "{label}");
    assert_eq!(nearest.contains(&track), open, "{label}");
}

/// A track analysed while its release is being published or withdrawn: whichever commits first,
/// the point ends up as open as its release (the tracks trigger reads the release under a share
/// lock: a release change in flight is waited for, and one arriving later waits for the point).
#[tokio::test]
async fn a_point_written_while_its_release_is_published_ends_up_open() {
    let f = Arc::new(Fixture::new().await);
    let (track, _) = f.first_point_of("Draft").await;
    let embedding: Vec<f32> = vec![0.1, 0.9, 0.2, 0.9, 0.3];

    let mut writer = f.db.pool.get().await.unwrap();
    let tx = writer.transaction().await.unwrap();
    tx.execute(
        "UPDATE tracks SET embedding = $2 WHERE id = $1",
        &[&track, &embedding],
    )
    .await
    .unwrap();
    let publish = tokio::spawn({
        let f = f.clone();
        async move {
            f.execute(
                "UPDATE releases SET status = 'published', published_at = now()
                  WHERE title = 'Draft'",
                &[],
            )
            .await
        }
    });
    f.until_waiting("UPDATE releases SET status = 'published'")
        .await;
    tx.commit().await.unwrap();
    publish.await.unwrap();

    let (first, q) = f.first_point_of("Draft").await;
    assert_eq!(first, track);
    check_open(&f, track, &q, "analysed, then published", true).await;

    // The other order: the release goes back to draft in an open transaction, and a track is
    // analysed meanwhile; its point must end up closed.
    let tx = writer.transaction().await.unwrap();
    tx.execute(
        "UPDATE releases SET status = 'draft', published_at = NULL WHERE title = 'Draft'",
        &[],
    )
    .await
    .unwrap();
    let analyse = tokio::spawn({
        let f = f.clone();
        async move {
            f.execute(
                "UPDATE tracks SET embedding = '{0.9,0.1,0.8,0.1,0.7}' WHERE id = $1",
                &[&track],
            )
            .await
        }
    });
    f.until_waiting("UPDATE tracks SET embedding").await;
    tx.commit().await.unwrap();
    analyse.await.unwrap();
    let (_, q) = f.first_point_of("Draft").await;
    check_open(&f, track, &q, "unpublished, then analysed", false).await;
}
