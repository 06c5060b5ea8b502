//! Each area's errors, in their own words, mapped to a status, a stable `code` and a sentence:
//! the one place the domain's vocabulary meets HTTP's.

use axum::http::StatusCode;
use hound_domain::auth::AuthError;
use hound_domain::catalog::StudioError;
use hound_domain::db::DbError;
use hound_domain::fields::FieldErrors;
use hound_domain::gates::GateError;
use hound_domain::listener::ListenerError;
use hound_domain::money::MoneyError;

use crate::error::ApiError;

impl From<FieldErrors> for ApiError {
    fn from(fields: FieldErrors) -> Self {
        Self::invalid_fields("invalid_request", fields)
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                Self::unavailable()
            }
            DbError::Query(cause) => {
                tracing::error!(error = %cause, "database error");
                Self::internal()
            }
            DbError::InvalidText(cause) => {
                tracing::info!(error = %cause, "refused text");
                Self::invalid_request("Text may not contain NUL (U+0000) characters.")
            }
            DbError::OutOfRange(cause) => {
                tracing::info!(error = %cause, "refused date");
                Self::invalid_request("A date or time is outside the range the service keeps.")
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        use AuthError as E;
        match err {
            E::Invalid { code, fields } => Self::invalid_fields(code, fields),
            E::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "An account with this email already exists.",
            ),
            E::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "The email or password is wrong.",
            ),
            E::Throttled { retry_after_secs } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many failed logins for this email. Try again later.",
            )
            .with_retry_after(retry_after_secs),
            E::RoleRequired(role) => Self::new(
                StatusCode::FORBIDDEN,
                "role_required",
                format!("This requires an {} account.", role.as_str()),
            )
            .with_detail("role", role.as_str()),
            E::MissingCredentials => Self::unauthorized("A bearer token is required."),
            E::BadToken => Self::unauthorized("The token is invalid."),
            E::TokenExpired => Self::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "The token has expired.",
            ),
            E::SessionEnded => Self::unauthorized("The session has ended. Log in again."),
            E::RefreshTokenReused => Self::new(
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "This refresh token was already used; the session has been ended for safety.",
            ),
            E::Db(db) => db.into(),
            E::Internal(cause) => {
                tracing::error!(error = ?cause, "auth internal error");
                Self::internal()
            }
        }
    }
}

impl From<StudioError> for ApiError {
    fn from(err: StudioError) -> Self {
        match err {
            StudioError::Invalid(fields) => Self::invalid_fields("invalid_request", fields),
            StudioError::NotFound => Self::not_found(),
            StudioError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            StudioError::NotReady(problems) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "release_not_ready",
                "The release is not ready to submit; see details.problems.",
            )
            .with_detail("problems", problems),
            StudioError::Auth(auth) => auth.into(),
            StudioError::Unavailable(cause) => {
                tracing::error!(error = %cause, "dependency unavailable");
                Self::unavailable()
            }
            StudioError::Db(db) => db.into(),
        }
    }
}

impl From<ListenerError> for ApiError {
    fn from(err: ListenerError) -> Self {
        match err {
            ListenerError::Invalid(fields) => Self::invalid_fields("invalid_request", fields),
            ListenerError::NotFound => Self::not_found(),
            // `details.gate`, `details.preview` (the presigned previews) and `expires_at`.
            ListenerError::Gated(gated) => Self::new(
                StatusCode::FORBIDDEN,
                "gated",
                "This release streams only for listeners who unlocked it; `details.preview` has a 30-second preview.",
            )
            .with_details(gated),
            ListenerError::NotReady => Self::new(
                StatusCode::CONFLICT,
                "not_ready",
                "This track has no playable rendition yet.",
            ),
            ListenerError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            ListenerError::Unavailable(cause) => {
                tracing::error!(error = %cause, "dependency unavailable");
                Self::unavailable()
            }
            ListenerError::Db(db) => db.into(),
        }
    }
}

impl From<GateError> for ApiError {
    fn from(err: GateError) -> Self {
        match err {
            GateError::Invalid(fields) => Self::invalid_fields("invalid_request", fields),
            GateError::NotFound => Self::not_found(),
            GateError::Expired => Self::new(StatusCode::GONE, "expired", "This code has expired."),
            GateError::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            GateError::Forbidden { reason, message } => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", message).with_detail("reason", reason)
            }
            GateError::Throttled { retry_after_secs } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many failed attempts. Try again later.",
            )
            .with_retry_after(retry_after_secs),
            GateError::Internal(cause) => {
                tracing::error!(error = ?cause, "gate internal error");
                Self::internal()
            }
            GateError::Db(db) => db.into(),
        }
    }
}

impl From<MoneyError> for ApiError {
    fn from(err: MoneyError) -> Self {
        match err {
            MoneyError::Invalid(fields) => Self::invalid_fields("invalid_request", fields),
            MoneyError::NotFound => Self::not_found(),
            MoneyError::InsufficientCredits { available, price } => Self::new(
                StatusCode::CONFLICT,
                "insufficient_credits",
                "Your credits do not cover this.",
            )
            .with_detail("available", available)
            .with_detail("price", price),
            MoneyError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            MoneyError::Declined(message) => {
                Self::new(StatusCode::PAYMENT_REQUIRED, "payment_declined", message)
            }
            MoneyError::Payments(cause) => {
                tracing::error!(error = %cause, "payments provider unavailable");
                Self::unavailable()
            }
            MoneyError::Db(db) => db.into(),
        }
    }
}
