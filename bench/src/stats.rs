//! The artist-stats bench: a release of 10 tracks with a year of daily rollups (as the schedule
//! leaves them), read for a one-year range through the studio router as the artist, beside a
//! bare primary-key SELECT in the same run.

use hound_domain::auth::AccountKind;
use hound_testing::{Call, TestAws, TestDb, sign_up, test_gate_keys, test_keys};
use uuid::Uuid;

use crate::{ms, row, stats, time as timed};

const SEED: &str = "
    INSERT INTO releases (id, artist_id, title, kind, status, access, share_token, publish_at,
                          published_at)
    SELECT $1, id, 'Year', 'album', 'published', 'public', md5(random()::text),
           now() - interval '400 days', now() - interval '400 days'
      FROM artist_profiles WHERE user_id = $2";

const TRACKS: &str = "
    INSERT INTO tracks (id, release_id, position, title, duration_ms)
    SELECT gen_random_uuid(), $1, p, 'Track ' || p, 180000 FROM generate_series(1, 10) p";

const ROLLUPS: &str = "
    INSERT INTO track_stat_days (track_id, release_id, day, counted, plays, completed)
    SELECT t.id, t.release_id, current_date - d, 50 + (d * t.position) % 40,
           80 + (d * t.position) % 60, 30 + (d * t.position) % 30
      FROM tracks t CROSS JOIN generate_series(0, 365) d WHERE t.release_id = $1";

const RELEASE_DAYS: &str = "
    INSERT INTO release_stat_days (release_id, day, counted, listeners, plays, completed, saves)
    SELECT $1, day, sum(counted), sum(counted) / 2, sum(plays), sum(completed), 7
      FROM track_stat_days WHERE release_id = $1 GROUP BY day";

pub async fn run() {
    let db = TestDb::new().await;
    let aws = TestAws::new().await;
    let (artist, session) = sign_up(&db, AccountKind::Artist, "stats@bench.test", "Bench").await;
    let release = Uuid::new_v4();
    let admin = db.pool.get().await.unwrap();
    admin.execute(SEED, &[&release, &artist.id]).await.unwrap();
    admin.execute(TRACKS, &[&release]).await.unwrap();
    admin.execute(ROLLUPS, &[&release]).await.unwrap();
    admin.execute(RELEASE_DAYS, &[&release]).await.unwrap();
    admin.batch_execute("ANALYZE").await.unwrap();
    let (code_keys, event_keys) = test_gate_keys();
    let router = studio::router(studio::AppState {
        backend: hound_http::Backend::new(db.pool_as(hound_domain::db::roles::STUDIO), test_keys()),
        storage: aws.storage.clone(),
        queue: aws.queue.clone(),
        code_keys,
        event_keys,
    });
    let today = time::OffsetDateTime::now_utc().date();
    let path = format!(
        "/v1/studio/stats?release_id={release}&from={}&to={today}",
        today - time::Duration::days(365)
    );
    let token = session.access_token;
    for _ in 0..20 {
        Call::get(&path).bearer(&token).send(&router).await;
    }
    let pool = db.pool.clone();
    let bare = stats(
        timed(500, || async {
            let client = pool.get().await.unwrap();
            client
                .query_one("SELECT id FROM releases WHERE id = $1", &[&release])
                .await
                .unwrap();
        })
        .await,
    );
    let year = stats(
        timed(500, || async {
            let r = Call::get(&path).bearer(&token).send(&router).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["days"].as_array().unwrap().len(), 366);
        })
        .await,
    );
    println!("\nartist stats: a one-year range of a 10-track release, through the studio router");
    println!(
        "{:<34} p50 {:>8.3} ms            p99 {:>8.3} ms",
        "baseline: primary-key SELECT",
        ms(bare.p50),
        ms(bare.p99)
    );
    row("GET /v1/studio/stats (366 days)", &year, &bare);
}
