//! Routes of the listener function, one module per resource.

mod albums;
mod credits;
mod drafts;
mod home;
mod library;
mod mixes;
mod playlists;
mod share;
mod taste;
mod telemetry;
mod tracks;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(home::router())
        .merge(albums::router())
        .merge(tracks::router())
        .merge(telemetry::router())
        .merge(library::router())
        .merge(taste::router())
        .merge(playlists::router())
        .merge(mixes::router())
        .merge(drafts::router())
        .merge(credits::router())
}
