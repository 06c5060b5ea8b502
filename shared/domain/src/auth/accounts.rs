//! Accounts: signup (the user, their profiles and a first session in one transaction), login
//! (throttled, same answer and cost for unknown emails), and the caller's own account.

use deadpool_postgres::GenericClient;

use super::caller::{AccountKind, Caller};
use super::credentials::{DisplayName, Email, Password};
use super::error::{AuthError, Verdict};
use super::passwords::Passwords;
use super::role::Role;
use super::sessions::{self, Session};
use super::throttle;
use super::tokens::JwtKeys;
use super::user::{SELECT_USER_FOR_LOGIN, User, fetch_user};
use crate::db::{self, Setting, Tx, violated_constraint};
use crate::fields::{self, FieldErrors};
use crate::ids::UserId;
use crate::profiles::{self, ArtistProfile};

/// A signup request, parsed: every field problem is reported at once.
pub struct NewAccount {
    email: Email,
    password: Password,
    display_name: DisplayName,
}

impl NewAccount {
    pub fn parse(email: &str, password: &str, display_name: &str) -> Result<Self, AuthError> {
        let mut fields = FieldErrors::new();
        let email = Email::parse(email)
            .map_err(|e| fields.insert("email", e))
            .ok();
        let display_name = DisplayName::parse(display_name)
            .map_err(|e| fields.insert("display_name", e))
            .ok();
        let email_text = email.as_ref().map_or("", Email::as_str);
        let local_part = email_text.split('@').next().unwrap_or_default();
        let name = display_name.as_ref().map_or("", DisplayName::as_str);
        let password = Password::parse(password, &[email_text, local_part, name])
            .map_err(|e| fields.insert("password", e))
            .ok();
        match (email, password, display_name) {
            (Some(email), Some(password), Some(display_name)) => Ok(Self {
                email,
                password,
                display_name,
            }),
            _ => {
                let only_password = fields.len() == 1 && fields.contains_key("password");
                let code = if only_password {
                    "weak_password"
                } else {
                    "invalid_request"
                };
                Err(AuthError::Invalid { code, fields })
            }
        }
    }
}

const INSERT_USER: &str = "\
    INSERT INTO users (id, email, password_hash, display_name, roles)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING id, email, roles, display_name, created_at";

/// Create an account (and, for artists, their profile) and log it in.
#[tracing::instrument(skip_all, fields(kind = ?kind))]
pub async fn signup(
    tx: &Tx<'_>,
    passwords: &Passwords,
    keys: &JwtKeys,
    account: NewAccount,
    kind: AccountKind,
) -> Result<(User, Session), AuthError> {
    let hash = passwords.hash(account.password.expose()).await?;
    let id = UserId::generate();
    // The new account is the transaction's caller from here on (row-level security).
    db::set(tx, &[(Setting::UserId, &id.to_string())]).await?;
    let insert = tx.prepare_cached(INSERT_USER).await?;
    let row = tx
        .query_one(
            &insert,
            &[
                &id,
                &account.email.as_str(),
                &hash,
                &account.display_name.as_str(),
                &kind.roles(),
            ],
        )
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("users_email_key") => AuthError::EmailTaken,
            _ => e.into(),
        })?;
    let user = User::from_row(&row);
    profiles::create_listener(tx, user.id).await?;
    if kind == AccountKind::Artist {
        profiles::create_artist(tx, user.id, account.display_name.as_str()).await?;
    }
    // The welcome grant is written with the account: both or neither.
    crate::money::welcome(tx, user.id)
        .await
        .map_err(|e| match e {
            crate::money::MoneyError::Db(db) => AuthError::Db(db),
            other => AuthError::Internal(anyhow::anyhow!("welcome grant: {other}")),
        })?;
    let session = sessions::start(tx, keys, &user).await?;
    tracing::info!(user_id = %user.id, "account created");
    Ok((user, session))
}

/// Check a password and open a session. Unknown email and wrong password answer alike and
/// cost alike; five failures per email in the window answer 429 until the oldest ages out. A
/// refusal is a verdict to commit: it is what the throttle counts.
#[tracing::instrument(skip_all, fields(kind = ?kind))]
pub async fn login(
    tx: &Tx<'_>,
    passwords: &Passwords,
    keys: &JwtKeys,
    email: &str,
    password: &str,
    kind: AccountKind,
) -> Result<Verdict<(User, Session)>, AuthError> {
    let email = Email::for_login(email).map_err(|problem| AuthError::Invalid {
        code: "invalid_request",
        fields: fields::one("email", problem),
    })?;
    // The attempt may see its email's user and failures, and nothing else (row-level security).
    db::set(tx, &[(Setting::LoginEmail, &email)]).await?;
    let reservation = throttle::reserve(tx, &email).await?;
    let lookup = tx.prepare_cached(SELECT_USER_FOR_LOGIN).await?;
    let row = tx.query_opt(&lookup, &[&email]).await?;
    let stored = row.as_ref().map(|r| r.get::<_, String>("password_hash"));
    let (true, Some(row)) = (passwords.verify(password, stored).await?, row) else {
        return Ok(Verdict::Refused(AuthError::InvalidCredentials));
    };
    reservation.release(tx).await?;
    let user = User::from_row(&row);
    db::set(tx, &[(Setting::UserId, &user.id.to_string())]).await?;
    if kind == AccountKind::Artist && !user.roles.contains(&Role::Artist) {
        return Ok(Verdict::Refused(AuthError::RoleRequired(Role::Artist)));
    }
    let session = sessions::start(tx, keys, &user).await?;
    Ok(Verdict::Granted((user, session)))
}

/// The caller's account and, for artists, their profile.
#[tracing::instrument(skip_all)]
pub async fn me(
    db: &impl GenericClient,
    caller: &Caller,
) -> Result<(User, Option<ArtistProfile>), AuthError> {
    let user = fetch_user(db, caller.user_id).await?;
    let artist = if user.roles.contains(&Role::Artist) {
        profiles::artist_for_user(db, user.id).await?
    } else {
        None
    };
    Ok((user, artist))
}
