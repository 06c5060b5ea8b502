//! Routes of the auth function, one module per resource.

mod accounts;
mod document;
mod me;
mod sessions;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(accounts::router())
        .merge(document::router())
        .merge(sessions::router())
        .merge(me::router())
}
