//! Stripe's events, applied: each event id once (recorded in the transaction of its effect),
//! in a service context (no user). `payment_intent.succeeded` marks its order paid and books
//! what it bought: a `purchase` entry of the pack's credits, or the release's entitlement.
//! `charge.refunded` (a full refund) reverses it: the credits are taken back as far as the
//! balance goes (`refund`) and the rest is recorded as owed (`debt`), or the entitlement is
//! revoked. `customer.subscription.*` set the listener's subscription state (and so their
//! plan), never going back in time; `invoice.paid` books a paid period's credits once. Events
//! Hound does not act on are recorded and acknowledged.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::error::MoneyError;
use super::ledger::{self, EntryKind, Posting};
use super::subscription::status_rank;
use crate::db::Tx;
use crate::ids::{ReleaseId, UserId};
use crate::plans::PRO_MONTHLY_CREDITS;

/// The part of a Stripe event Hound reads.
#[derive(Debug, Deserialize)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// What the webhook did with an event.
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// Its effect was booked now.
    Applied,
    /// Seen before: nothing changed.
    Duplicate,
    /// Recorded; nothing to do for this type or object.
    Ignored,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    pub received: bool,
    pub result: Applied,
}

const RECORD: &str = "\
    INSERT INTO stripe_events (id, type, created) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO NOTHING";

const ORDER: &str = "\
    SELECT id, user_id, kind::text AS kind, credits, release_id, status::text AS status, amount,
           currency
      FROM orders WHERE payment_intent = $1 FOR UPDATE";

const PAID: &str = "UPDATE orders SET status = 'paid', paid_at = now() WHERE id = $1";

const REFUNDED: &str = "UPDATE orders SET status = 'refunded', refunded_at = now() WHERE id = $1";

const REVOKE: &str = "\
    DELETE FROM entitlements WHERE user_id = $1 AND release_id = $2 AND source = 'paid'";

const ENTITLE: &str = "\
    INSERT INTO entitlements (user_id, release_id, source) VALUES ($1, $2, 'paid')
    ON CONFLICT (user_id, release_id) DO NOTHING";

/// Apply `event` in the caller's (service) transaction.
#[tracing::instrument(skip_all, fields(event = %event.id, kind = %event.kind))]
pub async fn apply(tx: &Tx<'_>, event: &StripeEvent) -> Result<Applied, MoneyError> {
    let created = OffsetDateTime::from_unix_timestamp(event.created)
        .map_err(|_| MoneyError::Invalid(crate::fields::one("created", "is not a Unix time")))?;
    let record = tx.prepare_cached(RECORD).await?;
    if tx
        .execute(&record, &[&event.id, &event.kind, &created])
        .await?
        == 0
    {
        return Ok(Applied::Duplicate);
    }
    let object = &event.data.object;
    match event.kind.as_str() {
        "payment_intent.succeeded" => payment_succeeded(tx, object).await,
        "charge.refunded" => charge_refunded(tx, object).await,
        "customer.subscription.created" | "customer.subscription.updated" => {
            subscription_changed(tx, object, created, false).await
        }
        "customer.subscription.deleted" => subscription_changed(tx, object, created, true).await,
        // Stripe's `invoice.paid`; localstripe (and older API versions) say
        // `invoice.payment_succeeded` for the same moment. Either books the period once.
        "invoice.paid" | "invoice.payment_succeeded" => invoice_paid(tx, object).await,
        _ => Ok(Applied::Ignored),
    }
}

async fn payment_succeeded(tx: &Tx<'_>, intent: &Value) -> Result<Applied, MoneyError> {
    let Some(intent_id) = intent["id"].as_str() else {
        return Ok(Applied::Ignored);
    };
    let statement = tx.prepare_cached(ORDER).await?;
    let Some(order) = tx.query_opt(&statement, &[&intent_id]).await? else {
        tracing::warn!(intent_id, "a payment for no order of ours");
        return Ok(Applied::Ignored);
    };
    let status: String = order.get("status");
    if status != "pending" {
        return Ok(Applied::Ignored);
    }
    // What Stripe charged must be what the order asked.
    let amount: i32 = order.get("amount");
    if intent["amount"].as_i64() != Some(i64::from(amount))
        || intent["currency"].as_str() != Some(order.get::<_, String>("currency").as_str())
    {
        tracing::error!(intent_id, "a payment whose amount is not its order's");
        return Ok(Applied::Ignored);
    }
    let order_id: uuid::Uuid = order.get("id");
    let paid = tx.prepare_cached(PAID).await?;
    tx.execute(&paid, &[&order_id]).await?;
    let Some(user) = order.get::<_, Option<UserId>>("user_id") else {
        // The buyer deleted their account meanwhile: the order is paid, nobody to grant.
        return Ok(Applied::Applied);
    };
    match order.get::<_, String>("kind").as_str() {
        "credits" => {
            let credits: i32 = order.get("credits");
            let account = ledger::lock_account(tx, user).await?;
            ledger::post(
                tx,
                account,
                &Posting::available(
                    EntryKind::Purchase,
                    credits.into(),
                    format!("order:{order_id}"),
                ),
            )
            .await?;
        }
        _ => {
            let release: ReleaseId = order.get("release_id");
            let entitle = tx.prepare_cached(ENTITLE).await?;
            tx.execute(&entitle, &[&user, &release]).await?;
        }
    }
    tracing::info!(%order_id, "order paid");
    Ok(Applied::Applied)
}

/// A full refund of a paid order's charge: reverse what it bought.
async fn charge_refunded(tx: &Tx<'_>, charge: &Value) -> Result<Applied, MoneyError> {
    let (Some(intent_id), Some(true)) = (
        charge["payment_intent"].as_str(),
        charge["refunded"].as_bool(),
    ) else {
        // Partial refunds leave the purchase standing (README, "Payments: Stripe").
        return Ok(Applied::Ignored);
    };
    let statement = tx.prepare_cached(ORDER).await?;
    let Some(order) = tx.query_opt(&statement, &[&intent_id]).await? else {
        return Ok(Applied::Ignored);
    };
    if order.get::<_, String>("status") != "paid" {
        return Ok(Applied::Ignored);
    }
    let order_id: uuid::Uuid = order.get("id");
    let refunded = tx.prepare_cached(REFUNDED).await?;
    tx.execute(&refunded, &[&order_id]).await?;
    let Some(user) = order.get::<_, Option<UserId>>("user_id") else {
        return Ok(Applied::Applied);
    };
    match order.get::<_, String>("kind").as_str() {
        "credits" => {
            let credits = i64::from(order.get::<_, i32>("credits"));
            let account = ledger::lock_account(tx, user).await?;
            let taken = credits.min(account.available);
            let mut account = account;
            if taken > 0 {
                account = ledger::post(
                    tx,
                    account,
                    &Posting::available(EntryKind::Refund, -taken, format!("order:{order_id}")),
                )
                .await?;
            }
            if credits > taken {
                ledger::post(
                    tx,
                    account,
                    &Posting {
                        debt_delta: credits - taken,
                        ..Posting::available(EntryKind::Debt, 0, format!("order:{order_id}"))
                    },
                )
                .await?;
            }
        }
        _ => {
            let release: ReleaseId = order.get("release_id");
            let revoke = tx.prepare_cached(REVOKE).await?;
            tx.execute(&revoke, &[&user, &release]).await?;
        }
    }
    tracing::info!(%order_id, "order refunded");
    Ok(Applied::Applied)
}

const SUBSCRIBER: &str = "\
    SELECT user_id, subscription_id, status, state_at, state_rank
      FROM subscriptions WHERE customer_id = $1 FOR UPDATE";

const SET_STATE: &str = "\
    UPDATE subscriptions
       SET subscription_id = $2, status = $3, current_period_end = $4,
           cancel_at_period_end = $5, state_at = $6, state_rank = $7
     WHERE user_id = $1";

/// Statuses in which a subscription is still the listener's current one: news of another
/// subscription does not replace it.
const CURRENT: [&str; 6] = [
    "incomplete",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "paused",
];

/// A subscription's new state, unless an event already applied is newer (Stripe's `created`,
/// then the lifecycle's order on a tie), or it is about a subscription the listener has
/// replaced.
async fn subscription_changed(
    tx: &Tx<'_>,
    subscription: &Value,
    at: OffsetDateTime,
    deleted: bool,
) -> Result<Applied, MoneyError> {
    let (Some(id), Some(customer)) = (
        subscription["id"].as_str(),
        subscription["customer"].as_str(),
    ) else {
        return Ok(Applied::Ignored);
    };
    let status = if deleted {
        "canceled"
    } else {
        subscription["status"].as_str().unwrap_or_default()
    };
    let Some(rank) = status_rank(status) else {
        tracing::warn!(status, "a subscription status Hound does not know");
        return Ok(Applied::Ignored);
    };
    let statement = tx.prepare_cached(SUBSCRIBER).await?;
    let Some(row) = tx.query_opt(&statement, &[&customer]).await? else {
        tracing::warn!(customer, "a subscription of no customer of ours");
        return Ok(Applied::Ignored);
    };
    let user: UserId = row.get("user_id");
    let current: Option<String> = row.get("subscription_id");
    let same = current.as_deref() == Some(id);
    if !same && current.is_some() && CURRENT.contains(&row.get::<_, &str>("status")) {
        tracing::info!(
            subscription = id,
            "news of a subscription the listener replaced"
        );
        return Ok(Applied::Ignored);
    }
    if same {
        let state_at: Option<OffsetDateTime> = row.get("state_at");
        let state_rank: i16 = row.get("state_rank");
        if let Some(state_at) = state_at
            && (at < state_at || (at == state_at && rank < state_rank))
        {
            tracing::info!(
                subscription = id,
                status,
                "an older state arrived late: ignored"
            );
            return Ok(Applied::Ignored);
        }
    }
    let period_end = subscription["current_period_end"]
        .as_i64()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    let cancel_at_period_end = subscription["cancel_at_period_end"]
        .as_bool()
        .unwrap_or(false);
    let set = tx.prepare_cached(SET_STATE).await?;
    tx.execute(
        &set,
        &[
            &user,
            &id,
            &status,
            &period_end,
            &cancel_at_period_end,
            &at,
            &rank,
        ],
    )
    .await?;
    tracing::info!(subscription = id, status, "subscription state applied");
    Ok(Applied::Applied)
}

/// A paid invoice of a subscription: the period's credits, once per period.
async fn invoice_paid(tx: &Tx<'_>, invoice: &Value) -> Result<Applied, MoneyError> {
    let subscription = invoice["subscription"]
        .as_str()
        .or_else(|| invoice["parent"]["subscription_details"]["subscription"].as_str());
    let (Some(subscription), Some(customer)) = (subscription, invoice["customer"].as_str()) else {
        return Ok(Applied::Ignored);
    };
    if invoice["amount_paid"].as_i64().unwrap_or(0) <= 0 {
        // A free period (a trial, a 100 % coupon) is not a paid one.
        return Ok(Applied::Ignored);
    }
    // The period the invoice pays for: its subscription line's, else the invoice's own.
    let period_start = invoice["lines"]["data"]
        .as_array()
        .and_then(|lines| lines.iter().find_map(|l| l["period"]["start"].as_i64()))
        .or_else(|| invoice["period_start"].as_i64());
    let Some(period_start) = period_start else {
        return Ok(Applied::Ignored);
    };
    let statement = tx.prepare_cached(SUBSCRIBER).await?;
    let Some(row) = tx.query_opt(&statement, &[&customer]).await? else {
        tracing::warn!(customer, "an invoice of no customer of ours");
        return Ok(Applied::Ignored);
    };
    let user: UserId = row.get("user_id");
    let account = ledger::lock_account(tx, user).await?;
    let cause = format!("period:{subscription}:{period_start}");
    if ledger::booked(tx, EntryKind::Subscription, &cause).await? {
        return Ok(Applied::Ignored);
    }
    ledger::post(
        tx,
        account,
        &Posting::available(EntryKind::Subscription, PRO_MONTHLY_CREDITS, cause),
    )
    .await?;
    tracing::info!(subscription, "a paid period's credits booked");
    Ok(Applied::Applied)
}
