//! Accounts and sessions: signup, login (throttled), refresh-token rotation with reuse
//! detection, logout, and turning a Bearer header into a [`Caller`].

mod accounts;
mod authenticator;
mod caller;
mod credentials;
mod error;
mod passwords;
mod role;
mod sessions;
mod throttle;
mod tokens;
mod user;

pub use accounts::{NewAccount, login, me, signup};
pub use authenticator::{caller, verify_bearer};
pub use caller::{AccountKind, Caller};
pub use credentials::{DisplayName, Email, Password, normalise_email};
pub use error::{AuthError, Verdict};
pub use passwords::Passwords;
pub use role::Role;
pub use sessions::{LogoutScope, Session, logout, refresh};
pub use throttle::{LOGIN_FAILURE_LIMIT, LOGIN_WINDOW_MINUTES, prune_login_failures};
pub use tokens::{
    ACCESS_TTL_SECS, AccessClaims, JwtKeys, KeysetError, REFRESH_TTL_DAYS, RefreshToken,
    refresh_token_hash,
};
pub use user::User;
