//! Upload intents, completion, and job progress.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hound_domain::assets::AssetKind;
use hound_domain::ids::{AssetId, JobId, ReleaseId};
use hound_domain::jobs::{self, Job};
use hound_domain::uploads::{self, Completed, IntentResponse, UploadIntent};
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, JsonBody, PathId, commit};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, as_artist};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(master_intent))
        .routes(routes!(cover_intent))
        .routes(routes!(complete))
        .routes(routes!(job))
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

/// A presigned PUT for a track's master (WAV, FLAC, AIFF, MP3 or ALAC/M4A; ≤ 1 GiB).
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/uploads/master-intent", operation_id = "master_intent", params(("release_id" = Uuid, Path, description = "The release.")), request_body = UploadIntent, security(("bearer" = [])), responses(
    (status = 201, description = "The asset and where to PUT it.", body = IntentResponse),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
async fn master_intent(
    State(state): State<AppState>,
    bearer: Bearer,
    db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(body): JsonBody<UploadIntent>,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    intent(state, bearer, db, release, AssetKind::Master, body).await
}

/// A presigned PUT for the release's cover (JPEG or PNG; ≤ 20 MB).
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/uploads/cover-intent", operation_id = "cover_intent", params(("release_id" = Uuid, Path, description = "The release.")), request_body = UploadIntent, security(("bearer" = [])), responses(
    (status = 201, description = "The asset and where to PUT it.", body = IntentResponse),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
async fn cover_intent(
    State(state): State<AppState>,
    bearer: Bearer,
    db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(body): JsonBody<UploadIntent>,
) -> Result<(StatusCode, Json<IntentResponse>), ApiError> {
    intent(state, bearer, db, release, AssetKind::Cover, body).await
}

/// Tell the studio an upload finished: the stored object is checked and a transcode job queued.
#[utoipa::path(post, path = "/v1/studio/uploads/{asset_id}/complete", operation_id = "complete_upload", params(("asset_id" = Uuid, Path, description = "The asset.")), security(("bearer" = [])), responses(
    (status = 202, description = "The job was queued.", body = Completed),
    (status = 200, description = "Already completed: the same job.", body = Completed),
    (status = 409, description = "The object is missing or differs from the intent, or the release no longer takes uploads.", body = ErrorEnvelope),
))]
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

/// A transcode job's progress, step by step.
#[utoipa::path(get, path = "/v1/studio/jobs/{job_id}", operation_id = "get_job", params(("job_id" = Uuid, Path, description = "The job.")), security(("bearer" = [])), responses(
    (status = 200, description = "The job.", body = Job),
))]
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
