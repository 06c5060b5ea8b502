//! The listener function, driven in-process through API Gateway v2 events, against a private
//! Postgres database and private moto buckets per test. Catalogue rows are written with SQL as
//! fixtures (the studio and the transcoder that normally write them are tested elsewhere).

mod credits;
mod home;
mod library;
mod mixes;
mod partitions;
mod playlists;
mod stats;
mod stream;
mod taste;
mod telemetry;
mod visibility;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use hound_domain::auth::AccountKind;
use hound_domain::ids::UserId;
use hound_domain::listener::Media;
use hound_testing::{Call, TestAws, TestDb, TestResponse, sign_up, test_keys};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use uuid::Uuid;

pub struct App {
    pub db: TestDb,
    pub aws: TestAws,
    pub router: Router,
}

/// An account: its access token and user id.
pub struct Account {
    pub token: String,
    pub user_id: UserId,
}

impl App {
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let aws = TestAws::new().await;
        let router = router_with(&aws, db.pool_as(hound_domain::db::roles::LISTENER), None);
        Self { db, aws, router }
    }

    pub async fn account(&self, kind: &str, email: &str) -> Account {
        let kind = if kind == "artist" {
            AccountKind::Artist
        } else {
            AccountKind::Listener
        };
        let (user, session) = sign_up(&self.db, kind, email, "Test Person").await;
        Account {
            token: session.access_token,
            user_id: user.id,
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.db.pool.get().await.unwrap();
        client.query_one(sql, &[]).await.unwrap().get(0)
    }

    pub async fn execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
        let client = self.db.pool.get().await.unwrap();
        client
            .execute(sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// A release of `owner`'s, written directly. `status` and `access` as in Postgres; a
    /// `scheduled` release gets `publish_at`. Returns (release id, share token).
    pub async fn release(
        &self,
        owner: &Account,
        status: &str,
        access: &str,
        publish_at: Option<OffsetDateTime>,
    ) -> (Uuid, String) {
        let id = Uuid::new_v4();
        let token = format!("share-{}", Uuid::new_v4().simple());
        let published_at = (status == "published").then(OffsetDateTime::now_utc);
        self.execute(
            "INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                                   price_credits, publish_at, published_at)
             SELECT $1::uuid, ap.id, 'Album ' || left($1::uuid::text, 8), 'album', $3::text::release_status,
                    $4::text::release_access, $5, CASE WHEN $4::text = 'paid' THEN 100 END, $6, $7
               FROM artist_profiles ap WHERE ap.user_id = $2",
            &[
                &id,
                &owner.user_id,
                &status,
                &access,
                &token,
                &publish_at.or(published_at),
                &published_at,
            ],
        )
        .await;
        (id, token)
    }

    /// A track at `position` with a complete master transcode: three renditions in the
    /// streams bucket (keys `{track}/aac_256.m4a` …; objects are not uploaded here), analysed.
    pub async fn playable_track(
        &self,
        release: Uuid,
        position: i32,
        duration_ms: i32,
        lufs: f32,
        peak: f32,
    ) -> Uuid {
        let track = self.track(release, position, duration_ms).await;
        let asset = Uuid::new_v4();
        let job = Uuid::new_v4();
        self.execute(
            "INSERT INTO assets (id, artist_id, release_id, track_id, kind, state, bucket, key,
                                 filename, content_type, size_bytes)
             SELECT $1::uuid, r.artist_id, r.id, $3, 'master', 'ready', 'masters', $1::uuid::text || '/m.wav',
                    'm.wav', 'audio/wav', 1000 FROM releases r WHERE r.id = $2",
            &[&asset, &release, &track],
        )
        .await;
        self.execute(
            "INSERT INTO transcode_jobs (id, asset_id, status, progress) VALUES ($1, $2, 'ready', 100)",
            &[&job, &asset],
        )
        .await;
        for (name, codec, kbps, mime, ext) in [
            ("aac_256", "aac", 256, "audio/mp4", "m4a"),
            ("aac_128", "aac", 128, "audio/mp4", "m4a"),
            ("opus_96", "opus", 96, "audio/ogg", "ogg"),
        ] {
            let key = format!("{track}/{name}.{ext}");
            self.execute(
                "INSERT INTO variants (id, job_id, asset_id, name, codec, bitrate_kbps, mime,
                                       status, bucket, key, size_bytes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'complete', $8, $9, 100)",
                &[
                    &Uuid::new_v4(),
                    &job,
                    &asset,
                    &name,
                    &codec,
                    &kbps,
                    &mime,
                    &self.aws.storage.streams_bucket,
                    &key,
                ],
            )
            .await;
        }
        // What the transcoder stores: gain to -14 LUFS, capped at -1 dBTP.
        let gain = (-14.0 - lufs).min(-1.0 - peak);
        self.execute(
            "UPDATE tracks SET master_asset_id = $2, integrated_lufs = $3, true_peak_dbtp = $4,
                    gain_db = $5, analysed_at = now() WHERE id = $1",
            &[&track, &asset, &lufs, &peak, &gain],
        )
        .await;
        track
    }

    /// Complete preview variants for a playable track's master, as the transcoder stores them
    /// (keys `{track}/preview_aac_128.m4a`, `{track}/preview_opus_96.ogg`; objects not
    /// uploaded).
    pub async fn previews(&self, track: Uuid) {
        self.execute(
            "INSERT INTO variants (id, job_id, asset_id, name, codec, bitrate_kbps, mime, status,
                                   bucket, key, size_bytes)
             SELECT gen_random_uuid(), j.id, j.asset_id, p.name, p.codec, p.kbps, p.mime,
                    'complete', $2, $1::uuid::text || '/' || p.name || '.' || p.ext, 100
               FROM tracks t JOIN transcode_jobs j ON j.asset_id = t.master_asset_id,
                    (VALUES ('preview_aac_128', 'aac', 128, 'audio/mp4', 'm4a'),
                            ('preview_opus_96', 'opus', 96, 'audio/ogg', 'ogg'))
                        AS p(name, codec, kbps, mime, ext)
              WHERE t.id = $1",
            &[&track, &self.aws.storage.streams_bucket],
        )
        .await;
    }

    /// A bare track with no master.
    pub async fn track(&self, release: Uuid, position: i32, duration_ms: i32) -> Uuid {
        let track = Uuid::new_v4();
        self.execute(
            "INSERT INTO tracks (id, release_id, position, title, duration_ms)
             VALUES ($1, $2, $3::int, 'Track ' || $3::int::text, $4)",
            &[&track, &release, &position, &duration_ms],
        )
        .await;
        track
    }

    /// Complete cover variants (all six) for a release, objects not uploaded.
    pub async fn cover(&self, release: Uuid) {
        let asset = Uuid::new_v4();
        let job = Uuid::new_v4();
        self.execute(
            "INSERT INTO assets (id, artist_id, release_id, kind, state, bucket, key, filename,
                                 content_type, size_bytes)
             SELECT $1::uuid, r.artist_id, r.id, 'cover', 'ready', 'covers', $1::uuid::text || '/c.png',
                    'c.png', 'image/png', 1000 FROM releases r WHERE r.id = $2",
            &[&asset, &release],
        )
        .await;
        self.execute(
            "INSERT INTO transcode_jobs (id, asset_id, status, progress) VALUES ($1, $2, 'ready', 100)",
            &[&job, &asset],
        )
        .await;
        self.execute(
            "INSERT INTO variants (id, job_id, asset_id, name, width_px, mime, status, bucket, key)
             SELECT gen_random_uuid(), $1, $2, 'cover_' || w || '_' || f, w,
                    'image/' || f, 'complete', $3, $2::uuid::text || '/' || w || '.' || f
               FROM unnest(ARRAY[1200, 600, 300]) AS w, unnest(ARRAY['jpeg', 'webp']) AS f",
            &[&job, &asset, &self.aws.storage.covers_bucket],
        )
        .await;
        self.execute(
            "UPDATE releases SET cover_asset_id = $2 WHERE id = $1",
            &[&release, &asset],
        )
        .await;
    }

    pub async fn entitle(&self, listener: &Account, release: Uuid) {
        self.execute(
            "INSERT INTO entitlements (user_id, release_id, source) VALUES ($1, $2, 'grant')",
            &[&listener.user_id, &release],
        )
        .await;
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        let call = Call::get(path);
        match token {
            Some(token) => call.bearer(token),
            None => call,
        }
        .send(&self.router)
        .await
    }

    /// Run the maintenance schedule's stats task with no lag, through the maintenance function
    /// as its own role: plays received so far are counted (popularity, `play_counts`, the
    /// artists' stats). Its report.
    pub async fn roll_up(&self) -> serde_json::Value {
        self.roll_up_lagging(0).await
    }

    /// The stats task reading plays received up to `lag_secs` ago.
    pub async fn roll_up_lagging(&self, lag_secs: u32) -> serde_json::Value {
        let report = maintenance::Maintenance::new(
            self.db.pool_as(hound_domain::db::roles::MAINTENANCE),
            self.aws.storage.clone(),
            self.aws.mailer.clone(),
        )
        .handle(
            serde_json::from_value(serde_json::json!({"task": "stats", "lag_secs": lag_secs}))
                .unwrap(),
        )
        .await
        .unwrap();
        serde_json::to_value(report.stats.expect("a stats run")).unwrap()
    }
}

/// The listener router over `pool`, with this test's buckets.
pub fn router_with(aws: &TestAws, pool: hound_domain::db::Pool, cdn: Option<&str>) -> Router {
    listener::router(listener::AppState {
        backend: hound_http::Backend::new(pool, test_keys()),
        media: Media::new(aws.storage.clone(), cdn.map(str::to_owned)),
        collective: Default::default(),
        stripe: hound_testing::test_stripe(),
    })
}

pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.code(), code, "body: {}", response.body);
}

/// A TCP proxy in front of Postgres that counts the statements clients execute: every
/// extended-protocol Execute (`E`) and simple Query (`Q`) message on the wire. Parse, Bind and
/// Describe are not statements run, so preparing is not counted.
pub struct StatementCounter {
    pub url: String,
    count: Arc<AtomicUsize>,
}

impl StatementCounter {
    pub async fn start(database_url: &str) -> Self {
        let mut url = url::Url::parse(database_url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut started = false;
                    let mut chunk = vec![0_u8; 64 * 1024];
                    loop {
                        let n = match client_read.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if server_write.write_all(&chunk[..n]).await.is_err() {
                            break;
                        }
                        pending.extend_from_slice(&chunk[..n]);
                        count_messages(&mut pending, &mut started, &counter);
                    }
                });
            }
        });
        Self {
            url: url.to_string(),
            count,
        }
    }

    pub fn take(&self) -> usize {
        self.count.swap(0, Ordering::SeqCst)
    }
}

fn count_messages(pending: &mut Vec<u8>, started: &mut bool, counter: &AtomicUsize) {
    loop {
        if !*started {
            // Startup-phase messages have no type byte: length, then a protocol code.
            if pending.len() < 8 {
                return;
            }
            let len = u32::from_be_bytes(pending[0..4].try_into().unwrap()) as usize;
            if pending.len() < len {
                return;
            }
            let code = u32::from_be_bytes(pending[4..8].try_into().unwrap());
            *started = code == 196_608;
            pending.drain(..len);
        } else {
            if pending.len() < 5 {
                return;
            }
            let len = u32::from_be_bytes(pending[1..5].try_into().unwrap()) as usize;
            if pending.len() < 1 + len {
                return;
            }
            if matches!(pending[0], b'E' | b'Q') {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            pending.drain(..1 + len);
        }
    }
}
