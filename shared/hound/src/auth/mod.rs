//! Accounts and sessions: signup, login (throttled), refresh-token rotation with reuse
//! detection, logout, and the authenticator every function uses to turn a Bearer header into a
//! [`Caller`].

mod credentials;
mod passwords;
mod tokens;

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Pool};
use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub use credentials::{DisplayName, Email, Password, normalise_email};
pub use passwords::Passwords;
pub use tokens::{
    ACCESS_TTL_SECS, AccessClaims, JwtKeys, KeysetError, REFRESH_TTL_DAYS, RefreshToken,
    refresh_token_hash,
};

use crate::db::{DbError, violated_constraint};
use crate::error::FieldErrors;
use crate::profiles::{self, ArtistProfile};

/// Five failed logins for one email within fifteen minutes lock it until the oldest ages out.
pub const LOGIN_FAILURE_LIMIT: i64 = 5;
pub const LOGIN_WINDOW_MINUTES: i64 = 15;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid input")]
    Invalid {
        code: &'static str,
        fields: FieldErrors,
    },
    #[error("email taken")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed logins")]
    Throttled { retry_after_secs: u64 },
    #[error("role {0:?} required")]
    RoleRequired(Role),
    #[error("no credentials")]
    MissingCredentials,
    #[error("bad token")]
    BadToken,
    #[error("token expired")]
    TokenExpired,
    #[error("session ended")]
    SessionEnded,
    #[error("refresh token reused")]
    RefreshTokenReused,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(#[source] anyhow::Error),
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(err: tokio_postgres::Error) -> Self {
        AuthError::Db(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for AuthError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        AuthError::Db(err.into())
    }
}

/// A role, mirrored by the Postgres enum `app_role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql)]
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

/// Which door an account comes through: artists get the studio as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Listener,
    Artist,
}

impl AccountKind {
    fn roles(self) -> Vec<Role> {
        match self {
            AccountKind::Listener => vec![Role::Listener],
            AccountKind::Artist => vec![Role::Artist, Role::Listener],
        }
    }
}

/// The `user` object of API.md.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub roles: Vec<Role>,
    pub display_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl User {
    fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get("id"),
            email: row.get("email"),
            roles: row.get("roles"),
            display_name: row.get("display_name"),
            created_at: row.get("created_at"),
        }
    }
}

/// The `session` object of API.md: what a client keeps to stay logged in.
#[derive(Debug, Serialize)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Who is calling: proven by a valid access token whose session is still live.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub session_id: Uuid,
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

/// Logout reach: this session, or every session of the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogoutScope {
    #[default]
    Local,
    Global,
}

/// Everything the auth endpoints need, built once per cold start.
#[derive(Clone)]
pub struct Accounts {
    pool: Pool,
    keys: Arc<JwtKeys>,
    passwords: Passwords,
}

const INSERT_USER: &str = "\
    INSERT INTO users (id, email, password_hash, display_name, roles)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING id, email, roles, display_name, created_at";

const SELECT_USER_FOR_LOGIN: &str = "\
    SELECT id, email, roles, display_name, created_at, password_hash
    FROM users WHERE lower(email) = $1";

const SELECT_USER: &str = "\
    SELECT id, email, roles, display_name, created_at FROM users WHERE id = $1";

const INSERT_SESSION: &str = "INSERT INTO auth_sessions (id, user_id) VALUES ($1, $2)";

const INSERT_REFRESH: &str = "\
    INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
    VALUES ($1, $2, now() + make_interval(days => $3))";

const LOCK_EMAIL: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))";

const PRUNE_FAILURES: &str = "\
    DELETE FROM login_failures
    WHERE email = $1 AND attempted_at <= now() - make_interval(mins => $2)";

const COUNT_FAILURES: &str = "\
    SELECT count(*) AS failures,
           ceil(extract(epoch FROM min(attempted_at) + make_interval(mins => $2) - now()))::bigint
               AS retry_after
    FROM login_failures WHERE email = $1";

const RESERVE_FAILURE: &str = "INSERT INTO login_failures (email) VALUES ($1) RETURNING id";

const RELEASE_FAILURE: &str = "DELETE FROM login_failures WHERE id = $1";

const SELECT_REFRESH_FOR_UPDATE: &str = "\
    SELECT t.session_id, t.rotated_at, t.expires_at < now() AS expired,
           s.revoked_at, s.user_id
    FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
    WHERE t.token_hash = $1
    FOR UPDATE OF t, s";

const REVOKE_FAMILY: &str = "\
    UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'refresh_token_reused'
    WHERE id = $1 AND revoked_at IS NULL";

const SPEND_REFRESH: &str = "UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1";

const TOUCH_SESSION: &str = "UPDATE auth_sessions SET refreshed_at = now() WHERE id = $1";

const END_SESSION: &str = "\
    UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'logout'
    WHERE id = $1 AND revoked_at IS NULL";

const END_ALL_SESSIONS: &str = "\
    UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'logout_global'
    WHERE user_id = $1 AND revoked_at IS NULL";

const SESSION_IS_LIVE: &str = "\
    SELECT 1 FROM auth_sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";

impl Accounts {
    pub fn new(pool: Pool, keys: Arc<JwtKeys>, passwords: Passwords) -> Self {
        Self {
            pool,
            keys,
            passwords,
        }
    }

    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(self.pool.clone(), self.keys.clone())
    }

    /// Create an account (and, for artists, their profile) and log it in, in one transaction.
    #[tracing::instrument(skip_all, fields(kind = ?kind))]
    pub async fn signup(
        &self,
        account: NewAccount,
        kind: AccountKind,
    ) -> Result<(User, Session), AuthError> {
        let hash = self.passwords.hash(account.password.expose()).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let insert = tx.prepare_cached(INSERT_USER).await?;
        let row = tx
            .query_one(
                &insert,
                &[
                    &Uuid::now_v7(),
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
        profiles::create_listener(&tx, user.id).await?;
        if kind == AccountKind::Artist {
            profiles::create_artist(&tx, user.id, account.display_name.as_str()).await?;
        }
        let session = self.start_session(&tx, &user).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, "account created");
        Ok((user, session))
    }

    /// Check a password and open a session. Unknown email and wrong password answer alike and
    /// cost alike; five failures per email in the window answer 429 until the oldest ages out.
    #[tracing::instrument(skip_all, fields(kind = ?kind))]
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        kind: AccountKind,
    ) -> Result<(User, Session), AuthError> {
        let email = normalise_email(email);
        let mut client = self.pool.get().await?;
        let reservation = self.reserve_attempt(&mut client, &email).await?;

        let lookup = client.prepare_cached(SELECT_USER_FOR_LOGIN).await?;
        let row = client.query_opt(&lookup, &[&email]).await?;
        let stored = row.as_ref().map(|r| r.get::<_, String>("password_hash"));
        if !self.passwords.verify(password, stored).await? {
            return Err(AuthError::InvalidCredentials);
        }
        let row = row.ok_or(AuthError::InvalidCredentials)?;

        let release = client.prepare_cached(RELEASE_FAILURE).await?;
        client.execute(&release, &[&reservation]).await?;
        let user = User::from_row(&row);
        if kind == AccountKind::Artist && !user.roles.contains(&Role::Artist) {
            return Err(AuthError::RoleRequired(Role::Artist));
        }
        let tx = client.transaction().await?;
        let session = self.start_session(&tx, &user).await?;
        tx.commit().await?;
        Ok((user, session))
    }

    /// Count this attempt against the email's budget before the password is checked, so
    /// concurrent guesses cannot overrun the limit. The row is removed if the password is right.
    async fn reserve_attempt(
        &self,
        client: &mut deadpool_postgres::Object,
        email: &str,
    ) -> Result<i64, AuthError> {
        let tx = client.transaction().await?;
        let window = i32::try_from(LOGIN_WINDOW_MINUTES).unwrap_or(15);
        tx.execute(LOCK_EMAIL, &[&email]).await?;
        let prune = tx.prepare_cached(PRUNE_FAILURES).await?;
        tx.execute(&prune, &[&email, &window]).await?;
        let count = tx.prepare_cached(COUNT_FAILURES).await?;
        let row = tx.query_one(&count, &[&email, &window]).await?;
        let failures: i64 = row.get("failures");
        if failures >= LOGIN_FAILURE_LIMIT {
            let retry_after: Option<i64> = row.get("retry_after");
            tracing::warn!("login throttled");
            return Err(AuthError::Throttled {
                retry_after_secs: retry_after.unwrap_or(1).max(1).unsigned_abs(),
            });
        }
        let reserve = tx.prepare_cached(RESERVE_FAILURE).await?;
        let id: i64 = tx.query_one(&reserve, &[&email]).await?.get(0);
        tx.commit().await?;
        Ok(id)
    }

    async fn start_session(
        &self,
        tx: &impl GenericClient,
        user: &User,
    ) -> Result<Session, AuthError> {
        let session_id = Uuid::now_v7();
        let insert = tx.prepare_cached(INSERT_SESSION).await?;
        tx.execute(&insert, &[&session_id, &user.id]).await?;
        self.issue(tx, session_id, user).await
    }

    async fn issue(
        &self,
        tx: &impl GenericClient,
        session_id: Uuid,
        user: &User,
    ) -> Result<Session, AuthError> {
        let refresh = RefreshToken::generate();
        let insert = tx.prepare_cached(INSERT_REFRESH).await?;
        let ttl_days = i32::try_from(REFRESH_TTL_DAYS).unwrap_or(30);
        tx.execute(
            &insert,
            &[
                &refresh_token_hash(refresh.as_str()),
                &session_id,
                &ttl_days,
            ],
        )
        .await?;
        let (access_token, expires_at) =
            self.keys
                .issue(user.id, session_id, &user.roles, OffsetDateTime::now_utc())?;
        Ok(Session {
            access_token,
            refresh_token: refresh.into_string(),
            token_type: "bearer",
            expires_in: ACCESS_TTL_SECS,
            expires_at,
        })
    }

    /// Trade a refresh token for a new pair. A token already traded in means it leaked (or a
    /// client raced itself): the whole session is revoked, including the newest token.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &str) -> Result<(User, Session), AuthError> {
        let hash = refresh_token_hash(presented);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let select = tx.prepare_cached(SELECT_REFRESH_FOR_UPDATE).await?;
        let row = tx
            .query_opt(&select, &[&hash])
            .await?
            .ok_or(AuthError::BadToken)?;
        let session_id: Uuid = row.get("session_id");
        if row.get::<_, Option<OffsetDateTime>>("revoked_at").is_some() {
            return Err(AuthError::SessionEnded);
        }
        if row.get::<_, Option<OffsetDateTime>>("rotated_at").is_some() {
            let revoke = tx.prepare_cached(REVOKE_FAMILY).await?;
            tx.execute(&revoke, &[&session_id]).await?;
            tx.commit().await?;
            tracing::warn!(session_id = %session_id, "refresh token reused; session revoked");
            return Err(AuthError::RefreshTokenReused);
        }
        if row.get::<_, bool>("expired") {
            return Err(AuthError::TokenExpired);
        }
        let user_id: Uuid = row.get("user_id");
        let spend = tx.prepare_cached(SPEND_REFRESH).await?;
        tx.execute(&spend, &[&hash]).await?;
        let touch = tx.prepare_cached(TOUCH_SESSION).await?;
        tx.execute(&touch, &[&session_id]).await?;
        let user = fetch_user(&tx, user_id).await?;
        let session = self.issue(&tx, session_id, &user).await?;
        tx.commit().await?;
        Ok((user, session))
    }

    /// End this session, or all of the user's sessions.
    #[tracing::instrument(skip_all, fields(scope = ?scope))]
    pub async fn logout(&self, caller: &Caller, scope: LogoutScope) -> Result<(), AuthError> {
        let client = self.pool.get().await?;
        match scope {
            LogoutScope::Local => {
                let end = client.prepare_cached(END_SESSION).await?;
                client.execute(&end, &[&caller.session_id]).await?;
            }
            LogoutScope::Global => {
                let end = client.prepare_cached(END_ALL_SESSIONS).await?;
                client.execute(&end, &[&caller.user_id]).await?;
            }
        }
        Ok(())
    }

    /// The caller's account and, for artists, their profile.
    #[tracing::instrument(skip_all)]
    pub async fn me(&self, caller: &Caller) -> Result<(User, Option<ArtistProfile>), AuthError> {
        let client = self.pool.get().await?;
        let user = fetch_user(&client, caller.user_id).await?;
        let artist = if user.roles.contains(&Role::Artist) {
            profiles::artist_for_user(&client, user.id).await?
        } else {
            None
        };
        Ok((user, artist))
    }
}

async fn fetch_user(db: &impl GenericClient, id: Uuid) -> Result<User, AuthError> {
    let select = db.prepare_cached(SELECT_USER).await?;
    let row = db
        .query_opt(&select, &[&id])
        .await?
        .ok_or(AuthError::SessionEnded)?;
    Ok(User::from_row(&row))
}

/// Turns a Bearer header into a [`Caller`]: signature and expiry in memory, then one
/// primary-key lookup so that a logged-out session is refused at once.
#[derive(Clone)]
pub struct Authenticator {
    pool: Pool,
    keys: Arc<JwtKeys>,
}

impl Authenticator {
    pub fn new(pool: Pool, keys: Arc<JwtKeys>) -> Self {
        Self { pool, keys }
    }

    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let header = authorization.ok_or(AuthError::MissingCredentials)?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::MissingCredentials)?;
        let claims = self.keys.verify(token)?;
        let client = self.pool.get().await?;
        let live = client.prepare_cached(SESSION_IS_LIVE).await?;
        if client
            .query_opt(&live, &[&claims.sid, &claims.sub])
            .await?
            .is_none()
        {
            return Err(AuthError::SessionEnded);
        }
        Ok(Caller {
            user_id: claims.sub,
            session_id: claims.sid,
            roles: claims.roles,
        })
    }
}
