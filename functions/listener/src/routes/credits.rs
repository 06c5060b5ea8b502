//! The listener's credits: balances and ledger entries, and spending them on a paid release.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use hound_domain::ids::ReleaseId;
use hound_domain::money::{self, CreditBalance, CreditPacks, Purchase, PurchaseRequest, Unlocked};
use hound_domain::paging::PageRequest;
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, JsonBody, PageQuery, PathId, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(credits))
        .routes(routes!(unlock))
        .routes(routes!(credit_packs))
        .routes(routes!(purchase))
}

/// The credit packs on sale, at the server's prices.
#[utoipa::path(get, path = "/v1/listener/credit-packs", operation_id = "credit_packs", responses(
    (status = 200, description = "The packs.", body = CreditPacks),
))]
async fn credit_packs() -> Json<CreditPacks> {
    Json(money::credit_packs())
}

/// Buy a credit pack, or a paid release, with money: an order and its Stripe PaymentIntent.
/// What it buys is granted when Stripe reports the payment (the stripe-webhook function).
#[utoipa::path(post, path = "/v1/listener/purchases", operation_id = "purchase", request_body = PurchaseRequest, security(("bearer" = [])), responses(
    (status = 201, description = "The order and the client secret to confirm the payment with.", body = Purchase),
    (status = 404, description = "No such release visible to the caller.", body = ErrorEnvelope),
    (status = 409, description = "`already_unlocked` or `not_for_sale`.", body = ErrorEnvelope),
))]
async fn purchase(
    State(state): State<AppState>,
    bearer: Bearer,
    mut db: Db,
    JsonBody(request): JsonBody<PurchaseRequest>,
) -> Result<(StatusCode, Json<Purchase>), ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let purchase = money::purchase(&tx, &state.stripe, caller.user_id, request).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(purchase)))
}

/// The caller's credits: available, held for pre-orders, owed, and the ledger, newest first.
#[utoipa::path(get, path = "/v1/listener/credits", operation_id = "credits", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "Balances and a page of entries.", body = CreditBalance),
))]
async fn credits(
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<CreditBalance>, ApiError> {
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
