//! Buying with money: the server's price table, and orders paid through a Stripe PaymentIntent.
//! The order is written (pending) and the intent created in the request's transaction; what it
//! buys is granted only when Stripe says it was paid (webhook.rs).

use serde::{Deserialize, Serialize};

use super::error::MoneyError;
use super::stripe::StripeApi;
use crate::catalog::Access;
use crate::db::Tx;
use crate::ids::{ReleaseId, UserId};
use crate::listener::Reach;

/// One credit pack on sale.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct CreditPack {
    pub id: &'static str,
    pub credits: i32,
    /// In the currency's smallest unit (cents).
    pub amount: i32,
    pub currency: &'static str,
}

/// The price table: amounts come from here, never from the client.
pub const CREDIT_PACKS: [CreditPack; 3] = [
    CreditPack {
        id: "small",
        credits: 10,
        amount: 199,
        currency: "eur",
    },
    CreditPack {
        id: "medium",
        credits: 50,
        amount: 899,
        currency: "eur",
    },
    CreditPack {
        id: "large",
        credits: 120,
        amount: 1999,
        currency: "eur",
    },
];

/// What one credit costs when a paid release is bought with money instead of credits.
pub const CENTS_PER_CREDIT: i32 = 20;
pub const CURRENCY: &str = "eur";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreditPacks {
    pub packs: Vec<CreditPack>,
}

pub fn credit_packs() -> CreditPacks {
    CreditPacks {
        packs: CREDIT_PACKS.to_vec(),
    }
}

/// `POST /v1/listener/purchases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PurchaseRequest {
    Credits { pack: String },
    Release { release_id: ReleaseId },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Purchase {
    pub order_id: uuid::Uuid,
    /// For Stripe.js to confirm the payment with.
    pub client_secret: String,
    pub amount: i32,
    pub currency: &'static str,
}

const RELEASE: &str = "\
    SELECT r.access, r.price_credits, release_reach(r, $2, NULL) AS reach
      FROM releases r WHERE r.id = $1";

const INSERT_ORDER: &str = "\
    INSERT INTO orders (id, user_id, kind, pack, credits, release_id, amount, currency)
    VALUES ($1, $2, $3::text::order_kind, $4, $5, $6, $7, $8)";

const SET_INTENT: &str = "UPDATE orders SET payment_intent = $2 WHERE id = $1";

/// Place an order for `user` and create its PaymentIntent, in the caller's transaction (a
/// Stripe failure rolls the order back: 503).
#[tracing::instrument(skip(tx, stripe))]
pub async fn purchase(
    tx: &Tx<'_>,
    stripe: &StripeApi,
    user: UserId,
    request: PurchaseRequest,
) -> Result<Purchase, MoneyError> {
    let (kind, pack, credits, release, amount) = match request {
        PurchaseRequest::Credits { pack } => {
            let Some(found) = CREDIT_PACKS.iter().find(|p| p.id == pack) else {
                return Err(MoneyError::Invalid(crate::fields::one(
                    "pack",
                    "is not a pack on sale (see GET /v1/listener/credit-packs)",
                )));
            };
            (
                "credits",
                Some(found.id),
                Some(found.credits),
                None,
                found.amount,
            )
        }
        PurchaseRequest::Release { release_id } => {
            let statement = tx.prepare_cached(RELEASE).await?;
            let row = tx
                .query_opt(&statement, &[&release_id, &user])
                .await?
                .ok_or(MoneyError::NotFound)?;
            let reach: Reach = row.get("reach");
            let access: Access = row.get("access");
            let price: Option<i32> = row.get("price_credits");
            match (reach, access, price) {
                (Reach::Hidden, _, _) => return Err(MoneyError::NotFound),
                (Reach::Stream, Access::Paid, _) => {
                    return Err(MoneyError::Conflict {
                        code: "already_unlocked",
                        message: "This release is already yours.",
                    });
                }
                (Reach::Page, Access::Paid, Some(price)) => (
                    "release",
                    None,
                    None,
                    Some(release_id),
                    price * CENTS_PER_CREDIT,
                ),
                _ => {
                    return Err(MoneyError::Conflict {
                        code: "not_for_sale",
                        message: "This release is not sold.",
                    });
                }
            }
        }
    };
    let order_id = uuid::Uuid::now_v7();
    let insert = tx.prepare_cached(INSERT_ORDER).await?;
    tx.execute(
        &insert,
        &[
            &order_id, &user, &kind, &pack, &credits, &release, &amount, &CURRENCY,
        ],
    )
    .await?;
    let intent = stripe
        .create_payment_intent(&order_id.to_string(), amount, CURRENCY)
        .await
        .map_err(MoneyError::Payments)?;
    let set = tx.prepare_cached(SET_INTENT).await?;
    tx.execute(&set, &[&order_id, &intent.id]).await?;
    tracing::info!(%order_id, kind, amount, "order placed");
    Ok(Purchase {
        order_id,
        client_secret: intent.client_secret,
        amount,
        currency: CURRENCY,
    })
}
