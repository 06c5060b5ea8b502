//! Routes of the studio function, one module per resource.

mod profile;
mod releases;
mod tracks;
mod uploads;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(profile::router())
        .merge(releases::router())
        .merge(tracks::router())
        .merge(uploads::router())
}
