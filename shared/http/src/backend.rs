//! What every API function builds once per cold start — the database pool and the keys that
//! verify access tokens — and the one way a request reaches the database: a connection of its
//! own ([`Db`]) on which it runs exactly one transaction. Work of several statements opens it
//! with [`Db::begin`] and commits it; a read that is one statement runs on [`Db::client`], where
//! that statement is its own (implicit) transaction, so the read costs one round trip.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use hound_domain::auth::JwtKeys;
use hound_domain::db::{self, DbError, Pool, PoolSettings, PooledClient, Tx};

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

    /// `DATABASE_URL` (with `DB_POOL_SIZE`, `DATABASE_CA_FILE`) and `JWT_KEYS`.
    pub fn from_env() -> anyhow::Result<Self> {
        let pool = db::pool(&PoolSettings::from_env()?)?;
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

    pub async fn begin(&mut self) -> Result<Tx<'_>, ApiError> {
        Ok(db::begin(&mut self.0).await?)
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
