//! Signup and login, for listeners and artists.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::{AccountKind, NewAccount, Session, User};
use hound::http::JsonBody;
use serde::{Deserialize, Serialize};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/artist/signup", post(artist_signup))
        .route("/v1/auth/listener/signup", post(listener_signup))
        .route("/v1/auth/artist/login", post(artist_login))
        .route("/v1/auth/listener/login", post(listener_login))
}

#[derive(Deserialize)]
struct SignupBody {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

/// `{user, session}`: what signup, login and refresh answer.
#[derive(Serialize)]
pub struct Authenticated {
    pub user: User,
    pub session: Session,
}

impl From<(User, Session)> for Authenticated {
    fn from((user, session): (User, Session)) -> Self {
        Self { user, session }
    }
}

async fn signup(
    state: AppState,
    body: SignupBody,
    kind: AccountKind,
) -> Result<(StatusCode, Json<Authenticated>), ApiError> {
    let account = NewAccount::parse(&body.email, &body.password, &body.display_name)?;
    let authenticated = state.accounts.signup(account, kind).await?;
    Ok((StatusCode::CREATED, Json(authenticated.into())))
}

async fn artist_signup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignupBody>,
) -> Result<(StatusCode, Json<Authenticated>), ApiError> {
    signup(state, body, AccountKind::Artist).await
}

async fn listener_signup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignupBody>,
) -> Result<(StatusCode, Json<Authenticated>), ApiError> {
    signup(state, body, AccountKind::Listener).await
}

async fn artist_login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Authenticated>, ApiError> {
    let authenticated = state
        .accounts
        .login(&body.email, &body.password, AccountKind::Artist)
        .await?;
    Ok(Json(authenticated.into()))
}

async fn listener_login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Authenticated>, ApiError> {
    let authenticated = state
        .accounts
        .login(&body.email, &body.password, AccountKind::Listener)
        .await?;
    Ok(Json(authenticated.into()))
}
