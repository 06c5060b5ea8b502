//! Typed configuration from the environment. A missing or malformed variable is an error that
//! names the variable; secrets are wrapped so they cannot be logged by accident.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use secrecy::SecretString;

use crate::auth::JwtKeys;
use crate::db::PoolSettings;

/// What every HTTP function needs at cold start.
pub struct Config {
    pub database: PoolSettings,
    pub jwt_keys: Arc<JwtKeys>,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            database: database_from_env()?,
            jwt_keys: Arc::new(jwt_keys_from_env()?),
        })
    }
}

/// `DATABASE_URL` (secret), `DB_POOL_SIZE` (default 4), `DATABASE_CA_FILE` (optional PEM).
pub fn database_from_env() -> anyhow::Result<PoolSettings> {
    Ok(PoolSettings {
        url: SecretString::from(required_var("DATABASE_URL")?),
        max_size: optional_var_parsed("DB_POOL_SIZE")?.unwrap_or(4),
        ca_file: optional_var("DATABASE_CA_FILE")?.map(Into::into),
    })
}

/// `JWT_KEYS`: the signing keyset as JSON (see `hound jwt-keygen`).
pub fn jwt_keys_from_env() -> anyhow::Result<JwtKeys> {
    let json = required_var("JWT_KEYS")?;
    JwtKeys::from_json(&json).context("JWT_KEYS")
}

pub fn required_var(name: &str) -> anyhow::Result<String> {
    optional_var(name)?
        .ok_or_else(|| anyhow!("environment variable {name} is required but not set"))
}

pub fn optional_var(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(anyhow!("environment variable {name} is not valid UTF-8"))
        }
    }
}

pub fn optional_var_parsed<T>(name: &str) -> anyhow::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    optional_var(name)?
        .map(|value| {
            value
                .trim()
                .parse()
                .with_context(|| format!("environment variable {name} has an invalid value"))
        })
        .transpose()
}
