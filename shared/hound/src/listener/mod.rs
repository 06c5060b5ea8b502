//! What listeners see and do: home, album pages, streams, telemetry, saves and the library.
//! Who sees what is one rule, `release_reach()` in SQL (migrations/V4__listener.sql), used by
//! every query here; this module turns its answer into 404 / 403 `gated` / 200.

mod album;
mod home;
mod library;
mod media;
mod stream;
mod telemetry;

use postgres_types::FromSql;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use album::*;
pub use home::*;
pub use library::*;
pub use media::*;
pub use stream::*;
pub use telemetry::*;

use crate::catalog::Access;
use crate::db::DbError;
use crate::error::FieldErrors;
use crate::storage::Unavailable;

/// Errors of the listener area, in its own words; `ApiError` maps them to statuses.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Not there, or not visible to this caller: the same answer either way.
    #[error("not found")]
    NotFound,
    /// The album page shows, but streaming needs an entitlement of this kind.
    #[error("gated by {0:?}")]
    Gated(Access),
    /// The track has no complete rendition yet.
    #[error("not ready")]
    NotReady,
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

impl From<deadpool_postgres::PoolError> for ListenerError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        ListenerError::Db(err.into())
    }
}

impl ListenerError {
    pub(crate) fn field(name: &'static str, problem: impl Into<String>) -> Self {
        ListenerError::Invalid(FieldErrors::from([(name, problem.into())]))
    }
}

/// How far a caller reaches into a release (SQL `release_reach`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSql)]
#[postgres(name = "release_reach", rename_all = "snake_case")]
pub enum Reach {
    /// 404: not published (and not theirs), or unlisted without the token.
    Hidden,
    /// The album page shows; streams answer 403 `gated`.
    Page,
    /// Everything.
    Stream,
}

/// Who is asking: an account (or nobody) and the share token they presented, if any.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user_id: Option<Uuid>,
    pub share_token: Option<String>,
}

impl Viewer {
    pub fn new(user_id: Option<Uuid>, share_token: Option<String>) -> Self {
        Self {
            user_id,
            share_token: share_token.filter(|t| !t.is_empty()),
        }
    }
}

/// The artist on a card or an album page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtistCard {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}
