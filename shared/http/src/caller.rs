//! `Bearer` as an axum extractor: a route that takes a `Bearer` requires an access token whose
//! signature, issuer and expiry check out, and answers 401 otherwise; `Option<Bearer>` is
//! anonymous without an Authorization header and 401 with a bad one. Whether its session is
//! still live is checked inside the request's transaction ([`crate::Db::begin_as`]), which is
//! the only way to a `Caller`.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use hound_domain::auth::{self, AccessClaims};

use crate::backend::Backend;
use crate::error::ApiError;

/// A verified access token (its session not yet checked).
pub struct Bearer(pub(crate) AccessClaims);

fn verify(parts: &Parts, backend: &Backend) -> Result<Bearer, ApiError> {
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    Ok(Bearer(auth::verify_bearer(backend.keys(), authorization)?))
}

impl<S> FromRequestParts<S> for Bearer
where
    Backend: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        verify(parts, &Backend::from_ref(state))
    }
}

impl<S> OptionalFromRequestParts<S> for Bearer
where
    Backend: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        verify(parts, &Backend::from_ref(state)).map(Some)
    }
}
