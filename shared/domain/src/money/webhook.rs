//! Stripe's events, applied: each event id once (recorded in the transaction of its effect),
//! in a service context (no user). `payment_intent.succeeded` marks its order paid and books
//! what it bought: a `purchase` entry of the pack's credits, or the release's entitlement.
//! `charge.refunded` (a full refund) reverses it: the credits are taken back as far as the
//! balance goes (`refund`) and the rest is recorded as owed (`debt`), or the entitlement is
//! revoked. Events Hound does not act on are recorded and acknowledged.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::error::MoneyError;
use super::ledger::{self, EntryKind, Posting};
use crate::db::Tx;
use crate::ids::{ReleaseId, UserId};

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
    match event.kind.as_str() {
        "payment_intent.succeeded" => payment_succeeded(tx, &event.data.object).await,
        "charge.refunded" => charge_refunded(tx, &event.data.object).await,
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
