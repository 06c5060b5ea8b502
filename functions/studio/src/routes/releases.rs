//! Releases and their lifecycle.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use hound_domain::catalog::{self, Release, ReleaseFields};
use hound_domain::ids::ReleaseId;
use hound_domain::paging::Page;
use hound_http::{
    ApiError, Bearer, Db, ErrorEnvelope, JsonBody, OptionalJsonBody, PageQuery, PathId, commit,
};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, as_artist};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(submit))
        .routes(routes!(publish))
        .routes(routes!(withdraw))
}

#[derive(Deserialize, Default, ToSchema)]
struct PublishBody {
    /// When to publish; absent or past: now. A future time schedules the release.
    #[serde(default, with = "time::serde::rfc3339::option")]
    publish_at: Option<OffsetDateTime>,
}

/// The artist's releases, newest first.
#[utoipa::path(get, path = "/v1/studio/releases", operation_id = "list_releases", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of releases.", body = Page<Release>),
))]
async fn list(
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Release>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let page = catalog::list_releases(&tx, artist, query.cursor.as_deref(), query.limit).await?;
    commit(tx).await?;
    Ok(Json(page))
}

/// Create a draft release.
#[utoipa::path(post, path = "/v1/studio/releases", operation_id = "create_release", request_body = ReleaseFields, security(("bearer" = [])), responses(
    (status = 201, description = "The new release, `status: draft`.", body = Release),
))]
async fn create(
    bearer: Bearer,
    mut db: Db,
    JsonBody(fields): JsonBody<ReleaseFields>,
) -> Result<(StatusCode, Json<Release>), ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let release = catalog::create_release(&tx, artist, fields).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(release)))
}

/// One of the artist's releases, with its tracks.
#[utoipa::path(get, path = "/v1/studio/releases/{release_id}", operation_id = "get_release", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The release.", body = Release),
))]
async fn show(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
) -> Result<Json<Release>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let release = catalog::get_release(&tx, artist, id).await?;
    commit(tx).await?;
    Ok(Json(release))
}

/// Change some fields of a release (absent fields stay; `null` clears an optional one).
#[utoipa::path(patch, path = "/v1/studio/releases/{release_id}", operation_id = "update_release", params(("release_id" = Uuid, Path, description = "The release.")), request_body = ReleaseFields, security(("bearer" = [])), responses(
    (status = 200, description = "The release as stored.", body = Release),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
async fn update(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
    JsonBody(fields): JsonBody<ReleaseFields>,
) -> Result<Json<Release>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let release = catalog::update_release(&tx, artist, id, fields).await?;
    commit(tx).await?;
    Ok(Json(release))
}

/// Delete a draft release.
#[utoipa::path(delete, path = "/v1/studio/releases/{release_id}", operation_id = "delete_release", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 204, description = "Deleted."),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
async fn remove(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
) -> Result<StatusCode, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    catalog::delete_release(&tx, artist, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Submit a draft that is ready: a title, a processed square cover, and tracks with masters.
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/submit", operation_id = "submit_release", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The release, `status: submitted`.", body = Release),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
    (status = 422, description = "`release_not_ready`; `details.problems` lists every problem.", body = ErrorEnvelope),
))]
async fn submit(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
) -> Result<Json<Release>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let release = catalog::submit_release(&tx, artist, id).await?;
    commit(tx).await?;
    Ok(Json(release))
}

/// Publish a submitted release now, or schedule it.
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/publish", operation_id = "publish_release", params(("release_id" = Uuid, Path, description = "The release.")), request_body = Option<PublishBody>, security(("bearer" = [])), responses(
    (status = 200, description = "The release, `published` or `scheduled`.", body = Release),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
async fn publish(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
    OptionalJsonBody(body): OptionalJsonBody<PublishBody>,
) -> Result<Json<Release>, ApiError> {
    let publish_at = body.unwrap_or_default().publish_at;
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let release = catalog::publish_release(&tx, artist, id, publish_at).await?;
    commit(tx).await?;
    Ok(Json(release))
}

/// Take a scheduled release back before it is published (it is `submitted` again); pre-orders
/// of it are released.
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/withdraw", operation_id = "withdraw_release", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The release, `submitted` again.", body = Release),
    (status = 409, description = "`not_scheduled`: only a scheduled release can be withdrawn.", body = ErrorEnvelope),
))]
async fn withdraw(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
) -> Result<Json<Release>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let release = catalog::withdraw_release(&tx, artist, id).await?;
    commit(tx).await?;
    Ok(Json(release))
}
