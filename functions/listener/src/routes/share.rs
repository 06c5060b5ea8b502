//! `?share_token=…` on album and stream requests: with the caller, who is asking.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use hound_domain::auth::Caller;
use hound_domain::listener::Viewer;
use hound_http::ApiError;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct ShareQuery {
    share_token: Option<String>,
}

/// The viewer of a request: its caller (if any) and the share token it presented (if any).
pub(super) fn viewer(
    caller: Option<&Caller>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Viewer, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    Ok(Viewer::new(caller.map(|c| c.user_id), query.share_token))
}
