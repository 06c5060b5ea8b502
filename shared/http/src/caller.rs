//! `Caller` as an axum extractor: any route that takes a `Caller` requires a valid Bearer token
//! of a live session, and answers 401 otherwise; `Option<Caller>` is anonymous without an
//! Authorization header and 401 with a bad one.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use hound_domain::auth::{self, Caller};

use crate::backend::Backend;
use crate::error::ApiError;

/// The verified caller of a request.
pub struct Authenticated(pub Caller);

async fn authenticate(parts: &Parts, backend: &Backend) -> Result<Caller, ApiError> {
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    let claims = auth::verify_bearer(backend.keys(), authorization)?;
    let db = backend.db().await?;
    Ok(auth::caller(db.client(), claims).await?)
}

impl<S> FromRequestParts<S> for Authenticated
where
    Backend: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, &Backend::from_ref(state))
            .await
            .map(Authenticated)
    }
}

impl<S> OptionalFromRequestParts<S> for Authenticated
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
        authenticate(parts, &Backend::from_ref(state))
            .await
            .map(|caller| Some(Authenticated(caller)))
    }
}
