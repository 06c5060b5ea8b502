//! Mixes (API.md, Listener: mixes).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use hound_domain::ids::MixId;
use hound_domain::listener::{self, Mix, MixFields};
use hound_domain::paging::Page;
use hound_http::{ApiError, Bearer, Db, JsonBody, PathId, commit};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, replace, remove))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MixesQuery {
    /// Only the caller's own mixes (needs a token).
    mine: Option<bool>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1–100.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// Public mixes and, with a token, the caller's own, newest first.
#[utoipa::path(get, path = "/v1/listener/mixes", operation_id = "list_mixes",
    params(MixesQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "A page of mixes.", body = Page<Mix>)),
)]
async fn list(
    bearer: Option<Bearer>,
    mut db: Db,
    query: Result<Query<MixesQuery>, QueryRejection>,
) -> Result<Json<Page<Mix>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let mine = query.mine.unwrap_or(false);
    if mine && bearer.is_none() {
        return Err(ApiError::unauthorized("`mine` needs a bearer token."));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), None).await?;
    let viewer = caller.map(|c| c.user_id);
    let page =
        listener::list_mixes(&tx, viewer, mine, query.cursor.as_deref(), query.limit).await?;
    commit(tx).await?;
    Ok(Json(page))
}

/// Save a mix of 1–16 layers of tracks the caller reaches.
#[utoipa::path(post, path = "/v1/listener/mixes", operation_id = "create_mix",
    request_body = MixFields, security(("bearer" = [])),
    responses((status = 201, description = "The mix (read it for its layers).", body = Mix)),
)]
async fn create(
    bearer: Bearer,
    mut db: Db,
    JsonBody(fields): JsonBody<MixFields>,
) -> Result<(StatusCode, Json<Mix>), ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let mix = listener::create_mix(&tx, caller.user_id, fields).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(mix)))
}

/// A mix with each layer's renditions (or `available: false`): public, or the caller's own.
#[utoipa::path(get, path = "/v1/listener/mixes/{mix_id}", operation_id = "get_mix",
    params(("mix_id" = Uuid, Path, description = "The mix.")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The mix and its layers.", body = Mix)),
)]
async fn show(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(id): PathId<MixId>,
) -> Result<Json<Mix>, ApiError> {
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), None).await?;
    let viewer = caller.map(|c| c.user_id);
    let mix = listener::get_mix(&tx, &state.media, viewer, id).await?;
    commit(tx).await?;
    Ok(Json(mix))
}

/// Replace one of the caller's mixes.
#[utoipa::path(put, path = "/v1/listener/mixes/{mix_id}", operation_id = "replace_mix",
    params(("mix_id" = Uuid, Path, description = "The mix.")),
    request_body = MixFields, security(("bearer" = [])),
    responses((status = 200, description = "The mix.", body = Mix)),
)]
async fn replace(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<MixId>,
    JsonBody(fields): JsonBody<MixFields>,
) -> Result<Json<Mix>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let mix = listener::replace_mix(&tx, caller.user_id, id, fields).await?;
    commit(tx).await?;
    Ok(Json(mix))
}

/// Delete one of the caller's mixes.
#[utoipa::path(delete, path = "/v1/listener/mixes/{mix_id}", operation_id = "delete_mix",
    params(("mix_id" = Uuid, Path, description = "The mix.")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted.")),
)]
async fn remove(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<MixId>,
) -> Result<StatusCode, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    listener::delete_mix(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}
