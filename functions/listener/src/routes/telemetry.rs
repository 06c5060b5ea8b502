//! Telemetry batches: plays and player events.

use axum::Json;
use axum::http::StatusCode;
use hound_domain::listener::{self, EventInput, Ingested, PlayInput};
use hound_http::{ApiError, Bearer, Db, JsonBody, commit};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(plays))
        .routes(routes!(events))
}

#[derive(Deserialize, ToSchema)]
struct PlaysBody {
    #[schema(max_items = 500)]
    plays: Vec<PlayInput>,
}

#[derive(Deserialize, ToSchema)]
struct EventsBody {
    #[schema(max_items = 500)]
    events: Vec<EventInput>,
}

/// Record a batch of plays (client ids: a resent play counts once).
#[utoipa::path(post, path = "/v1/listener/telemetry/plays", operation_id = "record_plays", request_body = PlaysBody, security(("bearer" = [])), responses(
    (status = 202, description = "How many were new, how many duplicates, and which were refused.", body = Ingested),
))]
async fn plays(
    bearer: Bearer,
    mut db: Db,
    JsonBody(body): JsonBody<PlaysBody>,
) -> Result<(StatusCode, Json<Ingested>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let (tx, caller) = db.begin_as(&bearer).await?;
    let ingested = listener::record_plays(&tx, caller.user_id, &body.plays, now).await?;
    commit(tx).await?;
    Ok((StatusCode::ACCEPTED, Json(ingested)))
}

/// Record a batch of player events.
#[utoipa::path(post, path = "/v1/listener/telemetry/events", operation_id = "record_events", request_body = EventsBody, security(("bearer" = [])), responses(
    (status = 202, description = "How many were new, how many duplicates, and which were refused.", body = Ingested),
))]
async fn events(
    bearer: Bearer,
    mut db: Db,
    JsonBody(body): JsonBody<EventsBody>,
) -> Result<(StatusCode, Json<Ingested>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let (tx, caller) = db.begin_as(&bearer).await?;
    let ingested = listener::record_events(&tx, caller.user_id, &body.events, now).await?;
    commit(tx).await?;
    Ok((StatusCode::ACCEPTED, Json(ingested)))
}
