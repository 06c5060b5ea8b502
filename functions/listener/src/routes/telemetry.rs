//! Telemetry batches: plays and player events.

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hound_domain::listener::{self, EventInput, Ingested, PlayInput};
use hound_http::{ApiError, Bearer, Db, JsonBody, commit};
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
