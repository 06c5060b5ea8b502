//! The one error type at the HTTP boundary: every failure becomes a status, a stable `code` and
//! a sentence, in the body shape API.md fixes. Domain errors convert into it here and nowhere else.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::AuthError;
use crate::catalog::StudioError;
use crate::db::DbError;
use crate::listener::ListenerError;

/// An error answer. Build it with the constructors; the body is rendered in one place.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    details: Map<String, Value>,
    retry_after_secs: Option<u64>,
}

/// Field name → what is wrong with it, for `details.fields` of a 400.
pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    details: &'a Map<String, Value>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            retry_after_secs: None,
        }
    }

    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// A 400 listing each offending field.
    pub fn invalid_fields(code: &'static str, fields: FieldErrors) -> Self {
        let message = match fields.keys().next() {
            Some(first) if fields.len() == 1 => format!("The field `{first}` is invalid."),
            _ => "Some fields are invalid.".to_owned(),
        };
        Self::new(StatusCode::BAD_REQUEST, code, message).with_detail("fields", fields)
    }

    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. It has been logged.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "A service we depend on is unavailable. Please retry shortly.",
        )
        .with_retry_after(1)
    }

    pub fn with_detail(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.details.insert(key.to_owned(), value);
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                details: &self.details,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
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
            ListenerError::Gated(gate) => {
                let gate = serde_json::to_value(gate).unwrap_or(Value::Null);
                Self::new(
                    StatusCode::FORBIDDEN,
                    "gated",
                    "This release streams only for listeners who unlocked it.",
                )
                .with_detail("gate", gate)
            }
            ListenerError::NotReady => Self::new(
                StatusCode::CONFLICT,
                "not_ready",
                "This track has no playable rendition yet.",
            ),
            ListenerError::Unavailable(cause) => {
                tracing::error!(error = %cause, "dependency unavailable");
                Self::unavailable()
            }
            ListenerError::Db(db) => db.into(),
        }
    }
}
