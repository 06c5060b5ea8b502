//! Upload intents, completion, and job progress.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hound_domain::assets::AssetKind;
use hound_domain::ids::{AssetId, JobId, ReleaseId};
use hound_domain::jobs::{self, Job};
use hound_domain::uploads::{self, Completed, IntentResponse, UploadIntent};
use hound_http::{ApiError, Bearer, Db, JsonBody, PathId, commit};

use crate::{AppState, as_artist};

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
    bearer: Bearer,
    mut db: Db,
    release: ReleaseId,
    kind: AssetKind,
    intent: UploadIntent,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let response =
        uploads::create_intent(&tx, &state.storage, artist, release, kind, intent).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

async fn master_intent(
    State(state): State<AppState>,
    bearer: Bearer,
    db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(body): JsonBody<UploadIntent>,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    intent(state, bearer, db, release, AssetKind::Master, body).await
}

async fn cover_intent(
    State(state): State<AppState>,
    bearer: Bearer,
    db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(body): JsonBody<UploadIntent>,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    intent(state, bearer, db, release, AssetKind::Cover, body).await
}

async fn complete(
    State(state): State<AppState>,
    bearer: Bearer,
    mut db: Db,
    PathId(asset): PathId<AssetId>,
) -> Result<(StatusCode, Json<Completed>), ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let (completed, message) = uploads::complete(&tx, &state.storage, artist, asset).await?;
    commit(tx).await?;
    let Some(message) = message else {
        return Ok((StatusCode::OK, Json(completed)));
    };
    // Only now, committed, may a worker see the job its message names. If SQS refuses, the
    // job waits, not enqueued, for the next complete (in a transaction of its own).
    let (tx, _) = db.begin_as(&bearer).await?;
    let sent = uploads::enqueue(&tx, &state.queue, &message).await;
    // Committed either way: a refused send takes the enqueued mark back.
    commit(tx).await?;
    sent?;
    Ok((StatusCode::ACCEPTED, Json(completed)))
}

async fn job(
    bearer: Bearer,
    mut db: Db,
    PathId(job): PathId<JobId>,
) -> Result<Json<Job>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let job = jobs::read_for_artist(&tx, artist, job)
        .await?
        .ok_or_else(ApiError::not_found)?;
    commit(tx).await?;
    Ok(Json(job))
}
