//! Releases and their lifecycle.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::catalog::{self, Page, Release, ReleaseFields};
use hound::http::{JsonBody, OptionalJsonBody, PathId};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::AppState;

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

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize, Default)]
struct PublishBody {
    #[serde(default, with = "time::serde::rfc3339::option")]
    publish_at: Option<OffsetDateTime>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Release>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let artist = state.artist(&caller).await?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    let page =
        catalog::list_releases(&client, artist, query.cursor.as_deref(), query.limit).await?;
    Ok(Json(page))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(fields): JsonBody<ReleaseFields>,
) -> Result<(StatusCode, Json<Release>), ApiError> {
    let artist = state.artist(&caller).await?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    let release = catalog::create_release(&client, artist, fields).await?;
    Ok((StatusCode::CREATED, Json(release)))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Release>, ApiError> {
    let artist = state.artist(&caller).await?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    Ok(Json(catalog::get_release(&client, artist, id).await?))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    JsonBody(fields): JsonBody<ReleaseFields>,
) -> Result<Json<Release>, ApiError> {
    let artist = state.artist(&caller).await?;
    Ok(Json(
        catalog::update_release(&state.pool, artist, id, fields).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let artist = state.artist(&caller).await?;
    catalog::delete_release(&state.pool, artist, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Release>, ApiError> {
    let artist = state.artist(&caller).await?;
    Ok(Json(
        catalog::submit_release(&state.pool, artist, id).await?,
    ))
}

async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    OptionalJsonBody(body): OptionalJsonBody<PublishBody>,
) -> Result<Json<Release>, ApiError> {
    let artist = state.artist(&caller).await?;
    let publish_at = body.unwrap_or_default().publish_at;
    Ok(Json(
        catalog::publish_release(&state.pool, artist, id, publish_at).await?,
    ))
}
