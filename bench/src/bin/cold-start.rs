//! Cold starts and sizes (`make bench`): each function's initialisation, measured as the time
//! from starting its release binary until it first asks the Lambda runtime API for work
//! (`GET /2018-06-01/runtime/invocation/next`), against the smallest `lambda_runtime` function
//! (`hello-lambda`) built the same way, in one run; and each release binary's size.
//!
//! The runtime API is a stub here: a TCP listener that notes when the request line arrives and
//! then stops the process. Each function gets the environment it needs to start (keys are made
//! up, the database and AWS are never contacted before the first request: that is one of the
//! targets).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;

/// The functions measured; `hello-lambda` first, the baseline.
const BINARIES: &[&str] = &[
    "hello-lambda",
    "auth",
    "studio",
    "listener",
    "redeem",
    "checkin",
    "stripe-webhook",
    "dead-letter",
    "maintenance",
];
/// The HTTP functions (API Gateway): their binaries should stay under `MAX_HTTP_BYTES`.
const HTTP: &[&str] = &[
    "auth",
    "studio",
    "listener",
    "redeem",
    "checkin",
    "stripe-webhook",
];
const MAX_HTTP_BYTES: u64 = 15 * 1024 * 1024;
/// Starts per binary; the median is printed, and the worst.
const RUNS: usize = 15;
/// Target: no function's start more than this above the baseline's.
const WITHIN: Duration = Duration::from_millis(5);

/// The environment a function needs to start, as in AWS (made-up keys, local endpoints).
fn environment() -> Vec<(String, String)> {
    let signing = hound_domain::auth::JwtKeys::generate_json("bench");
    let public = hound_domain::auth::JwtKeys::from_signing_json(&signing)
        .expect("a signing keyset")
        .public_json();
    let vars = [
        ("AWS_LAMBDA_FUNCTION_NAME", "cold-start-bench".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        (
            "DATABASE_URL",
            "postgres://bench@127.0.0.1:9/bench".to_owned(),
        ),
        ("JWT_SIGNING_KEYS", signing),
        ("JWT_PUBLIC_KEYS", public),
        ("CODE_KEYS", hound_domain::gates::generate_ring_json("k1")),
        ("EVENT_KEYS", hound_domain::gates::generate_ring_json("k1")),
        ("MASTERS_BUCKET", "masters".to_owned()),
        ("COVERS_BUCKET", "covers".to_owned()),
        ("STREAMS_BUCKET", "streams".to_owned()),
        (
            "TRANSCODE_QUEUE_URL",
            "http://127.0.0.1:9/000000000000/transcode".to_owned(),
        ),
        ("STRIPE_API_BASE", "http://127.0.0.1:9".to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_bench".to_owned()),
        ("STRIPE_WEBHOOK_SECRETS", "whsec_bench".to_owned()),
        ("NOTIFY_FROM", "noreply@bench.test".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// One cold start of `binary`: from spawning it to its first request for work.
async fn start(binary: &Path, env: &[(String, String)]) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let api = listener.local_addr().expect("its address").to_string();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let asked = tokio::time::timeout(Duration::from_secs(20), async {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = socket.read(&mut buf).await.expect("reading the request");
            assert!(n > 0, "{} closed before asking for work", binary.display());
            head.extend_from_slice(&buf[..n]);
            if head.windows(2).any(|w| w == b"\r\n") {
                break;
            }
        }
        let line = String::from_utf8_lossy(&head);
        assert!(
            line.starts_with("GET /2018-06-01/runtime/invocation/next"),
            "{}: {line}",
            binary.display()
        );
        started.elapsed()
    })
    .await
    .unwrap_or_else(|_| panic!("{} never asked for work", binary.display()));
    child.kill().await.ok();
    asked
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() {
    let dir: PathBuf = std::env::current_exe()
        .expect("this binary's path")
        .parent()
        .expect("its directory")
        .to_owned();
    let env = environment();
    println!(
        "\ncold start: release binaries on this machine, p50 (worst) of {RUNS} starts, from process start to the first request for work"
    );
    let mut baseline = Duration::ZERO;
    let mut missed = Vec::new();
    // Interleaved rounds, so a busy moment of the machine falls on every binary alike.
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); BINARIES.len()];
    for _ in 0..RUNS {
        for (i, name) in BINARIES.iter().enumerate() {
            samples[i].push(start(&dir.join(name), &env).await);
        }
    }
    for (name, mut runs) in BINARIES.iter().zip(samples) {
        runs.sort();
        let p50 = runs[runs.len() / 2];
        let worst = runs[runs.len() - 1];
        let size = std::fs::metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        if *name == "hello-lambda" {
            baseline = p50;
            println!(
                "  {name:<15} {:>7.2} ms ({:>6.2})   baseline          {:>6.1} MB",
                ms(p50),
                ms(worst),
                mb(size)
            );
            continue;
        }
        let over = p50.saturating_sub(baseline);
        let http = HTTP.contains(name);
        println!(
            "  {name:<15} {:>7.2} ms ({:>6.2})   +{:>6.2} ms{}   {:>6.1} MB{}",
            ms(p50),
            ms(worst),
            ms(over),
            if over > WITHIN { " (over)" } else { "       " },
            mb(size),
            if http && size > MAX_HTTP_BYTES {
                " (over 15 MB)"
            } else {
                ""
            }
        );
        if over > WITHIN {
            missed.push(format!(
                "{name} starts {:.1} ms after hello-lambda",
                ms(over)
            ));
        }
        if http && size > MAX_HTTP_BYTES {
            missed.push(format!("{name} is {:.1} MB", mb(size)));
        }
    }
    println!(
        "  targets: every function within {} ms of hello-lambda; every HTTP function under 15 MB",
        WITHIN.as_millis()
    );
    if missed.is_empty() {
        println!("  all met");
    } else {
        println!("  missed: {}", missed.join("; "));
    }
}
