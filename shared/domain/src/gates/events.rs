//! Events in the studio, and their rotating check-in tokens.
//!
//! Each event has a random 160-bit secret, sealed with AES-256-GCM under the active EVENT_KEYS
//! key (keys.rs) with the event's id as associated data. Its check-in token is TOTP (RFC 6238,
//! through `totp-rs`): HMAC-SHA256 of the secret and the 30-second time step, eight digits. The
//! studio shows the current one; a check-in accepts the current and the previous step
//! (checkin.rs), so a token read at the end of its step still works for the next 30 s.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use totp_rs::{Algorithm, TOTP};

use super::error::GateError;
use super::keys::{EventKeys, Sealed};
use crate::db::Tx;
use crate::fields::FieldErrors;
use crate::ids::{ArtistId, EventId, ReleaseId};

pub const TOKEN_STEP_SECS: u64 = 30;
pub const TOKEN_DIGITS: usize = 8;
/// The radius of a place given without one.
pub const DEFAULT_RADIUS_M: i32 = 200;
pub const MAX_EVENT_DAYS: i64 = 31;
const SECRET_BYTES: usize = 20;

/// `POST /v1/studio/events`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// The place, if check-ins must be near it: latitude and longitude in degrees.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// How near, in metres (10–100 000; default 200 when a place is given).
    pub radius_m: Option<i32>,
    /// The artist's own release a check-in grants.
    pub release_id: Option<ReleaseId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: EventId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub radius_m: Option<i32>,
    pub release_id: Option<ReleaseId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The token to show now, and when it rotates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckinToken {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

const OWN_RELEASE: &str = "SELECT 1 FROM releases WHERE id = $1";

const INSERT_EVENT: &str = "\
    INSERT INTO events (id, artist_id, release_id, name, starts_at, ends_at, lat, lon, radius_m,
                        secret_sealed, secret_nonce, secret_key_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    RETURNING created_at";

const EVENT_SECRET: &str = "\
    SELECT secret_sealed, secret_nonce, secret_key_id FROM events WHERE id = $1";

fn validate(input: &NewEvent) -> Result<(String, Option<i32>), GateError> {
    let mut problems = FieldErrors::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        problems.insert("name", "must be 1-200 characters".into());
    }
    if input.ends_at <= input.starts_at {
        problems.insert("ends_at", "must be after starts_at".into());
    } else if input.ends_at - input.starts_at > time::Duration::days(MAX_EVENT_DAYS) {
        problems.insert(
            "ends_at",
            format!("an event lasts at most {MAX_EVENT_DAYS} days"),
        );
    }
    let radius = match (input.lat, input.lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                problems.insert("lat", "must be between -90 and 90".into());
            }
            if !(-180.0..=180.0).contains(&lon) {
                problems.insert("lon", "must be between -180 and 180".into());
            }
            let radius = input.radius_m.unwrap_or(DEFAULT_RADIUS_M);
            if !(10..=100_000).contains(&radius) {
                problems.insert("radius_m", "must be between 10 and 100000 metres".into());
            }
            Some(radius)
        }
        (None, None) => {
            if input.radius_m.is_some() {
                problems.insert("radius_m", "needs lat and lon".into());
            }
            None
        }
        (Some(_), None) => {
            problems.insert("lon", "is required with lat".into());
            None
        }
        (None, Some(_)) => {
            problems.insert("lat", "is required with lon".into());
            None
        }
    };
    if problems.is_empty() {
        Ok((name.to_owned(), radius))
    } else {
        Err(GateError::Invalid(problems))
    }
}

/// Create an event of the caller's artist, in the caller's transaction.
#[tracing::instrument(skip(tx, keys, input))]
pub async fn create_event(
    tx: &Tx<'_>,
    keys: &EventKeys,
    artist: ArtistId,
    input: NewEvent,
) -> Result<Event, GateError> {
    let (name, radius_m) = validate(&input)?;
    if let Some(release) = input.release_id {
        let statement = tx.prepare_cached(OWN_RELEASE).await?;
        if tx.query_opt(&statement, &[&release]).await?.is_none() {
            return Err(GateError::field("release_id", "no such release of yours"));
        }
    }
    let id = EventId::generate();
    let mut secret = [0_u8; SECRET_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let sealed = keys
        .seal(&secret, id.as_uuid().as_bytes())
        .map_err(GateError::Internal)?;
    let statement = tx.prepare_cached(INSERT_EVENT).await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &id,
                &artist,
                &input.release_id,
                &name,
                &input.starts_at,
                &input.ends_at,
                &input.lat,
                &input.lon,
                &radius_m,
                &sealed.ciphertext,
                &sealed.nonce.as_slice(),
                &sealed.key_id,
            ],
        )
        .await?;
    Ok(Event {
        id,
        name,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        lat: input.lat,
        lon: input.lon,
        radius_m,
        release_id: input.release_id,
        created_at: row.get("created_at"),
    })
}

/// The event's secret, opened (any role that can see the row: the studio its own, the
/// check-in the one named).
pub(crate) fn event_secret(
    row: &tokio_postgres::Row,
    keys: &EventKeys,
    id: EventId,
) -> Result<Vec<u8>, GateError> {
    let nonce: Vec<u8> = row.get("secret_nonce");
    let sealed = Sealed {
        ciphertext: row.get("secret_sealed"),
        nonce: nonce
            .try_into()
            .map_err(|_| GateError::Internal(anyhow::anyhow!("event nonce is not 12 bytes")))?,
        key_id: row.get("secret_key_id"),
    };
    keys.open(&sealed, id.as_uuid().as_bytes())
        .map_err(GateError::Internal)
}

/// The current check-in token of the caller's own event `id`.
pub async fn current_token(
    tx: &Tx<'_>,
    keys: &EventKeys,
    id: EventId,
    now: OffsetDateTime,
) -> Result<CheckinToken, GateError> {
    let statement = tx.prepare_cached(EVENT_SECRET).await?;
    let row = tx
        .query_opt(&statement, &[&id])
        .await?
        .ok_or(GateError::NotFound)?;
    let secret = event_secret(&row, keys, id)?;
    let unix = now.unix_timestamp().max(0) as u64;
    let step_end = (unix / TOKEN_STEP_SECS + 1) * TOKEN_STEP_SECS;
    Ok(CheckinToken {
        token: token_at(&secret, unix)?,
        expires_at: OffsetDateTime::from_unix_timestamp(step_end as i64)
            .map_err(|e| GateError::Internal(e.into()))?,
    })
}

fn totp(secret: &[u8]) -> Result<TOTP, GateError> {
    TOTP::new(
        Algorithm::SHA256,
        TOKEN_DIGITS,
        0,
        TOKEN_STEP_SECS,
        secret.to_vec(),
    )
    .map_err(|e| GateError::Internal(anyhow::anyhow!("TOTP parameters: {e:?}")))
}

/// The token of the step `unix` falls in.
pub fn token_at(secret: &[u8], unix: u64) -> Result<String, GateError> {
    Ok(totp(secret)?.generate(unix))
}

/// Whether `token` is the current step's or the previous step's (compared in constant time).
pub fn token_matches(secret: &[u8], token: &str, unix: u64) -> Result<bool, GateError> {
    use subtle::ConstantTimeEq as _;
    let totp = totp(secret)?;
    let mut ok = subtle::Choice::from(0);
    for step_back in [0, 1] {
        let at = unix.saturating_sub(step_back * TOKEN_STEP_SECS);
        ok |= totp.generate(at).as_bytes().ct_eq(token.as_bytes());
    }
    Ok(bool::from(ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_for_its_step_and_the_next_then_stops() {
        let secret = [7_u8; SECRET_BYTES];
        let t0 = 1_800_000_000 - 1_800_000_000 % TOKEN_STEP_SECS;
        let token = token_at(&secret, t0).unwrap();
        assert_eq!(token.len(), TOKEN_DIGITS);
        assert!(token_matches(&secret, &token, t0 + 29).unwrap());
        assert!(token_matches(&secret, &token, t0 + 30).unwrap());
        assert!(token_matches(&secret, &token, t0 + 59).unwrap());
        assert!(!token_matches(&secret, &token, t0 + 60).unwrap());
        assert!(
            !token_matches(&secret, &token, t0 - 1).unwrap(),
            "not before its step"
        );
        assert_ne!(token_at(&secret, t0 + 30).unwrap(), token);
        assert!(!token_matches(&[8_u8; SECRET_BYTES], &token, t0).unwrap());
        assert!(!token_matches(&secret, "", t0).unwrap());
    }
}
