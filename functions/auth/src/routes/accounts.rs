//! Signup and login, for listeners and artists.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hound_domain::auth::{self, AccountKind, NewAccount, Session, User};
use hound_http::{ApiError, Db, JsonBody, commit};
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
pub struct SignedIn {
    pub user: User,
    pub session: Session,
}

impl From<(User, Session)> for SignedIn {
    fn from((user, session): (User, Session)) -> Self {
        Self { user, session }
    }
}

async fn signup(
    state: AppState,
    mut db: Db,
    body: SignupBody,
    kind: AccountKind,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    let account = NewAccount::parse(&body.email, &body.password, &body.display_name)?;
    let tx = db.begin().await?;
    let keys = state.backend.keys();
    let authenticated = auth::signup(&tx, &state.passwords, keys, account, kind).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(authenticated.into())))
}

async fn artist_signup(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<SignupBody>,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    signup(state, db, body, AccountKind::Artist).await
}

async fn listener_signup(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<SignupBody>,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    signup(state, db, body, AccountKind::Listener).await
}

async fn login(
    state: AppState,
    mut db: Db,
    body: LoginBody,
    kind: AccountKind,
) -> Result<Json<SignedIn>, ApiError> {
    let tx = db.begin().await?;
    let keys = state.backend.keys();
    let verdict = auth::login(
        &tx,
        &state.passwords,
        keys,
        &body.email,
        &body.password,
        kind,
    )
    .await?;
    // A refused login is committed too: it is what the throttle counts.
    commit(tx).await?;
    Ok(Json(verdict.into_result()?.into()))
}

async fn artist_login(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<SignedIn>, ApiError> {
    login(state, db, body, AccountKind::Artist).await
}

async fn listener_login(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<SignedIn>, ApiError> {
    login(state, db, body, AccountKind::Listener).await
}
