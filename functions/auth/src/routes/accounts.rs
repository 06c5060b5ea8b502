//! Signup and login, for listeners and artists.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hound_domain::auth::{self, AccountKind, NewAccount, Session, User};
use hound_domain::listener::{self, DraftsClaimed};
use hound_http::{ApiError, Db, ErrorEnvelope, JsonBody, commit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(artist_signup))
        .routes(routes!(listener_signup))
        .routes(routes!(artist_login))
        .routes(routes!(listener_login))
}

#[derive(Deserialize, ToSchema)]
struct SignupBody {
    /// Trimmed and lower-cased; unique among accounts.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// 8–128 characters, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(min_length = 1, max_length = 100)]
    display_name: String,
    /// Claim the drafts kept under this token before signing up.
    #[schema(min_length = 32, max_length = 128)]
    draft_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct LoginBody {
    email: String,
    password: String,
    /// Claim the drafts kept under this token before logging in.
    #[schema(min_length = 32, max_length = 128)]
    draft_token: Option<String>,
}

/// `{user, session}`: what signup, login and refresh answer.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    /// What the `draft_token` claimed, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drafts_claimed: Option<DraftsClaimed>,
}

impl From<(User, Session)> for SignedIn {
    fn from((user, session): (User, Session)) -> Self {
        Self {
            user,
            session,
            drafts_claimed: None,
        }
    }
}

/// Check a draft token's shape before anything is written.
fn draft_token(token: Option<&str>) -> Result<(), ApiError> {
    if let Some(token) = token {
        listener::draft_token_hash(token)?;
    }
    Ok(())
}

/// Claim the token's drafts for the signed-in account, in the same transaction.
async fn claim(
    tx: &hound_domain::db::Tx<'_>,
    signed: &mut SignedIn,
    token: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(token) = token {
        signed.drafts_claimed = Some(listener::claim_drafts(tx, token).await?);
    }
    Ok(())
}

async fn signup(
    state: AppState,
    mut db: Db,
    body: SignupBody,
    kind: AccountKind,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    let account = NewAccount::parse(&body.email, &body.password, &body.display_name)?;
    draft_token(body.draft_token.as_deref())?;
    let tx = db.begin().await?;
    let keys = state.backend.keys();
    let authenticated = auth::signup(&tx, &state.passwords, keys, account, kind).await?;
    let mut signed: SignedIn = authenticated.into();
    claim(&tx, &mut signed, body.draft_token.as_deref()).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(signed)))
}

/// Create an artist account (with its artist profile) and sign in.
#[utoipa::path(post, path = "/v1/auth/artist/signup", operation_id = "artist_signup", request_body = SignupBody, responses(
    (status = 201, description = "The account, signed in.", body = SignedIn),
    (status = 409, description = "`email_taken`.", body = ErrorEnvelope),
))]
async fn artist_signup(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<SignupBody>,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    signup(state, db, body, AccountKind::Artist).await
}

/// Create a listener account and sign in.
#[utoipa::path(post, path = "/v1/auth/listener/signup", operation_id = "listener_signup", request_body = SignupBody, responses(
    (status = 201, description = "The account, signed in.", body = SignedIn),
    (status = 409, description = "`email_taken`.", body = ErrorEnvelope),
))]
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
    draft_token(body.draft_token.as_deref())?;
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
    let granted = match verdict.into_result() {
        Ok(granted) => granted,
        Err(refused) => {
            commit(tx).await?;
            return Err(refused.into());
        }
    };
    let mut signed: SignedIn = granted.into();
    claim(&tx, &mut signed, body.draft_token.as_deref()).await?;
    commit(tx).await?;
    Ok(Json(signed))
}

/// Sign in to an account that holds the artist role.
#[utoipa::path(post, path = "/v1/auth/artist/login", operation_id = "artist_login", request_body = LoginBody, responses(
    (status = 200, description = "Signed in.", body = SignedIn),
    (status = 401, description = "`invalid_credentials`: wrong password or unknown email, alike.", body = ErrorEnvelope),
    (status = 403, description = "`role_required`: the account is not an artist.", body = ErrorEnvelope),
    (status = 429, description = "`rate_limited`: five failed logins for this email within 15 minutes.", body = ErrorEnvelope),
))]
async fn artist_login(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<SignedIn>, ApiError> {
    login(state, db, body, AccountKind::Artist).await
}

/// Sign in to any account (every account can listen).
#[utoipa::path(post, path = "/v1/auth/listener/login", operation_id = "listener_login", request_body = LoginBody, responses(
    (status = 200, description = "Signed in.", body = SignedIn),
    (status = 401, description = "`invalid_credentials`: wrong password or unknown email, alike.", body = ErrorEnvelope),
    (status = 429, description = "`rate_limited`: five failed logins for this email within 15 minutes.", body = ErrorEnvelope),
))]
async fn listener_login(
    State(state): State<AppState>,
    db: Db,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<SignedIn>, ApiError> {
    login(state, db, body, AccountKind::Listener).await
}
