//! The listener's credits: balances and ledger entries, and spending them on a paid release.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use hound_domain::ids::ReleaseId;
use hound_domain::money::{self, Credits, Unlocked};
use hound_domain::paging::PageRequest;
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, PageQuery, PathId, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(credits))
        .routes(routes!(unlock))
}

/// The caller's credits: available, held for pre-orders, owed, and the ledger, newest first.
#[utoipa::path(get, path = "/v1/listener/credits", operation_id = "credits", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "Balances and a page of entries.", body = Credits),
))]
async fn credits(
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Credits>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let page = PageRequest::parse(query.cursor.as_deref(), query.limit, 50)?;
    let (tx, caller) = db.begin_as(&bearer).await?;
    let credits = money::credits(&tx, caller.user_id, page).await?;
    commit(tx).await?;
    Ok(Json(credits))
}

/// Buy a `paid` release with credits: a usage entry and the entitlement, together.
#[utoipa::path(post, path = "/v1/listener/releases/{release_id}/unlock", operation_id = "unlock_release", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The entitlement, and the credits left.", body = Unlocked),
    (status = 409, description = "`insufficient_credits` (`details.available`, `details.price`), `already_unlocked` or `not_for_sale`.", body = ErrorEnvelope),
))]
async fn unlock(
    bearer: Bearer,
    mut db: Db,
    PathId(release): PathId<ReleaseId>,
) -> Result<Json<Unlocked>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let unlocked = money::unlock(&tx, caller.user_id, release).await?;
    commit(tx).await?;
    Ok(Json(unlocked))
}
