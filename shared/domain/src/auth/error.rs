//! The auth area's errors, in its own words (the HTTP crate maps them to statuses), and the
//! verdict of an attempt that is recorded whether it succeeds or not.

use crate::db::DbError;
use crate::fields::FieldErrors;

use super::role::Role;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid input")]
    Invalid {
        code: &'static str,
        fields: FieldErrors,
    },
    #[error("email taken")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed logins")]
    Throttled { retry_after_secs: u64 },
    #[error("role {0:?} required")]
    RoleRequired(Role),
    #[error("no credentials")]
    MissingCredentials,
    #[error("bad token")]
    BadToken,
    #[error("token expired")]
    TokenExpired,
    #[error("session ended")]
    SessionEnded,
    #[error("refresh token reused")]
    RefreshTokenReused,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(#[source] anyhow::Error),
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(err: tokio_postgres::Error) -> Self {
        AuthError::Db(err.into())
    }
}

/// The outcome of an attempt whose traces must be kept either way: the transaction is committed
/// whether access was granted or refused (a failed login counts toward the throttle; a reused
/// refresh token revokes its session).
#[derive(Debug)]
pub enum Verdict<T> {
    Granted(T),
    Refused(AuthError),
}

impl<T> Verdict<T> {
    /// The answer, once the transaction has been committed.
    pub fn into_result(self) -> Result<T, AuthError> {
        match self {
            Verdict::Granted(value) => Ok(value),
            Verdict::Refused(err) => Err(err),
        }
    }
}
