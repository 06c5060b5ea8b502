//! Errors of the credits area, in its own words; the HTTP crate maps them to statuses.

use crate::db::DbError;
use crate::fields::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Not there, or not visible to this caller.
    #[error("not found")]
    NotFound,
    /// The balance does not cover the price.
    #[error("insufficient credits")]
    InsufficientCredits { available: i64, price: i64 },
    /// Already done, or not for sale; `code` says which.
    #[error("{code}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    /// Stripe refused the payment (a declined card, no payment method); its message.
    #[error("payment declined: {0}")]
    Declined(String),
    /// Stripe could not be reached or refused the call.
    #[error("payments provider: {0:#}")]
    Payments(anyhow::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for MoneyError {
    fn from(err: tokio_postgres::Error) -> Self {
        MoneyError::Db(err.into())
    }
}

impl From<FieldErrors> for MoneyError {
    fn from(fields: FieldErrors) -> Self {
        MoneyError::Invalid(fields)
    }
}
