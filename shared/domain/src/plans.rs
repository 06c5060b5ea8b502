//! Plans and the limits they set: the one place a listener's limits live. A listener is `free`
//! unless their Stripe subscription is `active` or `trialing` (then `pro`); the subscription's
//! state is written only by Stripe's events (money::webhook), and the plan is derived from it
//! in SQL (migrations/V21).

use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::db::DbError;
use crate::ids::UserId;

/// A listener's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Pro,
}

/// Live playlists a `free` listener may keep.
pub const FREE_MAX_PLAYLISTS: i32 = 50;
/// Live playlists a `pro` listener may keep.
pub const PRO_MAX_PLAYLISTS: i32 = 200;
/// Credits a `pro` listener gets for every paid period (a `subscription` ledger entry).
pub const PRO_MONTHLY_CREDITS: i64 = 30;

impl Plan {
    pub fn from_sql(plan: &str) -> Self {
        match plan {
            "pro" => Plan::Pro,
            _ => Plan::Free,
        }
    }

    /// Live playlists this plan allows.
    pub fn max_playlists(self) -> i32 {
        match self {
            Plan::Free => FREE_MAX_PLAYLISTS,
            Plan::Pro => PRO_MAX_PLAYLISTS,
        }
    }
}

const PLAN_OF: &str = "SELECT plan FROM subscriptions WHERE user_id = $1";

/// `user`'s plan now (`free` when they never subscribed).
pub async fn plan_of(db: &impl GenericClient, user: UserId) -> Result<Plan, DbError> {
    let statement = db.prepare_cached(PLAN_OF).await?;
    Ok(db
        .query_opt(&statement, &[&user])
        .await?
        .map_or(Plan::Free, |row| Plan::from_sql(row.get("plan"))))
}
