//! Routes of the auth function, one module per resource.

mod accounts;
mod me;
mod sessions;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(sessions::router())
        .merge(me::router())
}
