//! Gates in the studio: access-code batches of a release, events and their check-in tokens,
//! and the release's share token.

use axum::Json;
use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hound_domain::catalog::{self, ShareToken};
use hound_domain::gates::{self, Batches, CheckinToken, Event, IssuedCodes, NewCodes, NewEvent};
use hound_domain::ids::{BatchId, EventId, ReleaseId};
use hound_http::{ApiError, Bearer, Db, JsonBody, PathId, PathIds, commit};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, as_artist};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_codes, issue_codes))
        .routes(routes!(revoke_codes))
        .routes(routes!(create_event))
        .routes(routes!(event_token))
        .routes(routes!(rotate_share_token))
}

/// Whether the client asked for the codes as CSV (`Accept: text/csv`).
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            media.eq_ignore_ascii_case("text/csv") && !refused
        })
}

/// The codes as a spreadsheet: one row per code with its batch's terms.
fn codes_csv(issued: &IssuedCodes) -> Result<Response, ApiError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let expires = issued
        .batch
        .expires_at
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let write = |out: &mut csv::Writer<Vec<u8>>| -> csv::Result<()> {
        out.write_record(["code", "batch_id", "release_id", "max_uses", "expires_at"])?;
        for code in &issued.codes {
            out.write_record([
                code.as_str(),
                &issued.batch.id.to_string(),
                &issued.batch.release_id.to_string(),
                &issued.batch.max_uses.to_string(),
                &expires,
            ])?;
        }
        out.flush()?;
        Ok(())
    };
    write(&mut out).map_err(|e| {
        tracing::error!(error = %e, "writing codes CSV");
        ApiError::internal()
    })?;
    let body = out.into_inner().map_err(|e| {
        tracing::error!(error = %e, "writing codes CSV");
        ApiError::internal()
    })?;
    let disposition = format!("attachment; filename=\"codes-{}.csv\"", issued.batch.id);
    Ok((
        StatusCode::CREATED,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(|_| ApiError::internal())?,
            ),
        ],
        body,
    )
        .into_response())
}

/// Issue a batch of access codes for one of the artist's releases. The codes are shown in this
/// answer only (as CSV with `Accept: text/csv`); the server keeps keyed hashes.
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/codes", operation_id = "issue_codes", params(("release_id" = Uuid, Path, description = "The release.")), request_body = NewCodes, security(("bearer" = [])), responses(
    (status = 201, description = "The batch and its codes, shown once.", content(
        (IssuedCodes = "application/json"),
        (String = "text/csv"),
    )),
))]
async fn issue_codes(
    bearer: Bearer,
    mut db: Db,
    State(state): State<AppState>,
    headers: HeaderMap,
    PathId(release): PathId<ReleaseId>,
    JsonBody(input): JsonBody<NewCodes>,
) -> Result<Response, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let issued = gates::issue_codes(&tx, &state.code_keys, artist, release, input).await?;
    commit(tx).await?;
    if wants_csv(&headers) {
        codes_csv(&issued)
    } else {
        Ok((StatusCode::CREATED, Json(issued)).into_response())
    }
}

/// The release's code batches, newest first, with how much each has been used (never a code).
#[utoipa::path(get, path = "/v1/studio/releases/{release_id}/codes", operation_id = "list_code_batches", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The batches.", body = Batches),
))]
async fn list_codes(
    bearer: Bearer,
    mut db: Db,
    PathId(release): PathId<ReleaseId>,
) -> Result<Json<Batches>, ApiError> {
    let (tx, _) = as_artist(&mut db, &bearer).await?;
    let batches = gates::list_batches(&tx, release).await?;
    commit(tx).await?;
    Ok(Json(batches))
}

/// Revoke a batch: its codes stop redeeming; what they granted stays granted.
#[utoipa::path(delete, path = "/v1/studio/releases/{release_id}/codes/{batch_id}", operation_id = "revoke_code_batch", params(("release_id" = Uuid, Path, description = "The release."), ("batch_id" = Uuid, Path, description = "The batch.")), security(("bearer" = [])), responses(
    (status = 204, description = "Revoked (or already revoked)."),
))]
async fn revoke_codes(
    bearer: Bearer,
    mut db: Db,
    PathIds(release, batch): PathIds<ReleaseId, BatchId>,
) -> Result<StatusCode, ApiError> {
    let (tx, _) = as_artist(&mut db, &bearer).await?;
    gates::revoke_batch(&tx, release, batch).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an event listeners check in at, optionally at a place and granting a release.
#[utoipa::path(post, path = "/v1/studio/events", operation_id = "create_event", request_body = NewEvent, security(("bearer" = [])), responses(
    (status = 201, description = "The event.", body = Event),
))]
async fn create_event(
    bearer: Bearer,
    mut db: Db,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<NewEvent>,
) -> Result<(StatusCode, Json<Event>), ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let event = gates::create_event(&tx, &state.event_keys, artist, input).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// The event's current check-in token (it rotates every 30 s; a check-in also accepts the one
/// before).
#[utoipa::path(get, path = "/v1/studio/events/{event_id}/token", operation_id = "event_token", params(("event_id" = Uuid, Path, description = "The event.")), security(("bearer" = [])), responses(
    (status = 200, description = "The token and when it rotates.", body = CheckinToken),
))]
async fn event_token(
    bearer: Bearer,
    mut db: Db,
    State(state): State<AppState>,
    PathId(event): PathId<EventId>,
) -> Result<Json<CheckinToken>, ApiError> {
    let (tx, _) = as_artist(&mut db, &bearer).await?;
    let token =
        gates::current_token(&tx, &state.event_keys, event, OffsetDateTime::now_utc()).await?;
    commit(tx).await?;
    Ok(Json(token))
}

/// Give the release a new share token; links with the old one stop working.
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/share-token", operation_id = "rotate_share_token", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The new share token.", body = ShareToken),
))]
async fn rotate_share_token(
    bearer: Bearer,
    mut db: Db,
    PathId(release): PathId<ReleaseId>,
) -> Result<Json<ShareToken>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let token = catalog::rotate_share_token(&tx, artist, release).await?;
    commit(tx).await?;
    Ok(Json(token))
}
