//! Past one database (`make bench`, `BENCH_ONLY=pool`): N listener function instances, each its
//! own process with a pool of one connection (`DB_POOL_SIZE=1`, as in AWS), ask for album pages
//! and streams back to back, straight to Postgres and through PgBouncer in transaction pooling
//! (a stand-in for the RDS Proxy; the listener in pooler mode, `DB_POOLER=transaction`). Printed:
//! the most server connections the listener role held, requests, p50 and p99, and p99 as a ratio
//! to a bare primary-key SELECT measured in the same run. Every request must answer 200.
//!
//! The same binary is each instance: `pool-sim instance`, told what to do by its environment,
//! reporting on stdout.

use std::io::Write as _;
use std::net::TcpStream;
use std::process::Stdio;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use hound_domain::auth::AccountKind;
use hound_domain::db::{self, PoolSettings, roles};
use hound_domain::listener::Media;
use hound_testing::{Call, TestDb, free_port, moto_config, sign_up, test_keys};
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use uuid::Uuid;

const SIZES: [usize; 3] = [10, 50, 200];
/// How long every instance of a run sends requests.
const RUN: Duration = Duration::from_secs(4);
const RELEASES: usize = 300;
/// PgBouncer's server connections per database and user.
const POOL_SIZE: usize = 20;
/// Connections left to others on a shared server: a direct run that would not leave them is
/// not made.
const HEADROOM: i64 = 20;

/// Artists, releases (published, public), 10 analysed tracks each with complete renditions, and
/// covers: the part of the listener bench's load that album and stream pages read.
const LOAD: &str = "
    INSERT INTO users (id, email, password_hash, display_name, roles)
    SELECT gen_random_uuid(), 'artist' || g || '@sim.test', 'x', 'Artist ' || g,
           '{listener,artist}'
      FROM generate_series(1, $ARTISTS) g;
    INSERT INTO artist_profiles (id, user_id, name, slug)
    SELECT gen_random_uuid(), id, display_name, 'artist-' || split_part(email, '@', 1)
      FROM users;
    CREATE TEMP TABLE artist_n AS
    SELECT row_number() OVER (ORDER BY id) AS n, id FROM artist_profiles;
    INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                          publish_at, published_at)
    SELECT gen_random_uuid(), a.id, 'Release ' || g, 'album', 'published', 'public',
           md5(g::text), now() - g * interval '5 minutes', now() - g * interval '5 minutes'
      FROM generate_series(1, $RELEASES) g JOIN artist_n a ON a.n = 1 + g % $ARTISTS;
    CREATE TEMP TABLE release_n AS
    SELECT row_number() OVER (ORDER BY id) AS n, id, artist_id FROM releases;
    INSERT INTO tracks (id, release_id, position, title, duration_ms, integrated_lufs,
                        true_peak_dbtp, gain_db, analysed_at)
    SELECT gen_random_uuid(), r.id, p, 'Track ' || p, 120000 + (r.n * p * 7919) % 180000,
           -20 + (r.n + p) % 12, -6 + (r.n % 5), -14 - (-20 + (r.n + p) % 12), now()
      FROM release_n r CROSS JOIN generate_series(1, 10) p;
    INSERT INTO assets (id, artist_id, release_id, track_id, kind, state, bucket, key,
                        filename, content_type, size_bytes)
    SELECT gen_random_uuid(), r.artist_id, r.id, t.id, 'master', 'ready', 'masters',
           t.id || '/m.wav', 'm.wav', 'audio/wav', 1000
      FROM tracks t JOIN release_n r ON r.id = t.release_id;
    INSERT INTO assets (id, artist_id, release_id, kind, state, bucket, key, filename,
                        content_type, size_bytes)
    SELECT gen_random_uuid(), r.artist_id, r.id, 'cover', 'ready', 'covers', r.id || '/c.png',
           'c.png', 'image/png', 1000
      FROM release_n r;
    INSERT INTO transcode_jobs (id, asset_id, status, progress)
    SELECT gen_random_uuid(), id, 'ready', 100 FROM assets;
    UPDATE tracks t SET master_asset_id = a.id FROM assets a WHERE a.track_id = t.id;
    UPDATE releases r SET cover_asset_id = a.id FROM assets a
     WHERE a.release_id = r.id AND a.kind = 'cover';
    INSERT INTO variants (id, job_id, asset_id, name, codec, bitrate_kbps, mime, status,
                          bucket, key, size_bytes)
    SELECT gen_random_uuid(), j.id, a.id, v.name, v.codec, v.kbps, v.mime, 'complete',
           'streams', a.id || '/' || v.name, 100
      FROM assets a JOIN transcode_jobs j ON j.asset_id = a.id
      CROSS JOIN (VALUES ('aac_256', 'aac', 256, 'audio/mp4'), ('aac_128', 'aac', 128, 'audio/mp4'),
                         ('opus_96', 'opus', 96, 'audio/ogg')) AS v(name, codec, kbps, mime)
     WHERE a.kind = 'master';
    INSERT INTO variants (id, job_id, asset_id, name, width_px, mime, status, bucket, key)
    SELECT gen_random_uuid(), j.id, a.id, 'cover_' || w || '_' || f, w, 'image/' || f,
           'complete', 'covers', a.id || '/' || w || '.' || f
      FROM assets a JOIN transcode_jobs j ON j.asset_id = a.id
      CROSS JOIN unnest(ARRAY[1200, 600, 300]) AS w CROSS JOIN unnest(ARRAY['jpeg', 'webp']) AS f
     WHERE a.kind = 'cover';
    ANALYZE;";

/// Small deterministic generator, so runs pick the same ids.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("instance") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(instance());
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(sim());
    }
}

// ---------------------------------------------------------------------------------------------
// One function instance

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the simulation"))
}

/// Build the listener as the function does (pool of one, its own role, `DB_POOLER`), answer one
/// request, say `ready`, wait for `go`, then request back to back for `RUN`, and report each
/// latency (µs) and the first failure.
async fn instance() {
    let pool = db::pool(&PoolSettings {
        url: SecretString::from(var("SIM_URL")),
        max_size: 1,
        ca_file: None,
        role: Some(roles::LISTENER),
    })
    .expect("a pool");
    let pooler = hound_http::Backend::pooler_from_env().expect("DB_POOLER");
    let config = moto_config().await;
    let storage = hound_domain::aws::Storage::new(
        &config,
        "masters".to_owned(),
        "covers".to_owned(),
        "streams".to_owned(),
    );
    let router = listener::router(listener::AppState {
        backend: hound_http::Backend::new(pool, test_keys()).behind_pooler(pooler),
        media: Media::new(storage, None),
        collective: Default::default(),
        stripe: hound_testing::test_stripe(),
    });
    let ids = std::fs::read_to_string(var("SIM_IDS")).expect("the id file");
    let (mut releases, mut tracks) = (Vec::new(), Vec::new());
    for line in ids.lines() {
        match line.split_once(' ') {
            Some(("release", id)) => releases.push(id.to_owned()),
            Some(("track", id)) => tracks.push(id.to_owned()),
            _ => {}
        }
    }
    let token = var("SIM_TOKEN");
    let mut rng = Lcg(var("SIM_SEED").parse().expect("a seed"));
    let mut failure: Option<String> = None;
    let mut errors = 0usize;
    let mut send = async |i: usize, rng: &mut Lcg| -> Duration {
        let call = if i.is_multiple_of(2) {
            Call::get(&format!(
                "/v1/listener/albums/{}",
                releases[rng.next(releases.len())]
            ))
        } else {
            Call::get(&format!(
                "/v1/listener/tracks/{}/stream",
                tracks[rng.next(tracks.len())]
            ))
        };
        // Every other pair with a token: the caller's settings and session check.
        let call = if i % 4 >= 2 {
            call.bearer(&token)
        } else {
            call
        };
        let started = Instant::now();
        let r = call.send(&router).await;
        let took = started.elapsed();
        if r.status != 200 {
            errors += 1;
            failure.get_or_insert_with(|| format!("{} {}", r.status, r.body));
        }
        took
    };
    for i in 0..4 {
        send(i, &mut rng).await;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("stdout");
    drop(out);
    // The connection is idle meanwhile: blocking this thread costs nothing.
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("stdin");
    let mut samples = Vec::new();
    let deadline = Instant::now() + RUN;
    let mut i = 0;
    while Instant::now() < deadline {
        samples.push(send(i, &mut rng).await.as_micros());
        i += 1;
    }
    let mut out = std::io::stdout().lock();
    let samples: Vec<String> = samples.iter().map(u128::to_string).collect();
    writeln!(out, "latencies {}", samples.join(" ")).expect("stdout");
    let failure = failure.unwrap_or_default().replace('\n', " ");
    writeln!(out, "errors {errors} {failure}").expect("stdout");
}

// ---------------------------------------------------------------------------------------------
// The simulation

struct Run {
    connections: i64,
    samples: Vec<Duration>,
    errors: usize,
    failure: String,
}

/// N instances against `url`; the most connections the listener role held meanwhile.
async fn run(n: usize, url: &str, pooler: bool, env: &[(&str, String)], db: &TestDb) -> Run {
    let exe = std::env::current_exe().expect("this binary");
    let mut children = Vec::with_capacity(n);
    for i in 0..n {
        let child = tokio::process::Command::new(&exe)
            .arg("instance")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("SIM_URL", url)
            .env("DB_POOLER", if pooler { "transaction" } else { "none" })
            .env("SIM_SEED", (i + 1).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting an instance");
        children.push(child);
    }
    let mut lines = Vec::with_capacity(n);
    for child in &mut children {
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), out.next_line())
            .await
            .expect("an instance never got ready");
        assert_eq!(
            ready.expect("reading an instance").as_deref(),
            Some("ready")
        );
        lines.push(out);
    }

    let admin = db.pool.get().await.expect("an admin connection");
    let count = admin
        .prepare("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename = $2::text")
        .await
        .expect("preparing the count");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let name = db.name.clone();
    let sampler = tokio::spawn(async move {
        let mut most = 0i64;
        loop {
            let row = admin
                .query_one(&count, &[&name, &roles::LISTENER])
                .await
                .expect("counting connections");
            most = most.max(row.get(0));
            tokio::select! {
                _ = &mut stopped => return most,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    });

    for child in &mut children {
        let stdin = child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").await.expect("telling an instance");
    }
    let mut result = Run {
        connections: 0,
        samples: Vec::new(),
        errors: 0,
        failure: String::new(),
    };
    for mut out in lines {
        while let Some(line) = out.next_line().await.expect("reading an instance") {
            if let Some(rest) = line.strip_prefix("latencies ") {
                result.samples.extend(
                    rest.split_whitespace()
                        .map(|us| Duration::from_micros(us.parse().expect("µs"))),
                );
            } else if let Some(rest) = line.strip_prefix("errors ") {
                let (count, failure) = rest.split_once(' ').unwrap_or((rest, ""));
                let count: usize = count.parse().expect("a count");
                result.errors += count;
                if count > 0 && result.failure.is_empty() {
                    result.failure = failure.to_owned();
                }
            }
        }
    }
    for mut child in children {
        let status = child.wait().await.expect("an instance's exit");
        assert!(status.success(), "an instance failed: {status}");
    }
    let _ = stop.send(());
    result.connections = sampler.await.expect("the sampler");
    result
}

/// PgBouncer 1.18 (Debian 12), as the `postgres` OS user when we are root (it refuses root):
/// transaction pooling, every prepared statement deallocated when its transaction ends.
struct PgBouncer {
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
    port: u16,
}

impl PgBouncer {
    async fn start(db: &TestDb) -> Self {
        let config = tokio_postgres::Config::from_str(&db.url).expect("the test URL");
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let server_port = config.get_ports().first().copied().unwrap_or(5432);
        let port = free_port();
        let dir = tempfile::Builder::new()
            .prefix("hound-pgbouncer-")
            .tempdir()
            .expect("a directory");
        let users = dir.path().join("users.txt");
        std::fs::write(&users, format!("\"{}\" \"\"\n", roles::LISTENER)).expect("users.txt");
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]
{name} = host={host} port={server_port} dbname={name}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = transaction
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
default_pool_size = {POOL_SIZE}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
log_connections = 0
log_disconnections = 0
",
                name = db.name,
                users = users.display()
            ),
        )
        .expect("pgbouncer.ini");
        use std::os::unix::fs::PermissionsExt as _;
        for (path, mode) in [(dir.path(), 0o755), (&users, 0o644), (&ini, 0o644)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .expect("permissions");
        }
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("pgbouncer");
        let log = dir.path().join("pgbouncer.log");
        let mut command = tokio::process::Command::new(binary);
        if is_root() {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .kill_on_drop(true)
            .spawn()
            .expect("PgBouncer is installed (apt-get install pgbouncer; make bench installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PgBouncer did not listen: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            _dir: dir,
            child,
            port,
        }
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn at(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn sim() {
    let db = TestDb::new().await;
    let client = db.pool.get().await.expect("a connection");
    let artists = (RELEASES / 10).max(1);
    client
        .batch_execute(
            &LOAD
                .replace("$ARTISTS", &artists.to_string())
                .replace("$RELEASES", &RELEASES.to_string()),
        )
        .await
        .expect("loading the catalogue");
    let mut ids = String::new();
    let mut releases = Vec::new();
    for row in client
        .query("SELECT id FROM releases", &[])
        .await
        .expect("releases")
    {
        let id: Uuid = row.get(0);
        releases.push(id);
        ids.push_str(&format!("release {id}\n"));
    }
    for row in client
        .query("SELECT id FROM tracks", &[])
        .await
        .expect("tracks")
    {
        ids.push_str(&format!("track {}\n", row.get::<_, Uuid>(0)));
    }
    let ids_file = tempfile::NamedTempFile::new().expect("an id file");
    std::fs::write(ids_file.path(), ids).expect("writing the ids");
    let (_, session) = sign_up(&db, AccountKind::Listener, "sim@sim.test", "Sim").await;
    let env = [
        ("SIM_IDS", ids_file.path().display().to_string()),
        ("SIM_TOKEN", session.access_token.clone()),
        ("RUST_LOG", "error".to_owned()),
    ];

    // Baseline: a bare primary-key SELECT, one connection, nothing else running.
    let statement = client
        .prepare_cached("SELECT id, title FROM releases WHERE id = $1")
        .await
        .expect("preparing");
    let mut pick = Lcg(11);
    let mut baseline = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let id = releases[pick.next(releases.len())];
        let started = Instant::now();
        client.query_one(&statement, &[&id]).await.expect("a row");
        baseline.push(started.elapsed());
    }
    let base_p50 = at(&mut baseline, 0.5);
    let base_p99 = at(&mut baseline, 0.99);
    let row = client
        .query_one(
            "SELECT current_setting('max_connections')::bigint
                    - current_setting('superuser_reserved_connections')::bigint
                    - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
            &[],
        )
        .await
        .expect("free connections");
    let free: i64 = row.get(0);
    drop(client);

    // `POOL_SIM_NAIVE=1`: through PgBouncer with pooler mode off, to see what breaks.
    let naive = std::env::var("POOL_SIM_NAIVE").is_ok_and(|v| v == "1");

    println!(
        "\npool-sim: N listener instances (processes, pool of 1 each), album and stream pages back to back for {} s, half with a token; {RELEASES} releases",
        RUN.as_secs()
    );
    println!(
        "PgBouncer: pool_mode = transaction, default_pool_size = {POOL_SIZE}, DEALLOCATE ALL after each transaction; listener DB_POOLER=transaction"
    );
    println!(
        "baseline: primary-key SELECT, one connection, idle machine: p50 {:.3} ms, p99 {:.3} ms",
        ms(base_p50),
        ms(base_p99)
    );
    println!(
        "{:>4}  {:<9}  {:>12}  {:>8}  {:>9}  {:>9}  {:>14}",
        "N", "mode", "server conns", "requests", "p50 ms", "p99 ms", "p99 / baseline"
    );
    let mut failed = Vec::new();
    // Naive, one size shows it (larger ones can hang on PgBouncer's errors).
    let sizes = if naive { &SIZES[..1] } else { &SIZES[..] };
    for &n in sizes {
        for (mode, through) in [("direct", false), ("pgbouncer", true)] {
            if !through && n as i64 > free - HEADROOM {
                println!(
                    "{n:>4}  {mode:<9}  not run: {free} connections free on the server, {HEADROOM} left to others"
                );
                continue;
            }
            // A PgBouncer of its own per run: its idle server connections end with it.
            let bouncer = match through {
                true => Some(PgBouncer::start(&db).await),
                false => None,
            };
            let url = match &bouncer {
                Some(b) => format!(
                    "postgres://{}@127.0.0.1:{}/{}",
                    roles::LISTENER,
                    b.port,
                    db.name
                ),
                None => db.url.clone(),
            };
            let mut result = run(n, &url, through && !naive, &env, &db).await;
            if let Some(mut b) = bouncer {
                b.child.kill().await.ok();
            }
            let p50 = at(&mut result.samples, 0.5);
            let p99 = at(&mut result.samples, 0.99);
            println!(
                "{n:>4}  {mode:<9}  {:>12}  {:>8}  {:>9.2}  {:>9.2}  {:>13.1}x{}",
                result.connections,
                result.samples.len(),
                ms(p50),
                ms(p99),
                ms(p99) / ms(base_p99),
                if result.errors > 0 {
                    format!("  {} NOT 200", result.errors)
                } else {
                    String::new()
                }
            );
            if result.errors > 0 {
                println!(
                    "      first: {}",
                    result.failure.chars().take(300).collect::<String>()
                );
                failed.push(format!("N={n} {mode}: {}", result.failure));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "requests that did not answer 200:\n{}",
        failed.join("\n")
    );
}
