//! The Postgres pool (TLS for managed databases), the one way to open a transaction, migrations,
//! and the mapping of driver failures into "unavailable" (retry) versus "query" (a bug) errors.
//!
//! Domain operations take a client (`&impl GenericClient`) or, when they change several rows
//! or lock one, a transaction (`&Tx`); they never take the pool and never open a transaction of
//! their own. Whoever serves the request (an HTTP handler, the worker, the CLI) opens exactly one
//! with [`begin`] and commits it.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, PoolError, RecyclingMethod, Runtime};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;

pub use deadpool_postgres::{GenericClient, Object as PooledClient, Pool, Transaction as Tx};

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// A database failure as the API sees it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached or the connection broke: safe to retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A statement failed: a bug, or a constraint the caller did not map.
    #[error("query failed: {0}")]
    Query(#[source] tokio_postgres::Error),
    /// Text Postgres cannot store (a NUL character, `\u0000` in JSON): only client input
    /// carries it, so callers answer 400.
    #[error("text Postgres cannot store: {0}")]
    InvalidText(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        let connection_level = err.is_closed()
            || err.code().is_some_and(|code| {
                code == &SqlState::ADMIN_SHUTDOWN
                    || code == &SqlState::CANNOT_CONNECT_NOW
                    || code == &SqlState::TOO_MANY_CONNECTIONS
            })
            || (err.code().is_none() && err.as_db_error().is_none());
        let invalid_text = err.code().is_some_and(|code| {
            code == &SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || code == &SqlState::UNTRANSLATABLE_CHARACTER
        });
        if connection_level {
            DbError::Unavailable(err.to_string())
        } else if invalid_text {
            DbError::InvalidText(err.to_string())
        } else {
            DbError::Query(err)
        }
    }
}

impl From<PoolError> for DbError {
    fn from(err: PoolError) -> Self {
        match err {
            PoolError::Backend(e) => e.into(),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

/// Open the one transaction of a unit of work on `client`. Dropped without `commit`, it rolls
/// back.
pub async fn begin(client: &mut PooledClient) -> Result<Tx<'_>, DbError> {
    Ok(client.transaction().await?)
}

/// Check a connection out of the pool.
pub async fn connect(pool: &Pool) -> Result<PooledClient, DbError> {
    Ok(pool.get().await?)
}

/// The name of the constraint a statement violated, if that is why it failed.
pub fn violated_constraint(err: &tokio_postgres::Error) -> Option<&str> {
    let db = err.as_db_error()?;
    let integrity = db.code() == &SqlState::UNIQUE_VIOLATION
        || db.code() == &SqlState::FOREIGN_KEY_VIOLATION
        || db.code() == &SqlState::CHECK_VIOLATION
        || db.code() == &SqlState::EXCLUSION_VIOLATION;
    if integrity { db.constraint() } else { None }
}

/// Pool settings; the URL is a secret (it usually carries a password).
pub struct PoolSettings {
    pub url: SecretString,
    pub max_size: usize,
    /// Extra PEM roots to trust, e.g. the RDS CA bundle.
    pub ca_file: Option<std::path::PathBuf>,
}

impl PoolSettings {
    /// `DATABASE_URL` (secret), `DB_POOL_SIZE` (default 4), `DATABASE_CA_FILE` (optional PEM).
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            url: SecretString::from(crate::config::required_var("DATABASE_URL")?),
            max_size: crate::config::optional_var_parsed("DB_POOL_SIZE")?.unwrap_or(4),
            ca_file: crate::config::optional_var("DATABASE_CA_FILE")?.map(Into::into),
        })
    }
}

/// The pool of `DATABASE_URL`.
pub fn pool_from_env() -> anyhow::Result<Pool> {
    pool(&PoolSettings::from_env()?)
}

/// Build the pool. No connection is opened until the first checkout.
///
/// TLS: `sslmode=disable` means plaintext. Otherwise a loopback or Unix-socket host gets
/// plaintext unless `sslmode=require` (local servers carry self-signed certificates), and any
/// other host gets TLS verified against the web PKI roots plus `ca_file`.
pub fn pool(settings: &PoolSettings) -> anyhow::Result<Pool> {
    let config = tokio_postgres::Config::from_str(settings.url.expose_secret())
        .context("DATABASE_URL is not a valid Postgres connection string")?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if wants_tls(&config) {
        let tls = tls_connector(settings.ca_file.as_deref())?;
        Manager::from_config(config, tls, manager_config)
    } else {
        Manager::from_config(config, tokio_postgres::NoTls, manager_config)
    };
    Pool::builder(manager)
        .max_size(settings.max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .context("building the database pool")
}

fn wants_tls(config: &tokio_postgres::Config) -> bool {
    let local = config.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => {
            name == "localhost" || IpAddr::from_str(name).is_ok_and(|ip| ip.is_loopback())
        }
        Host::Unix(_) => true,
    });
    match config.get_ssl_mode() {
        SslMode::Disable => false,
        SslMode::Require => true,
        _ => !local,
    }
}

fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading DATABASE_CA_FILE {}", path.display()))?
        {
            let cert =
                cert.with_context(|| format!("parsing DATABASE_CA_FILE {}", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("adding a root from {}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Apply every pending migration from `migrations/` (embedded at build time).
pub async fn migrate(pool: &Pool) -> anyhow::Result<Vec<String>> {
    let mut client = pool.get().await.context("connecting to run migrations")?;
    let client: &mut tokio_postgres::Client = &mut client;
    let report = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(client)
        .await
        .context("applying migrations")?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// Name and checksum of every embedded migration; tests key their template database on it so
/// a changed migration never reuses a stale template.
pub fn migrations_fingerprint() -> u64 {
    embedded::migrations::runner().get_migrations().iter().fold(
        0xcbf2_9ce4_8422_2325_u64,
        |acc, m| {
            (acc ^ m.checksum()).wrapping_mul(0x0100_0000_01b3)
                ^ u64::from(m.version().unsigned_abs())
        },
    )
}
