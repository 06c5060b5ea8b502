//! The HTTP contract as the code states it: the OpenAPI 3.1 document of every HTTP function,
//! built from their routers. This crate links the functions; nothing links it (its binary writes
//! `docs/openapi.json`, which the auth function serves).

use hound_http::openapi::{self, Part};
use utoipa::openapi::OpenApi;

/// The HTTP functions, by binary name: each serves the operations its router registers.
pub fn parts() -> Vec<Part> {
    vec![
        Part {
            function: "auth",
            api: auth::openapi(),
        },
        Part {
            function: "studio",
            api: studio::openapi(),
        },
        Part {
            function: "listener",
            api: listener::openapi(),
        },
        Part {
            function: "redeem",
            api: redeem::openapi(),
        },
        Part {
            function: "checkin",
            api: checkin::openapi(),
        },
        Part {
            function: "stripe-webhook",
            api: stripe_webhook::openapi(),
        },
    ]
}

/// The whole document.
pub fn document() -> OpenApi {
    openapi::document(parts())
}

/// The document as committed in `docs/openapi.json`: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).expect("the document serialises");
    json.push('\n');
    json
}
