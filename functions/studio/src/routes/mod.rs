//! Routes of the studio function, one module per resource.

mod gates;
mod profile;
mod releases;
mod stats;
mod tracks;
mod uploads;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(profile::router())
        .merge(releases::router())
        .merge(tracks::router())
        .merge(uploads::router())
        .merge(gates::router())
        .merge(stats::router())
}
