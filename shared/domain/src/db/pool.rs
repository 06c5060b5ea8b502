//! The Postgres pool: TLS for managed databases, and the role a function connects as.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::{Host, SslMode};

use super::error::DbError;

pub use deadpool_postgres::{GenericClient, Object as PooledClient, Pool, Transaction as Tx};

/// Pool settings; the URL is a secret (it usually carries a password).
pub struct PoolSettings {
    pub url: SecretString,
    pub max_size: usize,
    /// Extra PEM roots to trust, e.g. the RDS CA bundle.
    pub ca_file: Option<std::path::PathBuf>,
    /// Connect as this role whatever user the URL names (`db::roles`).
    pub role: Option<&'static str>,
}

impl PoolSettings {
    /// `DATABASE_URL` (secret), `DB_POOL_SIZE` (default 4), `DATABASE_CA_FILE` (optional PEM).
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            url: SecretString::from(crate::config::required_var("DATABASE_URL")?),
            max_size: crate::config::optional_var_parsed("DB_POOL_SIZE")?.unwrap_or(4),
            ca_file: crate::config::optional_var("DATABASE_CA_FILE")?.map(Into::into),
            role: None,
        })
    }

    /// A function's settings: `DATABASE_URL` with the function's own role as the user. In AWS
    /// the URL (its own secret) names that role already, with its password; locally one URL
    /// serves every function and each connects as itself. A function never runs as an owner.
    pub fn for_function(role: &'static str) -> anyhow::Result<Self> {
        Ok(Self {
            role: Some(role),
            ..Self::from_env()?
        })
    }
}

/// The pool of `DATABASE_URL`, as its user (operators' tools: migrate, seed, dlq).
pub fn pool_from_env() -> anyhow::Result<Pool> {
    pool(&PoolSettings::from_env()?)
}

/// Build the pool. No connection is opened until the first checkout.
///
/// TLS: `sslmode=disable` means plaintext. Otherwise a loopback or Unix-socket host gets
/// plaintext unless `sslmode=require` (local servers carry self-signed certificates), and any
/// other host gets TLS verified against the web PKI roots plus `ca_file`.
pub fn pool(settings: &PoolSettings) -> anyhow::Result<Pool> {
    let mut config = tokio_postgres::Config::from_str(settings.url.expose_secret())
        .context("DATABASE_URL is not a valid Postgres connection string")?;
    if let Some(role) = settings.role {
        config.user(role);
    }
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

/// Open the one transaction of a unit of work on `client`. Dropped without `commit`, it rolls
/// back.
pub async fn begin(client: &mut PooledClient) -> Result<Tx<'_>, DbError> {
    Ok(client.transaction().await?)
}

/// Check a connection out of the pool.
pub async fn connect(pool: &Pool) -> Result<PooledClient, DbError> {
    Ok(pool.get().await?)
}

/// The schema's own types (enums, domains, extensions' types), as `format_type` names them.
const OWN_TYPES: &str = "
    SELECT format_type(t.oid, NULL) FROM pg_type t
     WHERE t.typnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
       AND t.typtype IN ('b', 'd', 'e', 'r', 'm')
       AND has_schema_privilege(t.typnamespace, 'USAGE') AND has_type_privilege(t.oid, 'USAGE')";

/// Check a connection out for a transaction pooler (PgBouncer `pool_mode = transaction`, with
/// `DEALLOCATE ALL` after each transaction), where a prepared statement lives only as long as
/// the transaction that prepared it. The statements the connection cached are forgotten, so
/// `prepare_cached` prepares them again inside the caller's transaction. A new connection first
/// loads the schema's own types in a transaction of its own: the driver keeps the statements it
/// looks types up with for the connection's life, and one used in a later transaction would be
/// gone. The caller runs every statement inside a transaction.
pub async fn connect_pooled(pool: &Pool) -> Result<PooledClient, DbError> {
    let mut client = pool.get().await?;
    client.statement_cache.clear();
    if PooledClient::metrics(&client).recycle_count == 0
        && let Err(err) = load_types(&mut client).await
    {
        // Not back into the pool half-ready.
        drop(PooledClient::take(client));
        return Err(err);
    }
    Ok(client)
}

async fn load_types(client: &mut PooledClient) -> Result<(), DbError> {
    let names: Vec<String> = client
        .simple_query(OWN_TYPES)
        .await?
        .into_iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let columns: Vec<String> = names.iter().map(|name| format!("NULL::{name}")).collect();
    let tx = client.transaction().await?;
    // Preparing describes the columns: every type is looked up, then cached by the driver.
    tx.prepare(&format!("SELECT {}", columns.join(", ")))
        .await?;
    tx.rollback().await?;
    Ok(())
}
