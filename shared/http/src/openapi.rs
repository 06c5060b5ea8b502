//! The OpenAPI 3.1 document of the HTTP API, generated from the code: each function's routes are
//! registered with `utoipa_axum::routes!`, so a route cannot exist without its operation. What
//! every operation shares because it passes through this crate (the error envelope, the Bearer
//! extractor, the JSON body and path id extractors, the database) is added here, in one place,
//! rather than repeated on each handler: those answers come from this crate's code, not the
//! handler's.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Type,
    schema::ObjectBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ErrorEnvelope;

/// The name of the security scheme handlers cite: `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";

/// One function's share of the document, tagged with the function's binary name so that a
/// reader (and the drift test against `infra/template.yaml`) knows which Lambda serves it.
pub struct Part {
    pub function: &'static str,
    pub api: OpenApi,
}

/// The whole document: every function's operations, each with the answers the shared layer
/// gives, the error envelope, and the Bearer scheme.
pub fn document(parts: impl IntoIterator<Item = Part>) -> OpenApi {
    let info = InfoBuilder::new()
        .title("Hound API")
        .version("1")
        .description(Some(
            "The HTTP contract of Hound's Lambda functions (../shared/API.md), generated from \
             their routers. Every non-2xx answer carries the error envelope.",
        ))
        .build();
    let mut components = ComponentsBuilder::new()
        .schema(ErrorEnvelope::name(), ErrorEnvelope::schema())
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .build();
    let mut api = OpenApiBuilder::new().info(info).build();
    for Part {
        function,
        api: mut part,
    } in parts
    {
        for item in part.paths.paths.values_mut() {
            for operation in operations(item) {
                operation.tags = Some(vec![function.to_owned()]);
                add_shared_answers(operation);
            }
        }
        if let Some(theirs) = part.components.take() {
            for (name, schema) in theirs.schemas {
                // Two types of one name would silently become one schema (a listener's balance
                // once replaced the studio's price): the document refuses to be built instead.
                if let Some(ours) = components.schemas.get(&name) {
                    assert!(
                        serde_json::to_value(ours).ok() == serde_json::to_value(&schema).ok(),
                        "two different schemas are both named {name:?} ({function} adds the \
                         second): rename one (`#[schema(as = …)]`)"
                    );
                }
                components.schemas.insert(name, schema);
            }
        }
        api.merge(part);
    }
    api.components = Some(components);
    api
}

/// Add one answer to every operation of a function, where the function's shared code gives it
/// (the studio's `as_artist`: 403 `role_required` for a caller without the artist role).
pub fn answer_everywhere(api: &mut OpenApi, status: u16, description: &str) {
    for item in api.paths.paths.values_mut() {
        for operation in operations(item) {
            operation
                .responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| error_response(description));
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The answers an operation gets from the shared layer, by what it takes:
/// - a path id that is not a UUID, or names nothing the caller may see: 404 (`PathId`);
/// - a query or body that does not parse or breaks a field rule: 400 (`JsonBody`, queries);
/// - a body over 1 MiB: 413; a body that is not JSON: 415 (`JsonBody`, the middleware);
/// - a Bearer token that is missing (where required), bad, expired or revoked: 401 (`Bearer`);
/// - the database or AWS down: 503 with `Retry-After` (`Db`, the domain's `Unavailable`).
///
/// Every answer, success or error, carries `x-request-id` (the middleware).
fn add_shared_answers(operation: &mut Operation) {
    let params = operation.parameters.iter().flatten();
    let (mut in_path, mut in_query) = (false, false);
    for param in params {
        if let RefOr::T(param) = param {
            match param.parameter_in {
                ParameterIn::Path => in_path = true,
                ParameterIn::Query => in_query = true,
                _ => {}
            }
        }
    }
    let has_body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|requirements| {
        serde_json::to_value(requirements)
            .is_ok_and(|v| v.to_string().contains(&format!("\"{BEARER}\"")))
    });
    let mut shared: Vec<(u16, &str)> = Vec::new();
    if in_query || has_body {
        shared.push((400, "The query or body is malformed or breaks a field rule (`details.fields` names each field)."));
    }
    if secured {
        shared.push((401, "The Bearer token is missing, bad, expired or revoked."));
    }
    if in_path {
        shared.push((404, "No such resource visible to the caller."));
    }
    if has_body {
        shared.push((413, "The body is over 1 MiB."));
        shared.push((415, "The body is not `application/json`."));
    }
    shared.push((
        503,
        "A dependency is down; safe to retry after `Retry-After` seconds.",
    ));

    let responses = &mut operation.responses.responses;
    for (status, description) in shared {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    }
    for response in responses.values_mut() {
        if let RefOr::T(response) = response {
            response
                .headers
                .entry(crate::REQUEST_ID.as_str().to_owned())
                .or_insert_with(request_id_header);
        }
    }
}

/// An error answer with the envelope, for handlers' own `responses(...)` lists.
pub fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorEnvelope::name())))
                .build(),
        )
        .into()
}

fn request_id_header() -> RefOr<utoipa::openapi::header::Header> {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "The request's id (API Gateway's when there is one), also on every log line.",
        ))
        .build()
        .into()
}
