//! Typed ids from the path. A segment that is not a UUID names nothing, so it answers 404 like
//! any other id the caller cannot see.

use std::str::FromStr;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use crate::error::ApiError;

/// The one id in the path (`PathId<ReleaseId>`).
pub struct PathId<T>(pub T);

/// The two ids in the path, in order (`PathIds<ReleaseId, TrackId>`).
pub struct PathIds<A, B>(pub A, pub B);

async fn segments<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Vec<String>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::not_found())?;
    Ok(params.iter().map(|(_, value)| value.to_owned()).collect())
}

fn id<T: FromStr>(segment: &str) -> Result<T, ApiError> {
    segment.parse().map_err(|_| ApiError::not_found())
}

impl<S: Send + Sync, T: FromStr> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match segments(parts, state).await?.as_slice() {
            [one] => Ok(PathId(id(one)?)),
            _ => Err(ApiError::not_found()),
        }
    }
}

impl<S: Send + Sync, A: FromStr, B: FromStr> FromRequestParts<S> for PathIds<A, B> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match segments(parts, state).await?.as_slice() {
            [a, b] => Ok(PathIds(id(a)?, id(b)?)),
            _ => Err(ApiError::not_found()),
        }
    }
}
