//! Who a transaction is for. Each function connects as a role of its own (`roles`); within a
//! request's transaction, transaction-local settings (`set_config(name, value, true)`, safe
//! behind a pool) tell the row-level security policies who is asking (migrations/V6).

use deadpool_postgres::GenericClient;

use super::error::DbError;

/// The login roles, one per function (created by migrations/V6, owning nothing).
pub mod roles {
    pub const AUTH: &str = "hound_auth";
    pub const STUDIO: &str = "hound_studio";
    pub const LISTENER: &str = "hound_listener";
    pub const WORKER: &str = "hound_worker";
    pub const DEAD_LETTER: &str = "hound_dead_letter";
    pub const MAINTENANCE: &str = "hound_maintenance";
    pub const REDEEM: &str = "hound_redeem";
    pub const CHECKIN: &str = "hound_checkin";
    pub const STRIPE_WEBHOOK: &str = "hound_stripe_webhook";
    /// Every function role, for checks that must cover them all.
    pub const ALL: [&str; 9] = [
        AUTH,
        STUDIO,
        LISTENER,
        WORKER,
        DEAD_LETTER,
        MAINTENANCE,
        REDEEM,
        CHECKIN,
        STRIPE_WEBHOOK,
    ];
}

/// One transaction-local setting the policies read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The caller's user id.
    UserId,
    /// The caller's roles, comma-separated.
    Roles,
    /// The share token the client presented.
    ShareToken,
    /// The normalised email of a login attempt.
    LoginEmail,
    /// The session being refreshed or opened.
    SessionId,
    /// The SHA-256 of a presented refresh token, base64.
    RefreshHash,
    /// The keyed hashes of a presented access code, base64, comma-separated (redeem).
    CodeHashes,
    /// The event a check-in names (checkin).
    EventId,
}

impl Setting {
    pub fn name(self) -> &'static str {
        match self {
            Setting::UserId => "hound.user_id",
            Setting::Roles => "hound.roles",
            Setting::ShareToken => "hound.share_token",
            Setting::LoginEmail => "hound.login_email",
            Setting::SessionId => "hound.session_id",
            Setting::RefreshHash => "hound.refresh_hash",
            Setting::CodeHashes => "hound.code_hashes",
            Setting::EventId => "hound.event_id",
        }
    }
}

/// Every setting of the list in one statement, for the rest of the transaction.
const SET: &str = "\
    SELECT set_config(s.name, s.value, true) FROM unnest($1::text[], $2::text[]) AS s(name, value)";

/// Set these for the rest of the current transaction (outside one, they would last one
/// statement: always call it on a transaction).
pub async fn set(db: &impl GenericClient, settings: &[(Setting, &str)]) -> Result<(), DbError> {
    let names: Vec<&str> = settings.iter().map(|(s, _)| s.name()).collect();
    let values: Vec<&str> = settings.iter().map(|(_, v)| *v).collect();
    let statement = db.prepare_cached(SET).await?;
    db.query(&statement, &[&names, &values]).await?;
    Ok(())
}
