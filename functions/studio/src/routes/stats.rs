//! Artist stats of a release, from the daily rollups.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use hound_domain::stats::{self, ReleaseStats, StatsQuery};
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, as_artist};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(release_stats))
}

/// Per day counted plays, unique listeners, completion rate and saves of one of the artist's
/// releases, and its top tracks (a range of at most 366 days; default the last 30).
#[utoipa::path(get, path = "/v1/studio/stats", operation_id = "release_stats", params(StatsQuery), security(("bearer" = [])), responses(
    (status = 200, description = "The release's days and top tracks.", body = ReleaseStats),
    (status = 400, description = "A missing or malformed `release_id`, a malformed date, or a range backwards or over 366 days.", body = ErrorEnvelope),
    (status = 404, description = "No such release of the artist's.", body = ErrorEnvelope),
))]
async fn release_stats(
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<ReleaseStats>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let (tx, _artist) = as_artist(&mut db, &bearer).await?;
    let stats = stats::release_stats(&tx, &query).await?;
    commit(tx).await?;
    Ok(Json(stats))
}
