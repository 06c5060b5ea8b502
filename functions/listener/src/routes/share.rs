//! `?share_token=…` on album and stream requests.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use hound_http::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ShareQuery {
    /// The release's share token, for an `unlisted` release.
    share_token: Option<String>,
}

/// The share token the client presented, if any (an empty one is none).
pub(super) fn share_token(
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Option<String>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    Ok(query.share_token.filter(|token| !token.is_empty()))
}
