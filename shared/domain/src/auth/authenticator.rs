//! Turns a Bearer header into a [`Caller`]: signature and expiry in memory, then one
//! primary-key lookup so that a logged-out session is refused at once.

use deadpool_postgres::GenericClient;

use super::caller::Caller;
use super::error::AuthError;
use super::tokens::{AccessClaims, JwtKeys};

const SESSION_IS_LIVE: &str = "\
    SELECT 1 FROM auth_sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";

/// The token of an `Authorization: Bearer …` header, its signature, issuer and expiry checked.
pub fn verify_bearer(
    keys: &JwtKeys,
    authorization: Option<&str>,
) -> Result<AccessClaims, AuthError> {
    let header = authorization.ok_or(AuthError::MissingCredentials)?;
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(AuthError::MissingCredentials)?;
    keys.verify(token)
}

/// The caller behind verified claims, if their session is still live.
#[tracing::instrument(skip_all)]
pub async fn caller(db: &impl GenericClient, claims: AccessClaims) -> Result<Caller, AuthError> {
    let live = db.prepare_cached(SESSION_IS_LIVE).await?;
    if db
        .query_opt(&live, &[&claims.sid, &claims.sub])
        .await?
        .is_none()
    {
        return Err(AuthError::SessionEnded);
    }
    Ok(Caller {
        user_id: claims.sub,
        session_id: claims.sid,
        roles: claims.roles,
    })
}
