//! The one error type at the HTTP boundary: every failure becomes a status, a stable `code` and
//! a sentence, in the body shape API.md fixes. Each area's errors convert into it in `mapping`.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hound_domain::fields::FieldErrors;
use serde::Serialize;
use serde_json::{Map, Value};

/// An error answer. Build it with the constructors; the body is rendered in one place.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    details: Map<String, Value>,
    retry_after_secs: Option<u64>,
}

/// The body of every non-2xx answer (API.md, Errors).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorEnvelope {
    #[schema(inline)]
    pub error: ErrorObject,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorObject {
    /// A stable, snake_case code a client can branch on.
    #[schema(pattern = "^[a-z][a-z0-9_]*$")]
    pub code: &'static str,
    /// A sentence for a human.
    pub message: String,
    /// More about the failure: `fields` (field → problem) for 400s, `problems` for 422s, and
    /// others named by the code.
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
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

    /// Every field of `details` (something that serialises as an object) as a detail.
    pub fn with_details(mut self, details: impl Serialize) -> Self {
        if let Ok(Value::Object(fields)) = serde_json::to_value(details) {
            self.details.extend(fields);
        }
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
        let body = ErrorEnvelope {
            error: ErrorObject {
                code: self.code,
                message: self.message.into_owned(),
                details: self.details,
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
