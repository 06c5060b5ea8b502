//! Typed configuration from the environment. A missing or malformed variable is an error that
//! names the variable; secrets are wrapped so they cannot be logged by accident.

use std::str::FromStr;

use anyhow::{Context as _, anyhow};

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
