//! The listener's credits: balances and ledger entries, spending them on a paid release (or
//! pre-ordering a scheduled one), buying with money, and the `pro` subscription.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use hound_domain::ids::ReleaseId;
use hound_domain::money::{
    self, CreditBalance, CreditPacks, Purchase, PurchaseRequest, SubscribeRequest,
    SubscriptionState, Unlocked,
};
use hound_domain::paging::PageRequest;
use hound_http::{
    ApiError, Bearer, Db, ErrorEnvelope, JsonBody, OptionalJsonBody, PageQuery, PathId, commit,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(credits))
        .routes(routes!(unlock))
        .routes(routes!(credit_packs))
        .routes(routes!(purchase))
        .routes(routes!(subscribe, unsubscribe))
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

/// Buy a `paid` release with credits: a usage entry and the entitlement, together. A scheduled
/// release is pre-ordered: its price is held until it is published (then spent) or withdrawn
/// (then given back).
#[utoipa::path(post, path = "/v1/listener/releases/{release_id}/unlock", operation_id = "unlock_release", params(("release_id" = Uuid, Path, description = "The release.")), security(("bearer" = [])), responses(
    (status = 200, description = "The entitlement, the credits left and held, and whether it is a pre-order.", body = Unlocked),
    (status = 404, description = "No such release visible to the caller.", body = ErrorEnvelope),
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

/// Start the `pro` plan: a Stripe subscription paid with the given PaymentMethod (or the
/// customer's default). The plan turns `pro` when Stripe's subscription event arrives.
#[utoipa::path(post, path = "/v1/listener/subscription", operation_id = "subscribe", request_body = Option<SubscribeRequest>, security(("bearer" = [])), responses(
    (status = 201, description = "The subscription as Stripe answered, the plan in force, and a client secret when the first payment needs the listener.", body = SubscriptionState),
    (status = 402, description = "`payment_declined`: Stripe refused the payment (its message).", body = ErrorEnvelope),
    (status = 409, description = "`already_subscribed`.", body = ErrorEnvelope),
    (status = 503, description = "Stripe could not be reached; nothing was started.", body = ErrorEnvelope),
))]
async fn subscribe(
    State(state): State<AppState>,
    bearer: Bearer,
    mut db: Db,
    OptionalJsonBody(request): OptionalJsonBody<SubscribeRequest>,
) -> Result<(StatusCode, Json<SubscriptionState>), ApiError> {
    // The customer is committed first, so that Stripe's events about the subscription always
    // find whose it is.
    let (tx, caller) = db.begin_as(&bearer).await?;
    let customer = money::open_customer(&tx, &state.stripe, caller.user_id).await?;
    commit(tx).await?;
    let (tx, caller) = db.begin_as(&bearer).await?;
    let started = money::subscribe(
        &tx,
        &state.stripe,
        caller.user_id,
        &customer,
        request.unwrap_or_default(),
    )
    .await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// Cancel the `pro` plan at the end of the period already paid for; idempotent.
#[utoipa::path(delete, path = "/v1/listener/subscription", operation_id = "unsubscribe", security(("bearer" = [])), responses(
    (status = 200, description = "The plan in force (still `pro` until the period ends) and the subscription's state.", body = SubscriptionState),
    (status = 402, description = "`payment_declined`: Stripe refused the change (its message).", body = ErrorEnvelope),
    (status = 503, description = "Stripe could not be reached; nothing changed.", body = ErrorEnvelope),
))]
async fn unsubscribe(
    State(state): State<AppState>,
    bearer: Bearer,
    mut db: Db,
) -> Result<Json<SubscriptionState>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let now = money::cancel(&tx, &state.stripe, caller.user_id).await?;
    commit(tx).await?;
    Ok(Json(now))
}
