//! Credits (API.md, Payments): the append-only ledger with its per-account balance row, the
//! welcome grant, and spending credits on a paid release. README, "Credits: the ledger".

mod error;
mod ledger;
mod unlock;

pub use error::MoneyError;
pub use ledger::{
    Balances, Credits, Entry, EntryKind, Posting, WELCOME_CREDITS, credits, lock_account, post,
    welcome,
};
pub use unlock::{Entitlement, Unlocked, unlock};
