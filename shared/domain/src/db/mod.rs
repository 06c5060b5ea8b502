//! The database: the pool and the role each function connects as, the one way to open a
//! transaction and to say who it is for (transaction-local settings the row-level security
//! policies read), migrations, and driver failures.
//!
//! Domain operations take a client (`&impl GenericClient`) or, when they change several rows
//! or lock one, a transaction (`&Tx`); they never take the pool and never open a transaction of
//! their own. Whoever serves the request (an HTTP handler, the worker, the CLI) opens exactly one
//! with [`begin`] and commits it.

mod context;
mod error;
mod migrate;
mod pool;

pub use context::{Setting, roles, set};
pub use error::{DbError, violated_constraint};
pub use migrate::{migrate, migrations_fingerprint};
pub use pool::{
    GenericClient, Pool, PoolSettings, PooledClient, Tx, begin, connect, connect_pooled, pool,
    pool_from_env,
};
