//! The `pro` plan through a Stripe subscription. The listener starts one (a Stripe customer of
//! their own, their card as its default, a subscription to the `pro` plan) and cancels it (at
//! the end of the paid period); the plan itself changes only when Stripe's subscription events
//! arrive (webhook.rs), so a listener is never `pro` on their own say.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::MoneyError;
use super::stripe::{StripeApi, StripeError};
use crate::db::Tx;
use crate::ids::UserId;
use crate::plans::Plan;

/// `POST /v1/listener/subscription`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// A Stripe PaymentMethod (from Stripe.js) to pay with; it becomes the customer's default.
    /// Without one, the customer's default pays.
    pub payment_method: Option<String>,
}

/// The caller's plan and their subscription as Stripe last reported it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionState {
    /// The plan in force now (it follows Stripe's subscription events).
    pub plan: Plan,
    /// The subscription's status at Stripe (`none` without one).
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub current_period_end: Option<OffsetDateTime>,
    /// Cancelled: `pro` until the period ends, then `free`.
    pub cancel_at_period_end: bool,
    /// When the first payment needs the listener (3-D Secure, another card): the
    /// PaymentIntent's client secret for Stripe.js.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Statuses in which a subscription still runs (or may still be paid): a second one is refused.
const LIVE: [&str; 5] = ["active", "trialing", "past_due", "unpaid", "paused"];

/// A status's place in a subscription's life: on two events of the same second, the later
/// place wins (webhook.rs).
pub fn status_rank(status: &str) -> Option<i16> {
    Some(match status {
        "none" => 0,
        "incomplete" => 1,
        "trialing" => 2,
        "active" => 3,
        "past_due" => 4,
        "unpaid" | "paused" => 5,
        "incomplete_expired" => 6,
        "canceled" => 7,
        _ => return None,
    })
}

const OPEN: &str = "\
    INSERT INTO subscriptions (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING";

/// `pending`: a subscription was started here and Stripe has not yet said how its first payment
/// went (its events set the status; an unpaid one expires at Stripe after 23 hours). Another
/// request in that time would start a second subscription.
const LOCK: &str = "\
    SELECT customer_id, subscription_id, status, plan, current_period_end, cancel_at_period_end,
           subscription_id IS NOT NULL AND status IN ('none', 'incomplete')
               AND updated_at > now() - interval '23 hours' AS pending
      FROM subscriptions WHERE user_id = $1 FOR UPDATE";

const SET_CUSTOMER: &str = "UPDATE subscriptions SET customer_id = $2 WHERE user_id = $1";

const SET_SUBSCRIPTION: &str = "UPDATE subscriptions SET subscription_id = $2 WHERE user_id = $1";

fn state(row: &tokio_postgres::Row) -> SubscriptionState {
    SubscriptionState {
        plan: Plan::from_sql(row.get("plan")),
        status: row.get("status"),
        current_period_end: row.get("current_period_end"),
        cancel_at_period_end: row.get("cancel_at_period_end"),
        client_secret: None,
    }
}

fn stripe_error(err: StripeError) -> MoneyError {
    match err {
        StripeError::Refused { message, .. } => MoneyError::Declined(message),
        StripeError::Unavailable(cause) => MoneyError::Payments(cause),
    }
}

/// A subscription runs, or one just started awaits its first payment.
fn running(row: &tokio_postgres::Row) -> bool {
    LIVE.contains(&row.get::<_, &str>("status")) || row.get::<_, bool>("pending")
}

fn already() -> MoneyError {
    MoneyError::Conflict {
        code: "already_subscribed",
        message: "You already have a subscription.",
    }
}

/// The caller's Stripe customer, created (and committed by the caller) before any subscription,
/// so that Stripe's events about it always find whose it is. Refused while a subscription runs.
#[tracing::instrument(skip(tx, stripe))]
pub async fn open_customer(
    tx: &Tx<'_>,
    stripe: &StripeApi,
    user: UserId,
) -> Result<String, MoneyError> {
    let open = tx.prepare_cached(OPEN).await?;
    tx.execute(&open, &[&user]).await?;
    let lock = tx.prepare_cached(LOCK).await?;
    let row = tx.query_one(&lock, &[&user]).await?;
    if running(&row) {
        return Err(already());
    }
    if let Some(customer) = row.get::<_, Option<String>>("customer_id") {
        return Ok(customer);
    }
    let user_text = user.to_string();
    let customer = stripe
        .post(
            "/v1/customers",
            &[("metadata[hound_user_id]", user_text.as_str())],
            Some(&format!("customer:{user}")),
        )
        .await
        .map_err(stripe_error)?;
    let id = customer["id"]
        .as_str()
        .ok_or_else(|| MoneyError::Payments(anyhow::anyhow!("Stripe's customer has no id")))?
        .to_owned();
    let set = tx.prepare_cached(SET_CUSTOMER).await?;
    tx.execute(&set, &[&user, &id]).await?;
    Ok(id)
}

/// Start the `pro` subscription for the caller's customer (from `open_customer`), paying with
/// `payment_method` when given. The row stays locked until the caller commits, so Stripe's
/// first events wait for the subscription id to be recorded.
#[tracing::instrument(skip(tx, stripe, request))]
pub async fn subscribe(
    tx: &Tx<'_>,
    stripe: &StripeApi,
    user: UserId,
    customer: &str,
    request: SubscribeRequest,
) -> Result<SubscriptionState, MoneyError> {
    let lock = tx.prepare_cached(LOCK).await?;
    let row = tx.query_one(&lock, &[&user]).await?;
    if running(&row) {
        return Err(already());
    }
    if let Some(pm) = request.payment_method.as_deref() {
        // It goes into a Stripe URL path: Stripe's ids are letters, digits and underscores only.
        if pm.is_empty()
            || pm.len() > 255
            || !pm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(MoneyError::Invalid(crate::fields::one(
                "payment_method",
                "is not a Stripe PaymentMethod id",
            )));
        }
        let path = format!("/v1/payment_methods/{pm}/attach");
        stripe
            .post(&path, &[("customer", customer)], None)
            .await
            .map_err(stripe_error)?;
        stripe
            .post(
                &format!("/v1/customers/{customer}"),
                &[("invoice_settings[default_payment_method]", pm)],
                None,
            )
            .await
            .map_err(stripe_error)?;
    }
    let user_text = user.to_string();
    let subscription = stripe
        .post(
            "/v1/subscriptions",
            &[
                ("customer", customer),
                ("items[0][plan]", stripe.pro_plan()),
                ("metadata[hound_user_id]", user_text.as_str()),
                ("expand[]", "latest_invoice.payment_intent"),
            ],
            None,
        )
        .await
        .map_err(stripe_error)?;
    let id = subscription["id"]
        .as_str()
        .ok_or_else(|| MoneyError::Payments(anyhow::anyhow!("Stripe's subscription has no id")))?;
    let set = tx.prepare_cached(SET_SUBSCRIPTION).await?;
    tx.execute(&set, &[&user, &id]).await?;
    let intent = &subscription["latest_invoice"]["payment_intent"];
    let client_secret = match intent["status"].as_str() {
        Some("requires_action" | "requires_payment_method" | "requires_confirmation") => {
            intent["client_secret"].as_str().map(str::to_owned)
        }
        _ => None,
    };
    tracing::info!(subscription = id, "subscription started");
    let mut now = state(&tx.query_one(&lock, &[&user]).await?);
    now.status = subscription["status"]
        .as_str()
        .unwrap_or("incomplete")
        .to_owned();
    now.client_secret = client_secret;
    Ok(now)
}

/// Cancel the caller's subscription at the end of the period they paid for (they stay `pro`
/// until Stripe ends it). Without a running subscription: their state, unchanged.
#[tracing::instrument(skip(tx, stripe))]
pub async fn cancel(
    tx: &Tx<'_>,
    stripe: &StripeApi,
    user: UserId,
) -> Result<SubscriptionState, MoneyError> {
    let lock = tx.prepare_cached(LOCK).await?;
    let Some(row) = tx.query_opt(&lock, &[&user]).await? else {
        return Ok(SubscriptionState {
            plan: Plan::Free,
            status: "none".to_owned(),
            current_period_end: None,
            cancel_at_period_end: false,
            client_secret: None,
        });
    };
    let mut now = state(&row);
    let subscription: Option<String> = row.get("subscription_id");
    let (Some(id), true) = (subscription, LIVE.contains(&now.status.as_str())) else {
        return Ok(now);
    };
    let updated = stripe
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[("cancel_at_period_end", "true")],
            Some(&format!("cancel:{id}")),
        )
        .await
        .map_err(stripe_error)?;
    now.cancel_at_period_end = updated["cancel_at_period_end"].as_bool().unwrap_or(true);
    tracing::info!(
        subscription = id,
        "subscription cancelled at the period's end"
    );
    Ok(now)
}
