//! Credits and payments (API.md, Payments): the append-only ledger with its per-account
//! balance row, the welcome grant, spending credits on a paid release, orders paid through
//! Stripe and the webhook that applies Stripe's events. README, "Credits: the ledger" and
//! "Payments: Stripe".

mod error;
mod ledger;
mod purchase;
mod stripe;
mod unlock;
mod webhook;

pub use error::MoneyError;
pub use ledger::{
    Balances, CreditBalance, Entry, EntryKind, Posting, WELCOME_CREDITS, credits, lock_account,
    post, welcome,
};
pub use purchase::{
    CENTS_PER_CREDIT, CREDIT_PACKS, CreditPack, CreditPacks, Purchase, PurchaseRequest,
    credit_packs, purchase,
};
pub use stripe::{
    PaymentIntent, SIGNATURE_TOLERANCE_SECS, SignatureError, StripeApi, sign, verify_signature,
};
pub use unlock::{Entitlement, Unlocked, unlock};
pub use webhook::{Applied, EventData, Received, StripeEvent, apply};
