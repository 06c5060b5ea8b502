//! Album pages.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use hound_domain::ids::ReleaseId;
use hound_domain::listener::{self, Album, Viewer};
use hound_http::{ApiError, Bearer, Db, PathId, commit};

use super::share::{ShareQuery, share_token};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// A published release (or an unlisted one, with its share token): artist, tracks, cover URLs.
#[utoipa::path(get, path = "/v1/listener/albums/{album_id}", operation_id = "get_album",
    params(("album_id" = Uuid, Path, description = "The release."), ShareQuery),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The album.", body = Album)),
)]
async fn show(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Album>, ApiError> {
    let token = share_token(query)?;
    if bearer.is_none() && token.is_none() && db.can_run_alone() {
        // Nobody in particular: one statement, its own transaction (behind a pooler, the
        // transaction below, with no settings).
        let album = listener::album(db.client(), &state.media, &Viewer::default(), id).await?;
        return Ok(Json(album));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), token.as_deref()).await?;
    let viewer = Viewer::new(caller.map(|c| c.user_id), token);
    let album = listener::album(&tx, &state.media, &viewer, id).await?;
    commit(tx).await?;
    Ok(Json(album))
}
