//! In-process HTTP calls through the lambda_http request type, exactly as API Gateway (HTTP
//! API, payload 2.0) hands them to a function.

use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// An answer from an in-process call.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A request as API Gateway (HTTP API, payload 2.0) would deliver it.
pub struct Call {
    method: String,
    path: String,
    headers: serde_json::Map<String, Value>,
    body: Option<String>,
    base64: bool,
}

impl Call {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: serde_json::Map::new(),
            body: None,
            base64: false,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    pub fn delete(path: &str) -> Self {
        Self::new("DELETE", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), Value::String(value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw_body("application/json", &body.to_string())
    }

    pub fn raw_body(mut self, content_type: &str, body: &str) -> Self {
        if !content_type.is_empty() {
            self = self.header("content-type", content_type);
        }
        self.body = Some(body.to_owned());
        self
    }

    /// A body of raw bytes, as API Gateway hands over one it does not take for text: base64, with
    /// `isBase64Encoded`.
    pub fn binary_body(mut self, content_type: &str, body: &[u8]) -> Self {
        use base64::Engine as _;
        self = self.raw_body(content_type, "");
        self.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
        self.base64 = true;
        self
    }

    /// The API Gateway v2 event for this request.
    pub fn event(&self) -> Value {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": self.headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {
                    "method": self.method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "hound-tests"
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "22/Nov/2026:18:00:00 +0000",
                "timeEpoch": 1_795_370_400_000_u64
            },
            "body": self.body,
            "isBase64Encoded": self.base64
        })
    }

    /// The router's answer to this request, as the Lambda runtime would hand the event over.
    async fn respond(self, router: &Router) -> http::Response<axum::body::Body> {
        let request = lambda_http::request::from_str(&self.event().to_string())
            .expect("a valid API Gateway v2 event");
        router
            .clone()
            .oneshot(request)
            .await
            .expect("routers are infallible")
    }

    /// Send it and read the whole answer, but only its status: for measuring the handler
    /// without the caller's own decoding of the body.
    pub async fn status(self, router: &Router) -> u16 {
        let response = self.respond(router).await;
        let status = response.status().as_u16();
        response.into_body().collect().await.expect("response body");
        status
    }

    /// Run the request through `router` in-process.
    pub async fn send(self, router: &Router) -> TestResponse {
        let response = self.respond(router).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("response body")
            .to_bytes();
        let text_body = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/"));
        let body = if bytes.is_empty() {
            Value::Null
        } else if text_body {
            // A text answer (CSV): its text, as a JSON string.
            Value::String(String::from_utf8(bytes.to_vec()).expect("a text answer is UTF-8"))
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("response is not JSON: {}", String::from_utf8_lossy(&bytes))
            })
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }
}
