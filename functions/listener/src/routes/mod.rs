//! Routes of the listener function, one module per resource.

mod albums;
mod home;
mod library;
mod telemetry;
mod tracks;

use axum::Router;
use serde::Deserialize;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(albums::router())
        .merge(tracks::router())
        .merge(telemetry::router())
        .merge(library::router())
}

/// `?share_token=…` on album and stream requests.
#[derive(Deserialize)]
struct ShareQuery {
    share_token: Option<String>,
}
