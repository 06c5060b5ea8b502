//! How a message's work stops short: a retry (deliver it again) or, inside the pipeline, a
//! refused file or a lost lease.

use hound_domain::aws::Unavailable;
use hound_domain::db::DbError;
use hound_domain::jobs::StepName;
use hound_media::{MediaError, Refusal};

/// A message the worker cannot finish now: it should be delivered again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Retry(pub String);

impl From<DbError> for Retry {
    fn from(e: DbError) -> Self {
        Retry(format!("database: {e}"))
    }
}

impl From<tokio_postgres::Error> for Retry {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<Unavailable> for Retry {
    fn from(e: Unavailable) -> Self {
        Retry(e.to_string())
    }
}

/// How the pipeline stopped early.
pub(crate) enum Failure {
    /// The file is refused for good at this step.
    Refused(Refusal, StepName),
    /// Another worker took the job over.
    LeaseLost,
    /// The uploaded object is no longer the one that was completed.
    Changed,
    Retry(Retry),
}

impl Failure {
    pub(crate) fn media(e: MediaError, step: StepName) -> Self {
        match e {
            MediaError::Refused(r) => Failure::Refused(r, step),
            MediaError::Tool(message) => Failure::Retry(Retry(message)),
        }
    }
}

impl<E: Into<Retry>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Retry(e.into())
    }
}
