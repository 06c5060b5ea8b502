//! JSON request bodies: content type checked (415), size capped (413), syntax and shape errors
//! answered as 400 `invalid_request` with the offending field in `details.fields`.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// API.md: a request body over 1 MiB gets 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A required JSON body of type `T`.
pub struct JsonBody<T>(pub T);

/// A JSON body that may be absent (empty); present, it must be valid.
pub struct OptionalJsonBody<T>(pub Option<T>);

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "The request body is larger than 1 MiB.",
    )
    .with_detail("max_bytes", MAX_BODY_BYTES)
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_json<T: DeserializeOwned>(request: Request) -> Result<Option<T>, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("invalid").to_owned());
    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match content_type {
        Some(ct) if is_json(&ct) => {}
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
    }
    parse(&bytes).map(Some)
}

/// Parse JSON text into `T`, naming the first offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_request(format!("The body is not valid JSON: {e}.")))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (field, problem) = match inner.strip_prefix("missing field `") {
            Some(rest) if path == "." => {
                let name = rest.split('`').next().unwrap_or_default();
                (join_path(&path, name), "is required".to_owned())
            }
            _ => (path, inner),
        };
        let field = if field == "." {
            "body".to_owned()
        } else {
            field
        };
        ApiError::invalid_request(format!("The field `{field}` {problem}."))
            .with_detail("fields", serde_json::json!({ field: problem }))
    })
}

fn join_path(path: &str, name: &str) -> String {
    if path == "." {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_json(request)
            .await?
            .map(JsonBody)
            .ok_or_else(|| ApiError::invalid_request("A JSON body is required."))
    }
}

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_json(request).await.map(OptionalJsonBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Signup {
        #[expect(dead_code, reason = "only its presence is under test")]
        email: String,
        #[expect(dead_code, reason = "only its presence is under test")]
        age: u8,
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.hound+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse::<Signup>(br#"{"age": 3}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(format!("{err:?}").contains("\"email\": String(\"is required\")"));
    }

    #[test]
    fn a_wrong_type_is_named() {
        let err = parse::<Signup>(br#"{"email": "a@b.co", "age": "three"}"#).unwrap_err();
        assert!(format!("{err:?}").contains("\"age\""));
    }

    #[test]
    fn broken_json_is_a_400() {
        let err = parse::<Signup>(b"{\"email\": ").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
