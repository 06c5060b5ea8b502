//! What every API function builds once per cold start — the database pool and the keys that
//! verify access tokens — and the one way a request reaches the database: a connection of its
//! own ([`Db`]) on which it runs exactly one transaction. Work of several statements opens it
//! with [`Db::begin`] and commits it; a read that is one statement runs on [`Db::client`], where
//! that statement is its own (implicit) transaction, so the read costs one round trip.
//!
//! Behind a transaction pooler (`DB_POOLER=transaction`: PgBouncer, or a proxy that multiplexes
//! at transaction boundaries) a server connection is ours only inside a transaction, so prepared
//! statements are prepared again in each request's transaction (`db::connect_pooled`), and a
//! one-statement read opens a transaction too ([`Db::can_run_alone`] says which to do).

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
    /// Behind a transaction pooler: every statement in an explicit transaction.
    pooler: bool,
}

impl Backend {
    /// Straight to Postgres (no pooler in between).
    pub fn new(pool: Pool, keys: Arc<JwtKeys>) -> Self {
        Self {
            pool,
            keys,
            pooler: false,
        }
    }

    /// `DATABASE_URL` (with `DB_POOL_SIZE`, `DATABASE_CA_FILE`, `DB_POOLER`), connecting as the
    /// function's own `role`, and `JWT_KEYS`.
    pub fn from_env(role: &'static str) -> anyhow::Result<Self> {
        let pool = db::pool(&PoolSettings::for_function(role)?)?;
        let pooler = Self::pooler_from_env()?;
        Ok(Self::new(pool, Arc::new(JwtKeys::from_env()?)).behind_pooler(pooler))
    }

    /// `DB_POOLER`: `transaction` behind a transaction pooler; unset (or `none`) straight to
    /// Postgres.
    pub fn pooler_from_env() -> anyhow::Result<bool> {
        match hound_domain::config::optional_var("DB_POOLER")?.as_deref() {
            None | Some("none") => Ok(false),
            Some("transaction") => Ok(true),
            Some(other) => anyhow::bail!("DB_POOLER is `transaction` or `none`, not `{other}`"),
        }
    }

    /// Whether the database is reached through a transaction pooler (see the module's docs).
    pub fn behind_pooler(mut self, pooler: bool) -> Self {
        self.pooler = pooler;
        self
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn keys(&self) -> &Arc<JwtKeys> {
        &self.keys
    }

    /// A connection for this request (503 when the database cannot be reached).
    pub async fn db(&self) -> Result<Db, ApiError> {
        let client = if self.pooler {
            db::connect_pooled(&self.pool).await?
        } else {
            db::connect(&self.pool).await?
        };
        Ok(Db {
            client,
            pooler: self.pooler,
        })
    }
}

/// One request's database connection. Every route takes it as an extractor and runs its one
/// transaction on it: [`Db::begin`] (dropped without a commit, it rolls back), or, for a single
/// statement when [`Db::can_run_alone`], [`Db::client`].
pub struct Db {
    client: PooledClient,
    pooler: bool,
}

impl Db {
    /// Whether one statement may run on [`Db::client`] as its own transaction: not behind a
    /// transaction pooler, where preparing and running it are two transactions, maybe on two
    /// server connections. Otherwise the read opens [`Db::begin`] like any other work.
    pub fn can_run_alone(&self) -> bool {
        !self.pooler
    }

    /// The connection, for a request whose work is exactly one statement (that statement is
    /// its transaction). Only when [`Db::can_run_alone`].
    pub fn client(&self) -> &PooledClient {
        debug_assert!(
            !self.pooler,
            "behind a pooler every statement needs a transaction"
        );
        &self.client
    }

    /// The request's transaction, for nobody in particular (an anonymous request).
    pub async fn begin(&mut self) -> Result<Tx<'_>, ApiError> {
        Ok(db::begin(&mut self.client).await?)
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
        let tx = db::begin(&mut self.client).await?;
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
