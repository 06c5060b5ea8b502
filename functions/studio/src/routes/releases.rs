//! Releases and their lifecycle.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hound_domain::catalog::{self, Release, ReleaseFields};
use hound_domain::ids::ReleaseId;
use hound_domain::paging::Page;
use hound_http::{ApiError, Bearer, Db, JsonBody, OptionalJsonBody, PageQuery, PathId, commit};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::{AppState, as_artist};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/studio/releases", get(list).post(create))
        .route(
            "/v1/studio/releases/{release_id}",
            get(show).patch(update).delete(remove),
        )
        .route("/v1/studio/releases/{release_id}/submit", post(submit))
        .route("/v1/studio/releases/{release_id}/publish", post(publish))
}

#[derive(Deserialize, Default)]
struct PublishBody {
    #[serde(default, with = "time::serde::rfc3339::option")]
    publish_at: Option<OffsetDateTime>,
}

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
