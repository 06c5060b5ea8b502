//! Errors of the gates, in their own words; the HTTP crate maps them to statuses.

use crate::db::DbError;
use crate::fields::{self, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Unknown, revoked, or not the caller's to see: the same answer either way.
    #[error("not found")]
    NotFound,
    /// The code's batch has expired.
    #[error("expired")]
    Expired,
    /// Already done, or used up; `code` says which.
    #[error("{code}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    /// Not allowed now or here (outside the event's window or place, a wrong token); `reason`
    /// says which.
    #[error("forbidden: {reason}")]
    Forbidden {
        reason: &'static str,
        message: &'static str,
    },
    /// Too many failed attempts at this gate; try again after this many seconds.
    #[error("throttled")]
    Throttled { retry_after_secs: u64 },
    /// A server key cannot do its work (a key removed while rows still name it).
    #[error(transparent)]
    Internal(anyhow::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for GateError {
    fn from(err: tokio_postgres::Error) -> Self {
        GateError::Db(err.into())
    }
}

/// A ledger error while granting credits: the database's, or a server fault (a credits grant
/// neither overdraws nor conflicts: the redemption row already makes it once per listener).
impl From<crate::money::MoneyError> for GateError {
    fn from(err: crate::money::MoneyError) -> Self {
        match err {
            crate::money::MoneyError::Db(db) => GateError::Db(db),
            other => GateError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<FieldErrors> for GateError {
    fn from(fields: FieldErrors) -> Self {
        GateError::Invalid(fields)
    }
}

impl GateError {
    pub(crate) fn field(name: &'static str, problem: impl Into<String>) -> Self {
        GateError::Invalid(fields::one(name, problem))
    }

    /// Whether this refusal counts toward the caller's failure budget at the gate: guesses
    /// (unknown, revoked or expired codes; wrong event tokens) do, mistakes of state do not.
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            GateError::NotFound
                | GateError::Expired
                | GateError::Forbidden {
                    reason: "invalid_token",
                    ..
                }
        )
    }
}

/// The end of a gate's request. A refusal that counts as a failure is kept: the handler
/// commits, then answers the error (as `auth::Verdict` does for logins).
pub enum Outcome<T> {
    Granted(T),
    Refused(GateError),
}

impl<T> Outcome<T> {
    /// The answer, once the transaction has been committed.
    pub fn into_result(self) -> Result<T, GateError> {
        match self {
            Outcome::Granted(value) => Ok(value),
            Outcome::Refused(err) => Err(err),
        }
    }
}
