//! The `user` object of API.md, read from `users`.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use time::OffsetDateTime;

use super::error::AuthError;
use super::role::Role;
use crate::ids::UserId;

pub(crate) const SELECT_USER_FOR_LOGIN: &str = "\
    SELECT id, email, roles, display_name, created_at, password_hash
    FROM users WHERE lower(email) = $1";

const SELECT_USER: &str = "\
    SELECT id, email, roles, display_name, created_at FROM users WHERE id = $1";

/// The `user` object of API.md.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub roles: Vec<Role>,
    pub display_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl User {
    pub(crate) fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get("id"),
            email: row.get("email"),
            roles: row.get("roles"),
            display_name: row.get("display_name"),
            created_at: row.get("created_at"),
        }
    }
}

pub(crate) async fn fetch_user(db: &impl GenericClient, id: UserId) -> Result<User, AuthError> {
    let select = db.prepare_cached(SELECT_USER).await?;
    let row = db
        .query_opt(&select, &[&id])
        .await?
        .ok_or(AuthError::SessionEnded)?;
    Ok(User::from_row(&row))
}
