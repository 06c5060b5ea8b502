//! The roles an account holds.

use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};

/// A role, mirrored by the Postgres enum `app_role`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "app_role", rename_all = "snake_case")]
pub enum Role {
    Listener,
    Artist,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Listener => "listener",
            Role::Artist => "artist",
        }
    }
}
