//! The ledger: typed, append-only entries, each carrying the balances it leaves; one balance
//! row per account, locked (`FOR UPDATE`) by every change, so changes to one account happen one
//! at a time and none can take it below zero. An entry's cause (`external_id`) is unique per
//! kind: the same effect cannot be booked twice, whoever retries.

use deadpool_postgres::GenericClient;
use postgres_types::{FromSql, ToSql};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::MoneyError;
use crate::db::{Tx, violated_constraint};
use crate::ids::{ReleaseId, UserId};
use crate::paging::{Page, PageRequest};

/// Credits every new account starts with (003's `handle_new_user`).
pub const WELCOME_CREDITS: i64 = 10;

/// What an entry records (`credit_entry_kind`); the sign each may carry is checked in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSql, FromSql, utoipa::ToSchema)]
#[postgres(name = "credit_entry_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Purchase,
    Usage,
    Refund,
    Grant,
    Expire,
    Reserve,
    Release,
    Capture,
    Subscription,
    Debt,
}

/// One change to post: how it moves the available, held and owed credits, and its cause.
#[derive(Debug, Clone)]
pub struct Posting {
    pub kind: EntryKind,
    pub amount: i64,
    pub held_delta: i64,
    pub debt_delta: i64,
    pub external_id: String,
    pub release_id: Option<ReleaseId>,
}

impl Posting {
    /// A change of the available credits only.
    pub fn available(kind: EntryKind, amount: i64, external_id: String) -> Self {
        Self {
            kind,
            amount,
            held_delta: 0,
            debt_delta: 0,
            external_id,
            release_id: None,
        }
    }
}

/// An account's balances, as locked for a change.
#[derive(Debug, Clone, Copy)]
pub struct Balances {
    pub account: Uuid,
    pub available: i64,
    pub held: i64,
    pub debt: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: Uuid,
    pub kind: EntryKind,
    /// Change of the available credits (negative: spent or taken).
    pub amount: i64,
    pub held_delta: i64,
    /// Change of the credits owed: positive when a shortfall is recorded, negative when later
    /// credits settle it.
    pub debt_delta: i64,
    pub balance_after: i64,
    pub held_after: i64,
    pub debt_after: i64,
    pub release_id: Option<ReleaseId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /v1/listener/credits`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreditBalance {
    pub available: i64,
    pub held: i64,
    /// Credits taken back (a refund) after they were spent, still owed.
    pub debt: i64,
    /// Newest first.
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

const OPEN_ACCOUNT: &str = "\
    INSERT INTO credit_accounts (id, user_id) VALUES ($1, $2)
    ON CONFLICT (user_id) DO NOTHING";

const LOCK_ACCOUNT: &str = "\
    SELECT id, available, held, debt FROM credit_accounts WHERE user_id = $1 FOR UPDATE";

const INSERT_ENTRY: &str = "\
    INSERT INTO credit_entries (id, account_id, kind, amount, held_delta, debt_delta,
                                balance_after, held_after, debt_after, external_id, release_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const UPDATE_ACCOUNT: &str = "\
    UPDATE credit_accounts SET available = $2, held = $3, debt = $4 WHERE id = $1";

const BOOKED: &str = "SELECT 1 FROM credit_entries WHERE kind = $1 AND external_id = $2";

const BALANCES: &str = "SELECT available, held, debt FROM credit_accounts WHERE user_id = $1";

const ENTRIES: &str = "\
    SELECT e.id, e.kind, e.amount, e.held_delta, e.debt_delta, e.balance_after, e.held_after,
           e.debt_after, e.release_id, e.created_at
      FROM credit_entries e JOIN credit_accounts a ON a.id = e.account_id
     WHERE a.user_id = $1
       AND ($2::timestamptz IS NULL OR (e.created_at, e.id) < ($2, $3))
     ORDER BY e.created_at DESC, e.id DESC
     LIMIT $4";

/// Lock `user`'s account for the rest of the transaction, opening it (empty) if they have none.
pub async fn lock_account(tx: &Tx<'_>, user: UserId) -> Result<Balances, MoneyError> {
    let lock = tx.prepare_cached(LOCK_ACCOUNT).await?;
    if let Some(row) = tx.query_opt(&lock, &[&user]).await? {
        return Ok(balances(&row));
    }
    let open = tx.prepare_cached(OPEN_ACCOUNT).await?;
    tx.execute(&open, &[&Uuid::now_v7(), &user]).await?;
    Ok(balances(&tx.query_one(&lock, &[&user]).await?))
}

const LOCK_ACCOUNT_ID: &str = "\
    SELECT id, available, held, debt FROM credit_accounts WHERE id = $1 FOR UPDATE";

/// Lock the account `id` for the rest of the transaction (service contexts, which know the
/// account rather than its user).
pub async fn lock_account_id(tx: &Tx<'_>, id: Uuid) -> Result<Balances, MoneyError> {
    let lock = tx.prepare_cached(LOCK_ACCOUNT_ID).await?;
    Ok(balances(&tx.query_one(&lock, &[&id]).await?))
}

fn balances(row: &tokio_postgres::Row) -> Balances {
    Balances {
        account: row.get("id"),
        available: row.get("available"),
        held: row.get("held"),
        debt: row.get("debt"),
    }
}

/// Post one entry to a locked account; the balances it leaves come back. Refused when it would
/// take a balance below zero (`InsufficientCredits`), and when its cause was already booked
/// (`Conflict { code: "already_booked" }`). Credits arriving while a debt is recorded settle it
/// first: a second entry (`debt`, both negative) takes what they cover.
pub async fn post(
    tx: &Tx<'_>,
    account: Balances,
    posting: &Posting,
) -> Result<Balances, MoneyError> {
    let after = Balances {
        account: account.account,
        available: account.available + posting.amount,
        held: account.held + posting.held_delta,
        debt: account.debt + posting.debt_delta,
    };
    if after.available < 0 || after.held < 0 || after.debt < 0 {
        return Err(MoneyError::InsufficientCredits {
            available: account.available,
            price: -posting.amount,
        });
    }
    let id = Uuid::now_v7();
    insert_entry(tx, id, posting, &after).await?;
    let mut last = after;
    let settle = after.available.min(after.debt);
    if posting.amount > 0 && settle > 0 {
        last = Balances {
            available: after.available - settle,
            debt: after.debt - settle,
            ..after
        };
        let settlement = Posting {
            kind: EntryKind::Debt,
            amount: -settle,
            held_delta: 0,
            debt_delta: -settle,
            external_id: format!("settle:{id}"),
            release_id: None,
        };
        insert_entry(tx, Uuid::now_v7(), &settlement, &last).await?;
        tracing::info!(
            settle,
            debt_left = last.debt,
            "debt settled from new credits"
        );
    }
    let update = tx.prepare_cached(UPDATE_ACCOUNT).await?;
    tx.execute(
        &update,
        &[&last.account, &last.available, &last.held, &last.debt],
    )
    .await?;
    Ok(last)
}

async fn insert_entry(
    tx: &Tx<'_>,
    id: Uuid,
    posting: &Posting,
    after: &Balances,
) -> Result<(), MoneyError> {
    let insert = tx.prepare_cached(INSERT_ENTRY).await?;
    tx.execute(
        &insert,
        &[
            &id,
            &after.account,
            &posting.kind,
            &posting.amount,
            &posting.held_delta,
            &posting.debt_delta,
            &after.available,
            &after.held,
            &after.debt,
            &posting.external_id,
            &posting.release_id,
        ],
    )
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("credit_entries_kind_external_id_key") => MoneyError::Conflict {
            code: "already_booked",
            message: "This was already booked.",
        },
        _ => e.into(),
    })?;
    Ok(())
}

/// Whether an entry of `kind` for `external_id` was booked already (read under the account's
/// lock, so the answer holds for the rest of the transaction).
pub async fn booked(tx: &Tx<'_>, kind: EntryKind, external_id: &str) -> Result<bool, MoneyError> {
    let statement = tx.prepare_cached(BOOKED).await?;
    Ok(tx
        .query_opt(&statement, &[&kind, &external_id])
        .await?
        .is_some())
}

/// The welcome grant, in the signup transaction: the account opens with `WELCOME_CREDITS`.
pub async fn welcome(tx: &Tx<'_>, user: UserId) -> Result<(), MoneyError> {
    let account = lock_account(tx, user).await?;
    post(
        tx,
        account,
        &Posting::available(EntryKind::Grant, WELCOME_CREDITS, format!("welcome:{user}")),
    )
    .await?;
    Ok(())
}

/// The caller's balances and a page of their entries, newest first.
pub async fn credits(
    db: &impl GenericClient,
    user: UserId,
    page: PageRequest,
) -> Result<CreditBalance, MoneyError> {
    let statement = db.prepare_cached(BALANCES).await?;
    let (available, held, debt) = match db.query_opt(&statement, &[&user]).await? {
        Some(row) => (row.get("available"), row.get("held"), row.get("debt")),
        None => (0, 0, 0),
    };
    let statement = db.prepare_cached(ENTRIES).await?;
    let rows = db
        .query(
            &statement,
            &[&user, &page.after_at(), &page.after_id(), &page.fetch()],
        )
        .await?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|row| Entry {
            id: row.get("id"),
            kind: row.get("kind"),
            amount: row.get("amount"),
            held_delta: row.get("held_delta"),
            debt_delta: row.get("debt_delta"),
            balance_after: row.get("balance_after"),
            held_after: row.get("held_after"),
            debt_after: row.get("debt_after"),
            release_id: row.get("release_id"),
            created_at: row.get("created_at"),
        })
        .collect();
    let Page { items, next_cursor } = page.page(entries, |e| (e.created_at, e.id));
    Ok(CreditBalance {
        available,
        held,
        debt,
        entries: items,
        next_cursor,
    })
}
