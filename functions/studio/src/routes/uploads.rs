//! Upload intents, completion, and job progress.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::http::{JsonBody, PathId, PathIds};
use hound::uploads::{self, AssetKind, Completed, IntentResponse, Job, UploadIntent};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/studio/releases/{release_id}/uploads/master-intent",
            post(master_intent),
        )
        .route(
            "/v1/studio/releases/{release_id}/uploads/cover-intent",
            post(cover_intent),
        )
        .route("/v1/studio/uploads/{asset_id}/complete", post(complete))
        .route("/v1/studio/jobs/{job_id}", get(job))
}

async fn intent(
    state: AppState,
    caller: Caller,
    release_id: uuid::Uuid,
    kind: AssetKind,
    intent: UploadIntent,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    let artist = state.artist(&caller).await?;
    let response = uploads::create_intent(
        &state.pool,
        &state.storage,
        artist,
        release_id,
        kind,
        intent,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(response)))
}

async fn master_intent(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(ids): PathIds,
    JsonBody(body): JsonBody<UploadIntent>,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    intent(state, caller, ids[0], AssetKind::Master, body).await
}

async fn cover_intent(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(ids): PathIds,
    JsonBody(body): JsonBody<UploadIntent>,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    intent(state, caller, ids[0], AssetKind::Cover, body).await
}

async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    PathId(asset_id): PathId,
) -> Result<(StatusCode, Json<Completed>), ApiError> {
    let artist = state.artist(&caller).await?;
    let (completed, created) =
        uploads::complete(&state.pool, &state.storage, &state.queue, artist, asset_id).await?;
    let status = if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(completed)))
}

async fn job(
    State(state): State<AppState>,
    caller: Caller,
    PathId(job_id): PathId,
) -> Result<Json<Job>, ApiError> {
    let artist = state.artist(&caller).await?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    Ok(Json(uploads::get_job(&client, artist, job_id).await?))
}
