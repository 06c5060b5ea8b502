//! Driver failures as the domain sees them: "unavailable" (retry), "query" (a bug), or text
//! Postgres cannot store (a client's mistake), and the constraint a statement violated.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

/// A database failure as the API sees it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached or the connection broke: safe to retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A statement failed: a bug, or a constraint the caller did not map.
    #[error("query failed: {0}")]
    Query(#[source] tokio_postgres::Error),
    /// Text Postgres cannot store (a NUL character, `\u0000` in JSON): only client input
    /// carries it, so callers answer 400.
    #[error("text Postgres cannot store: {0}")]
    InvalidText(String),
    /// A date or time outside what Postgres stores (before 4713 BC, say): only a client's
    /// value (a release date, a hand-made cursor) carries one, so callers answer 400.
    #[error("a date or time Postgres cannot store: {0}")]
    OutOfRange(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        // Only a broken or refused connection, or a transaction the server rolled back to
        // break a deadlock or a serialisation conflict (rare: a request and a worker changing
        // one release's tracks at the same instant lock the release and a track in opposite
        // orders), is safe to retry. A driver error with no SQLSTATE that is not about the
        // connection (a value that does not convert, a wrong parameter count) is a bug in our
        // code: 500, logged.
        let connection_level = err.is_closed()
            || err.code().is_some_and(|code| {
                code == &SqlState::ADMIN_SHUTDOWN
                    || code == &SqlState::CANNOT_CONNECT_NOW
                    || code == &SqlState::TOO_MANY_CONNECTIONS
                    || code == &SqlState::T_R_DEADLOCK_DETECTED
                    || code == &SqlState::T_R_SERIALIZATION_FAILURE
            })
            || (err.code().is_none() && io_underneath(&err));
        let invalid_text = err.code().is_some_and(|code| {
            code == &SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || code == &SqlState::UNTRANSLATABLE_CHARACTER
        });
        let out_of_range = err
            .code()
            .is_some_and(|code| code == &SqlState::DATETIME_FIELD_OVERFLOW);
        if connection_level {
            DbError::Unavailable(err.to_string())
        } else if out_of_range {
            DbError::OutOfRange(err.to_string())
        } else if invalid_text {
            DbError::InvalidText(err.to_string())
        } else {
            DbError::Query(err)
        }
    }
}

/// Whether an I/O failure (the socket, a refused or reset connection) lies under this error.
fn io_underneath(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = err.source();
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

impl From<PoolError> for DbError {
    fn from(err: PoolError) -> Self {
        match err {
            PoolError::Backend(e) => e.into(),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

/// The name of the constraint a statement violated, if that is why it failed.
pub fn violated_constraint(err: &tokio_postgres::Error) -> Option<&str> {
    let db = err.as_db_error()?;
    let integrity = db.code() == &SqlState::UNIQUE_VIOLATION
        || db.code() == &SqlState::FOREIGN_KEY_VIOLATION
        || db.code() == &SqlState::CHECK_VIOLATION
        || db.code() == &SqlState::EXCLUSION_VIOLATION;
    if integrity { db.constraint() } else { None }
}
