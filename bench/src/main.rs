//! `make bench`: in-process handler latency against the local Postgres, each figure printed as
//! a ratio to a baseline measured in the same run, so results compare across machines.

mod ledger;
mod listener;
mod stats;
mod taste;

use std::time::{Duration, Instant};

use hound_domain::auth::Passwords;
use hound_testing::{Call, TestDb, test_keys};
use serde_json::json;

const PASSWORD: &str = "correct-horse-battery-staple";

struct Stats {
    p50: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// After a bench's load, the steady state autovacuum keeps (dead row versions vacuumed, fresh
/// statistics), then a checkpoint, so that writing out the load's dirty pages does not fall
/// into a measured round.
pub(crate) async fn steady_state(client: &hound_domain::db::PooledClient) {
    client
        .batch_execute("VACUUM ANALYZE")
        .await
        .expect("vacuuming the catalogue");
    client
        .batch_execute("CHECKPOINT")
        .await
        .expect("writing the load out");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(name: &str, s: &Stats, base: &Stats) {
    println!(
        "{name:<34} p50 {:>8.3} ms ({:>6.1}x)   p99 {:>8.3} ms ({:>6.1}x)",
        ms(s.p50),
        ms(s.p50) / ms(base.p50),
        ms(s.p99),
        ms(s.p99) / ms(base.p99),
    );
}

async fn time<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        f().await;
        samples.push(started.elapsed());
    }
    samples
}

#[tokio::main]
async fn main() {
    // `BENCH_ONLY=taste make bench`: just the taste bench (it loads its own catalogues).
    if std::env::var("BENCH_ONLY").as_deref() == Ok("taste") {
        taste::run().await;
        return;
    }
    // `BENCH_ONLY=listener make bench`: just the listener bench (home, album, stream, ingest).
    if std::env::var("BENCH_ONLY").as_deref() == Ok("listener") {
        listener::run().await;
        return;
    }
    // `BENCH_ONLY=stats make bench`: just the artist-stats bench.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("stats") {
        stats::run().await;
        return;
    }
    // `BENCH_ONLY=ledger make bench`: just the ledger bench.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("ledger") {
        ledger::run().await;
        return;
    }
    let db = TestDb::new().await;
    let router = auth::router(auth::AppState::new(hound_http::Backend::new(
        db.pool_as(hound_domain::db::roles::AUTH),
        test_keys(),
    )));
    let signup = Call::post("/v1/auth/listener/signup")
        .json(&json!({"email": "bench@example.com", "password": PASSWORD, "display_name": "Bench"}))
        .send(&router)
        .await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    let access = signup.body["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Warm the pool and statement caches.
    for _ in 0..20 {
        Call::get("/v1/auth/me").bearer(&access).send(&router).await;
    }

    let pool = db.pool.clone();
    let baseline = stats(
        time(1000, || async {
            let client = pool.get().await.unwrap();
            client.query_one("SELECT 1", &[]).await.unwrap();
        })
        .await,
    );
    let me = stats(
        time(1000, || async {
            let r = Call::get("/v1/auth/me").bearer(&access).send(&router).await;
            assert_eq!(r.status, 200);
        })
        .await,
    );
    let login = stats(
        time(60, || async {
            let r = Call::post("/v1/auth/listener/login")
                .json(&json!({"email": "bench@example.com", "password": PASSWORD}))
                .send(&router)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        })
        .await,
    );
    let passwords = Passwords::owasp();
    let argon = stats(
        time(60, || async {
            std::hint::black_box(passwords.hash_blocking(PASSWORD));
        })
        .await,
    );

    println!("auth handlers, in-process, against local Postgres (ratios: x baseline)");
    println!(
        "{:<34} p50 {:>8.3} ms            p99 {:>8.3} ms",
        "baseline: SELECT 1 round trip",
        ms(baseline.p50),
        ms(baseline.p99)
    );
    row("GET /v1/auth/me", &me, &baseline);
    row("POST /v1/auth/listener/login", &login, &baseline);
    row("argon2id hash (19 MiB, t=2, p=1)", &argon, &baseline);
    println!(
        "login minus one argon2 hash: {:.3} ms at p50 ({:.1}x baseline)",
        ms(login.p50.saturating_sub(argon.p50)),
        ms(login.p50.saturating_sub(argon.p50)) / ms(baseline.p50)
    );
    drop(db);

    listener::run().await;
    ledger::run().await;
    taste::run().await;
    stats::run().await;
}
