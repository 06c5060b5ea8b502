//! Who is calling: the door an account comes through, and the caller proven by a valid
//! access token of a live session.

use super::error::AuthError;
use super::role::Role;
use crate::ids::{SessionId, UserId};

/// Which door an account comes through: artists get the studio as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Listener,
    Artist,
}

impl AccountKind {
    pub(crate) fn roles(self) -> Vec<Role> {
        match self {
            AccountKind::Listener => vec![Role::Listener],
            AccountKind::Artist => vec![Role::Artist, Role::Listener],
        }
    }
}

/// Who is calling: proven by a valid access token whose session is still live.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub roles: Vec<Role>,
}

impl Caller {
    pub fn require(&self, role: Role) -> Result<(), AuthError> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(AuthError::RoleRequired(role))
        }
    }
}
