//! What wraps every Hound endpoint: JSON fallbacks for unknown paths and methods, panics as a
//! JSON 500, bodies over 1 MiB refused before anything reads them, and the request id — API
//! Gateway's when there is one — on every log line and in `x-request-id`.

use std::time::Instant;

use axum::Router;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::request::RequestContext;
use tracing::Instrument as _;

use crate::error::ApiError;
use crate::json::{self, MAX_BODY_BYTES};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, as sent back in `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Wrap a function's routes with what every Hound endpoint shares.
pub fn service(routes: Router) -> Router {
    routes
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed on this path.",
            )
        })
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("handler panicked");
                ApiError::internal().into_response()
            },
        ))
        .layer(axum::middleware::from_fn(request_scope))
}

/// Name the request (API Gateway's request id when there is one), log it once with its outcome,
/// refuse oversized bodies before anything reads them, and echo the id in `x-request-id`.
async fn request_scope(mut request: Request, next: Next) -> Response {
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    // Lambda bodies arrive whole, so the size hint is exact.
    let too_large = request.body().size_hint().lower() > MAX_BODY_BYTES as u64;
    let mut response = if too_large {
        json::too_large().into_response()
    } else {
        next.run(request).instrument(span.clone()).await
    };
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

fn request_id(request: &Request) -> String {
    let from_gateway =
        request
            .extensions()
            .get::<RequestContext>()
            .and_then(|context| match context {
                RequestContext::ApiGatewayV2(ctx) => ctx.request_id.clone(),
                RequestContext::ApiGatewayV1(ctx) => ctx.request_id.clone(),
                _ => None,
            });
    let from_lambda = || {
        request
            .extensions()
            .get::<lambda_http::Context>()
            .map(|ctx| ctx.request_id.clone())
            .filter(|id| !id.is_empty())
    };
    from_gateway
        .filter(|id| !id.is_empty())
        .or_else(from_lambda)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
