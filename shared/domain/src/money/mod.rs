//! Credits and payments (API.md, Payments): the append-only ledger with its per-account
//! balance row, the welcome grant, spending credits on a paid release (or pre-ordering a
//! scheduled one), orders paid through Stripe, the `pro` subscription, and the webhook that
//! applies Stripe's events. README, "Credits: the ledger" and
//! "Payments: Stripe".

mod error;
mod ledger;
mod preorder;
mod purchase;
mod stripe;
mod subscription;
mod unlock;
mod webhook;

pub use error::MoneyError;
pub use ledger::{
    Balances, CreditBalance, Entry, EntryKind, Posting, WELCOME_CREDITS, booked, credits,
    lock_account, lock_account_id, post, welcome,
};
pub use preorder::{PreorderRun, Settled, due_preorders, settle_preorder};
pub use purchase::{
    CENTS_PER_CREDIT, CREDIT_PACKS, CreditPack, CreditPacks, Purchase, PurchaseRequest,
    credit_packs, purchase,
};
pub use stripe::{
    DEFAULT_PRO_PLAN, PaymentIntent, SIGNATURE_TOLERANCE_SECS, SignatureError, StripeApi,
    StripeError, sign, verify_signature,
};
pub use subscription::{
    SubscribeRequest, SubscriptionState, cancel, open_customer, status_rank, subscribe,
};
pub use unlock::{Entitlement, Unlocked, unlock};
pub use webhook::{Applied, EventData, Received, StripeEvent, apply};
