//! What every API function builds once per cold start — the database pool and the keys that
//! verify access tokens — and the one way a request reaches the database: a connection of its
//! own ([`Db`]) on which it runs exactly one transaction. Work of several statements opens it
//! with [`Db::begin`] and commits it; a read that is one statement runs on [`Db::client`], where
//! that statement is its own (implicit) transaction, so the read costs one round trip.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use hound_domain::auth::{self, Caller, JwtKeys};
use hound_domain::db::{self, DbError, Pool, PoolSettings, PooledClient, Setting, Tx};

use crate::caller::Bearer;
use crate::error::ApiError;

/// The pool and the verifying keys, shared by every request of a function instance.
#[derive(Clone)]
pub struct Backend {
    pool: Pool,
    keys: Arc<JwtKeys>,
}

impl Backend {
    pub fn new(pool: Pool, keys: Arc<JwtKeys>) -> Self {
        Self { pool, keys }
    }

    /// `DATABASE_URL` (with `DB_POOL_SIZE`, `DATABASE_CA_FILE`), connecting as the function's
    /// own `role`, and `JWT_KEYS`.
    pub fn from_env(role: &'static str) -> anyhow::Result<Self> {
        let pool = db::pool(&PoolSettings::for_function(role)?)?;
        Ok(Self::new(pool, Arc::new(JwtKeys::from_env()?)))
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn keys(&self) -> &Arc<JwtKeys> {
        &self.keys
    }

    /// A connection for this request (503 when the database cannot be reached).
    pub async fn db(&self) -> Result<Db, ApiError> {
        Ok(Db(db::connect(&self.pool).await?))
    }
}

/// One request's database connection. Every route takes it as an extractor and runs its one
/// transaction on it: [`Db::begin`] (dropped without a commit, it rolls back), or, for a single
/// statement, [`Db::client`].
pub struct Db(PooledClient);

impl Db {
    /// The connection, for a request whose work is exactly one statement (that statement is
    /// its transaction).
    pub fn client(&self) -> &PooledClient {
        &self.0
    }

    /// The request's transaction, for nobody in particular (an anonymous request).
    pub async fn begin(&mut self) -> Result<Tx<'_>, ApiError> {
        Ok(db::begin(&mut self.0).await?)
    }

    /// The request's transaction for the bearer's caller: the caller goes into its settings
    /// (row-level security reads them), and their session must still be live (401 otherwise).
    pub async fn begin_as(&mut self, bearer: &Bearer) -> Result<(Tx<'_>, Caller), ApiError> {
        let (tx, caller) = self.begin_viewing(Some(bearer), None).await?;
        let caller = caller.ok_or_else(|| ApiError::unauthorized("A bearer token is required."))?;
        Ok((tx, caller))
    }

    /// The request's transaction for whoever is viewing: the caller (if a token came) and the
    /// share token they presented (if any), both in its settings.
    pub async fn begin_viewing(
        &mut self,
        bearer: Option<&Bearer>,
        share_token: Option<&str>,
    ) -> Result<(Tx<'_>, Option<Caller>), ApiError> {
        let tx = db::begin(&mut self.0).await?;
        let mut settings = Vec::with_capacity(4);
        let (user, session, roles);
        if let Some(Bearer(claims)) = bearer {
            user = claims.sub.to_string();
            session = claims.sid.to_string();
            roles = claims
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(",");
            settings.extend([
                (Setting::UserId, user.as_str()),
                (Setting::SessionId, session.as_str()),
                (Setting::Roles, roles.as_str()),
            ]);
        }
        if let Some(token) = share_token {
            settings.push((Setting::ShareToken, token));
        }
        if !settings.is_empty() {
            db::set(&tx, &settings).await?;
        }
        let caller = match bearer {
            Some(Bearer(claims)) => Some(auth::caller(&tx, claims.clone()).await?),
            None => None,
        };
        Ok((tx, caller))
    }
}

impl<S> FromRequestParts<S> for Db
where
    Backend: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Backend::from_ref(state).db().await
    }
}

/// Commit the request's transaction (a failure is the database's, answered like one).
pub async fn commit(tx: Tx<'_>) -> Result<(), ApiError> {
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}
