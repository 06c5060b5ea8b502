//! A private database per test, cloned from a migrated template that is built once per
//! migration set (across test processes) and dropped when the test ends. A test process that
//! was killed cannot drop its databases; the next test process on the machine does
//! (`sweep_leftover_databases`): each name carries the process id that made it.

use std::str::FromStr;

use hound_domain::db::{self, Pool, PoolSettings};
use secrecy::SecretString;
use tokio_postgres::NoTls;

/// The server tests create their databases on: `DATABASE_URL`, or the local default.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Every test database's name starts so, then the id of the process that made it.
pub const TEST_DB_PREFIX: &str = "hound_test_";
/// Databases one sweep drops at most (the next process's sweep takes the rest).
pub const MAX_SWEEP: usize = 200;
static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The process id a test database's name carries, if it is one (`hound_test_{pid}_{uuid}`).
pub fn test_db_pid(name: &str) -> Option<u32> {
    let (pid, id) = name.strip_prefix(TEST_DB_PREFIX)?.split_once('_')?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Drop (at most `limit`) test databases whose process no longer runs on this machine: left by
/// a test run that was killed before its databases could be dropped. Only where `/proc` tells
/// which processes run (Linux), and only for this machine's processes: a cluster shared by test
/// machines would need the host in the name too. Databases of the older naming (no process id)
/// are left alone. The names dropped.
pub async fn sweep_leftover_databases(
    client: &tokio_postgres::Client,
    limit: usize,
) -> Vec<String> {
    if !std::path::Path::new("/proc/self").exists() {
        return Vec::new();
    }
    let names: Vec<String> = client
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'hound\\_test\\_%' ORDER BY 1",
            &[],
        )
        .await
        .expect("listing test databases")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut dropped = Vec::new();
    for name in names {
        let Some(pid) = test_db_pid(&name) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .is_ok()
        {
            dropped.push(name);
        }
        if dropped.len() >= limit {
            break;
        }
    }
    dropped
}

/// A database of one's own, dropped (forcefully) when the value is dropped.
pub struct TestDb {
    pub pool: Pool,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let admin = admin_url();
        let template = ensure_template(&admin).await;
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let (client, connection) = connect(&admin).await;
        if !SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let dropped = sweep_leftover_databases(&client, MAX_SWEEP).await;
            if !dropped.is_empty() {
                eprintln!("dropped {} databases of killed test runs", dropped.len());
            }
        }
        let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
        // A template can be copied by many sessions at once, but not while someone is connected
        // to it; its builder disconnects before publishing it, so a retry only covers a straggler.
        let mut attempt = 0;
        while let Err(err) = client.batch_execute(&create).await {
            attempt += 1;
            assert!(attempt < 50, "creating {name} from {template}: {err}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(client);
        let _ = connection.await;
        let url = with_dbname(&admin, &name);
        let pool = db::pool(&PoolSettings {
            url: SecretString::from(url.clone()),
            max_size: 16,
            ca_file: None,
            role: None,
        })
        .expect("test pool");
        Self { pool, name, url }
    }

    /// A pool on this database connecting as a function's role (`hound_domain::db::roles`),
    /// as the function does: row-level security and its grants apply. `pool` is the admin's.
    pub fn pool_as(&self, role: &'static str) -> Pool {
        self.pool_sized(role, 16)
    }

    /// [`TestDb::pool_as`] with at most `max_size` connections (one: every checkout is the same
    /// connection, to read what a request left on it).
    pub fn pool_sized(&self, role: &'static str, max_size: usize) -> Pool {
        db::pool(&PoolSettings {
            url: SecretString::from(self.url.clone()),
            max_size,
            ca_file: None,
            role: Some(role),
        })
        .expect("a role's test pool")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool.close();
        let name = self.name.clone();
        let admin = admin_url();
        // Drop runs outside async context guarantees: use a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (client, connection) = connect(&admin).await;
                let handle = tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                drop(client);
                let _ = handle.await;
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn connect(
    url: &str,
) -> (
    tokio_postgres::Client,
    impl std::future::Future<Output = Result<(), tokio_postgres::Error>> + use<>,
) {
    let config = tokio_postgres::Config::from_str(url).expect("DATABASE_URL parses");
    let (client, connection) = config
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("tests need Postgres at DATABASE_URL ({url}): {e}"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = tx.send(connection.await);
    });
    (client, async move { rx.await.unwrap_or(Ok(())) })
}

fn with_dbname(url: &str, name: &str) -> String {
    let mut config = tokio_postgres::Config::from_str(url).expect("DATABASE_URL parses");
    config.dbname(name);
    let mut out = String::from("postgresql://");
    if let Some(user) = config.get_user() {
        out.push_str(&urlencode(user));
        if let Some(password) = config.get_password() {
            out.push(':');
            out.push_str(&urlencode(&String::from_utf8_lossy(password)));
        }
        out.push('@');
    }
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => urlencode(&path.to_string_lossy()),
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    out.push_str(&host);
    if let Some(port) = config.get_ports().first() {
        out.push_str(&format!(":{port}"));
    }
    out.push('/');
    out.push_str(name);
    out
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Build (once per migration set, across processes) the template every test database copies.
async fn ensure_template(admin: &str) -> String {
    let template = format!("hound_template_{:016x}", db::migrations_fingerprint());
    let (client, connection) = connect(admin).await;
    // Serialise builders across test processes; readers pass straight through once it exists.
    client
        .batch_execute("SELECT pg_advisory_lock(7411)")
        .await
        .expect("template lock");
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("looking up the template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        for statement in [
            format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            format!("CREATE DATABASE {building}"),
        ] {
            client
                .batch_execute(&statement)
                .await
                .expect("creating the template database");
        }
        let pool = db::pool(&PoolSettings {
            url: SecretString::from(with_dbname(admin, &building)),
            max_size: 1,
            ca_file: None,
            role: None,
        })
        .expect("template pool");
        db::migrate(&pool).await.expect("migrating the template");
        pool.close();
        // Publish only a complete template, and only once nobody is connected to it.
        let rename = format!("ALTER DATABASE {building} RENAME TO {template}");
        let mut attempt = 0;
        while let Err(err) = client.batch_execute(&rename).await {
            attempt += 1;
            assert!(attempt < 50, "publishing the template: {err}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    client
        .batch_execute("SELECT pg_advisory_unlock(7411)")
        .await
        .expect("template unlock");
    drop(client);
    let _ = connection.await;
    template
}
