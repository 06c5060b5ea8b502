//! Processes a test starts: killed with their whole group when the test ends, on ports of
//! their own; and `cargo lambda watch` serving the workspace's functions.

use std::process::Stdio;
use std::time::{Duration, Instant};

/// A child process started in its own process group (`process_group(0)`), killed with the whole
/// group when dropped: `cargo lambda watch` and the functions it runs die with the test.
pub struct ProcessGroup(pub tokio::process::Child);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The workspace's root: where `cargo lambda` runs, and `events/` lives.
pub const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// `cargo lambda watch` serving every function of the workspace on 127.0.0.1 at a port of its
/// own, with the given environment and its output in a log file; it dies with the test.
pub struct Watch {
    pub port: u16,
    /// `http://127.0.0.1:{port}`
    pub base: String,
    /// Where watch (and whatever else the test sends there) writes.
    pub log_path: std::path::PathBuf,
    _group: ProcessGroup,
}

impl Watch {
    /// Start watch and wait (up to `timeout` in all) until each of `ready_paths` answers: the
    /// first request to a function builds it, and a test should not pay that inside its own
    /// request timeouts.
    pub async fn start(env: &[(&str, String)], ready_paths: &[&str], timeout: Duration) -> Self {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log_path = std::env::temp_dir().join(format!("hound-watch-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("a log file");
        let child = tokio::process::Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(WORKSPACE)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("cargo lambda is installed (make test installs it)");
        let watch = Self {
            port,
            base,
            log_path,
            _group: ProcessGroup(child),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        for path in ready_paths {
            while http
                .get(format!("{}{path}", watch.base))
                .timeout(deadline.saturating_duration_since(Instant::now()))
                .send()
                .await
                .is_err()
            {
                assert!(
                    Instant::now() < deadline,
                    "cargo lambda watch did not answer {path} (log: {})",
                    watch.log_path.display()
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        watch
    }

    /// The log file, opened for appending (a poller beside watch writes there too).
    pub fn log(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log_path)
            .expect("the watch log")
    }
}
