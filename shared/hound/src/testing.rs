//! Test support (feature `testing`): a private database per test, cloned from a migrated
//! template that is built once per migration set, and in-process HTTP calls through the
//! lambda_http request type, exactly as API Gateway hands them to a function.

use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use base64::Engine as _;
use deadpool_postgres::Pool;
use http_body_util::BodyExt as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_postgres::NoTls;
use tower::ServiceExt as _;

use crate::auth::JwtKeys;
use crate::db::{self, PoolSettings};

/// The server tests create their databases on: `DATABASE_URL`, or the local default.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
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
        let name = format!("hound_test_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = connect(&admin).await;
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
        })
        .expect("test pool");
        Self { pool, name, url }
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

/// The fixed keyset tests sign with (kid `test-1`).
pub fn test_keys() -> Arc<JwtKeys> {
    Arc::new(keys_with(&[("test-1", 1)], "test-1"))
}

/// A keyset of `(kid, seed byte)` keys with `active` signing.
pub fn keys_with(keys: &[(&str, u8)], active: &str) -> JwtKeys {
    let keys: serde_json::Map<String, Value> = keys
        .iter()
        .map(|(kid, seed)| {
            (
                (*kid).to_owned(),
                Value::String(base64::engine::general_purpose::STANDARD.encode([*seed; 32])),
            )
        })
        .collect();
    JwtKeys::from_json(&json!({"active_kid": active, "keys": keys}).to_string()).expect("keyset")
}

/// An answer from an in-process call.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A request as API Gateway (HTTP API, payload 2.0) would deliver it.
pub struct Call {
    method: String,
    path: String,
    headers: serde_json::Map<String, Value>,
    body: Option<String>,
}

impl Call {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: serde_json::Map::new(),
            body: None,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), Value::String(value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw_body("application/json", &body.to_string())
    }

    pub fn raw_body(mut self, content_type: &str, body: &str) -> Self {
        if !content_type.is_empty() {
            self = self.header("content-type", content_type);
        }
        self.body = Some(body.to_owned());
        self
    }

    /// The API Gateway v2 event for this request.
    pub fn event(&self) -> Value {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": self.headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {
                    "method": self.method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "hound-tests"
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "22/Nov/2026:18:00:00 +0000",
                "timeEpoch": 1_795_370_400_000_u64
            },
            "body": self.body,
            "isBase64Encoded": false
        })
    }

    /// Run the request through `router` in-process.
    pub async fn send(self, router: &Router) -> TestResponse {
        let request = lambda_http::request::from_str(&self.event().to_string())
            .expect("a valid API Gateway v2 event");
        let response = router
            .clone()
            .oneshot(request)
            .await
            .expect("routers are infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("response body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("response is not JSON: {}", String::from_utf8_lossy(&bytes))
            })
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

/// The S3/SQS endpoint tests use: `AWS_ENDPOINT_URL` (moto), default http://127.0.0.1:5000.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:5000".to_owned())
}

/// SDK configuration pointing at moto with dummy credentials.
pub async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "hound-tests",
        ))
        .load()
        .await
}

/// Buckets and a queue of one's own on moto, so tests never see each other's objects.
pub struct TestAws {
    pub config: aws_config::SdkConfig,
    pub storage: crate::storage::Storage,
    pub queue: crate::storage::Queue,
}

impl TestAws {
    pub async fn new() -> Self {
        let config = moto_config().await;
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let storage = crate::storage::Storage::new(
            &config,
            format!("{prefix}-masters"),
            format!("{prefix}-covers"),
            format!("{prefix}-streams"),
        );
        for bucket in [
            &storage.masters_bucket,
            &storage.covers_bucket,
            &storage.streams_bucket,
        ] {
            storage
                .client()
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .unwrap_or_else(|e| panic!("tests need moto at {} ({e:?})", aws_endpoint()));
        }
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{prefix}-transcode"))
            .send()
            .await
            .expect("creating the test queue")
            .queue_url
            .expect("queue url");
        let queue = crate::storage::Queue::new(&config, queue_url);
        Self {
            config,
            storage,
            queue,
        }
    }

    /// Every message now on the transcode queue (received and deleted), as JSON.
    pub async fn drain_queue(&self) -> Vec<Value> {
        let mut bodies = Vec::new();
        loop {
            let out = self
                .queue
                .client()
                .receive_message()
                .queue_url(&self.queue.transcode_queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receiving");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for message in messages {
                bodies.push(
                    serde_json::from_str(message.body().unwrap_or("null")).expect("JSON body"),
                );
                self.queue
                    .client()
                    .delete_message()
                    .queue_url(&self.queue.transcode_queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("deleting");
            }
        }
    }
}

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
