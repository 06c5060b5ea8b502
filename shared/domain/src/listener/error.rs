//! Errors of the listener area, in its own words; the HTTP crate maps them to statuses.

use super::stream::Gated;
use crate::aws::Unavailable;
use crate::db::DbError;
use crate::fields::{self, FieldErrors};

/// Errors of the listener area, in its own words; `ApiError` maps them to statuses.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Not there, or not visible to this caller: the same answer either way.
    #[error("not found")]
    NotFound,
    /// The album page shows, but streaming needs an entitlement of this kind; the track's
    /// previews are what the caller may hear.
    #[error("gated by {:?}", .0.gate)]
    Gated(Gated),
    /// The track has no complete rendition yet.
    #[error("not ready")]
    NotReady,
    /// The request conflicts with what is stored (a limit, a name, a duplicate); `code` says
    /// which.
    #[error("{code}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for ListenerError {
    fn from(err: tokio_postgres::Error) -> Self {
        ListenerError::Db(err.into())
    }
}

impl From<FieldErrors> for ListenerError {
    fn from(fields: FieldErrors) -> Self {
        ListenerError::Invalid(fields)
    }
}

impl ListenerError {
    pub(crate) fn field(name: &'static str, problem: impl Into<String>) -> Self {
        ListenerError::Invalid(fields::one(name, problem))
    }
}
