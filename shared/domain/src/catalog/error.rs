//! Errors of the studio, in its own words; the HTTP crate maps them to statuses.

use serde::Serialize;

use crate::auth::AuthError;
use crate::aws::Unavailable;
use crate::db::DbError;
use crate::fields::{self, FieldErrors};
use crate::ids::TrackId;

#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// The caller is not an artist.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{code}: {message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error("release not ready")]
    NotReady(Vec<Problem>),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for StudioError {
    fn from(err: tokio_postgres::Error) -> Self {
        StudioError::Db(err.into())
    }
}

impl From<FieldErrors> for StudioError {
    fn from(fields: FieldErrors) -> Self {
        StudioError::Invalid(fields)
    }
}

impl StudioError {
    pub(crate) fn field(name: &'static str, problem: impl Into<String>) -> Self {
        StudioError::Invalid(fields::one(name, problem))
    }

    /// Tracks and uploads of a submitted release no longer change.
    pub(crate) fn locked() -> Self {
        StudioError::Conflict {
            code: "release_locked",
            message: "The release has been submitted; its tracks and uploads can no longer change.",
        }
    }
}

/// One reason a release cannot be submitted, machine-readable.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_id: Option<TrackId>,
}
