//! Ids from the path. A segment that is not a UUID names nothing, so it answers 404 like any
//! other id the caller cannot see.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;

/// The one id in the path.
pub struct PathId(pub Uuid);

/// Every id in the path, in order.
pub struct PathIds(pub Vec<Uuid>);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        params
            .iter()
            .map(|(_, value)| value.parse::<Uuid>().map_err(|_| ApiError::not_found()))
            .collect::<Result<Vec<_>, _>>()
            .map(PathIds)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PathIds(ids) = PathIds::from_request_parts(parts, state).await?;
        match ids.as_slice() {
            [id] => Ok(PathId(*id)),
            _ => Err(ApiError::not_found()),
        }
    }
}
