//! Telemetry batches: plays and player events.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::http::JsonBody;
use hound::listener::{self, EventInput, Ingested, PlayInput};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/listener/telemetry/plays", post(plays))
        .route("/v1/listener/telemetry/events", post(events))
}

#[derive(Deserialize)]
struct PlaysBody {
    plays: Vec<PlayInput>,
}

#[derive(Deserialize)]
struct EventsBody {
    events: Vec<EventInput>,
}

async fn plays(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PlaysBody>,
) -> Result<(StatusCode, Json<Ingested>), ApiError> {
    let client = state.db().await?;
    let ingested = listener::record_plays(
        &client,
        caller.user_id,
        &body.plays,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(ingested)))
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EventsBody>,
) -> Result<(StatusCode, Json<Ingested>), ApiError> {
    let client = state.db().await?;
    let ingested = listener::record_events(
        &client,
        caller.user_id,
        &body.events,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(ingested)))
}
