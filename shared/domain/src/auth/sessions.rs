//! Sessions: opened at signup and login, kept alive by refresh-token rotation with reuse
//! detection, ended by logout (this session or all of a user's).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::caller::Caller;
use super::error::{AuthError, Verdict};
use super::tokens::{ACCESS_TTL_SECS, JwtKeys, REFRESH_TTL_DAYS, RefreshToken, refresh_token_hash};
use super::user::{User, fetch_user};

use crate::db::{self, Setting, Tx};
use crate::ids::{SessionId, UserId};

/// The `session` object of API.md: what a client keeps to stay logged in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Logout reach: this session, or every session of the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogoutScope {
    #[default]
    Local,
    Global,
}

const INSERT_SESSION: &str = "INSERT INTO auth_sessions (id, user_id) VALUES ($1, $2)";

const INSERT_REFRESH: &str = "\
    INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
    VALUES ($1, $2, now() + make_interval(days => $3))";

/// The token first, then its session: the same lock order for every refresh.
const SELECT_REFRESH_FOR_UPDATE: &str = "\
    SELECT session_id, rotated_at, expires_at < now() AS expired
    FROM refresh_tokens WHERE token_hash = $1
    FOR UPDATE";

const SELECT_SESSION_FOR_UPDATE: &str =
    "SELECT user_id, revoked_at FROM auth_sessions WHERE id = $1 FOR UPDATE";

const REVOKE_FAMILY: &str = "\
    UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'refresh_token_reused'
    WHERE id = $1 AND revoked_at IS NULL";

const SPEND_REFRESH: &str = "UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1";

const TOUCH_SESSION: &str = "UPDATE auth_sessions SET refreshed_at = now() WHERE id = $1";

const END_SESSION: &str = "\
    UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'logout'
    WHERE id = $1 AND revoked_at IS NULL";

const END_ALL_SESSIONS: &str = "\
    UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'logout_global'
    WHERE user_id = $1 AND revoked_at IS NULL";

/// Open a session for `user` and hand out its first token pair.
pub(crate) async fn start(tx: &Tx<'_>, keys: &JwtKeys, user: &User) -> Result<Session, AuthError> {
    let session_id = SessionId::generate();
    db::set(tx, &[(Setting::SessionId, &session_id.to_string())]).await?;
    let insert = tx.prepare_cached(INSERT_SESSION).await?;
    tx.execute(&insert, &[&session_id, &user.id]).await?;
    issue(tx, keys, session_id, user).await
}

async fn issue(
    db: &impl GenericClient,
    keys: &JwtKeys,
    session_id: SessionId,
    user: &User,
) -> Result<Session, AuthError> {
    let refresh = RefreshToken::generate();
    let insert = db.prepare_cached(INSERT_REFRESH).await?;
    let ttl_days = i32::try_from(REFRESH_TTL_DAYS).unwrap_or(30);
    db.execute(
        &insert,
        &[
            &refresh_token_hash(refresh.as_str()),
            &session_id,
            &ttl_days,
        ],
    )
    .await?;
    let (access_token, expires_at) =
        keys.issue(user.id, session_id, &user.roles, OffsetDateTime::now_utc())?;
    Ok(Session {
        access_token,
        refresh_token: refresh.into_string(),
        token_type: "bearer",
        expires_in: ACCESS_TTL_SECS,
        expires_at,
    })
}

/// Trade a refresh token for a new pair. A token already traded in means it leaked (or a
/// client raced itself): the whole session is revoked, including the newest token — a refusal
/// that must be committed.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    tx: &Tx<'_>,
    keys: &JwtKeys,
    presented: &str,
) -> Result<Verdict<(User, Session)>, AuthError> {
    let hash = refresh_token_hash(presented);
    // The presented token, then its session, then its user: each visible once named.
    db::set(tx, &[(Setting::RefreshHash, &STANDARD.encode(&hash))]).await?;
    let select = tx.prepare_cached(SELECT_REFRESH_FOR_UPDATE).await?;
    let row = tx
        .query_opt(&select, &[&hash])
        .await?
        .ok_or(AuthError::BadToken)?;
    let session_id: SessionId = row.get("session_id");
    db::set(tx, &[(Setting::SessionId, &session_id.to_string())]).await?;
    let session = tx.prepare_cached(SELECT_SESSION_FOR_UPDATE).await?;
    let session = tx
        .query_opt(&session, &[&session_id])
        .await?
        .ok_or(AuthError::BadToken)?;
    if session
        .get::<_, Option<OffsetDateTime>>("revoked_at")
        .is_some()
    {
        return Err(AuthError::SessionEnded);
    }
    let user_id: UserId = session.get("user_id");
    db::set(tx, &[(Setting::UserId, &user_id.to_string())]).await?;
    if row.get::<_, Option<OffsetDateTime>>("rotated_at").is_some() {
        let revoke = tx.prepare_cached(REVOKE_FAMILY).await?;
        tx.execute(&revoke, &[&session_id]).await?;
        tracing::warn!(%session_id, "refresh token reused; session revoked");
        return Ok(Verdict::Refused(AuthError::RefreshTokenReused));
    }
    if row.get::<_, bool>("expired") {
        return Err(AuthError::TokenExpired);
    }
    let spend = tx.prepare_cached(SPEND_REFRESH).await?;
    tx.execute(&spend, &[&hash]).await?;
    let touch = tx.prepare_cached(TOUCH_SESSION).await?;
    tx.execute(&touch, &[&session_id]).await?;
    let user = fetch_user(tx, user_id).await?;
    let session = issue(tx, keys, session_id, &user).await?;
    Ok(Verdict::Granted((user, session)))
}

/// End this session, or all of the user's sessions.
#[tracing::instrument(skip_all, fields(scope = ?scope))]
pub async fn logout(
    db: &impl GenericClient,
    caller: &Caller,
    scope: LogoutScope,
) -> Result<(), AuthError> {
    match scope {
        LogoutScope::Local => {
            let end = db.prepare_cached(END_SESSION).await?;
            db.execute(&end, &[&caller.session_id]).await?;
        }
        LogoutScope::Global => {
            let end = db.prepare_cached(END_ALL_SESSIONS).await?;
            db.execute(&end, &[&caller.user_id]).await?;
        }
    }
    Ok(())
}
