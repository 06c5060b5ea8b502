//! Checking in at an event: the function `checkin`. A listener presents the event's current
//! token (events.rs) inside its time window and, when the event has a place, from within its
//! radius; they check in once, and the event's release (if any) is granted in the same
//! transaction. Wrong tokens count toward the caller's failure budget (throttle.rs): eight
//! digits are 10⁸ guesses, and ten an hour make guessing one hopeless.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{GateError, Outcome};
use super::events::{event_secret, token_matches};
use super::keys::EventKeys;
use super::redeem::Grant;
use super::throttle::{self, Gate};
use crate::db::{self, Setting, Tx};
use crate::ids::{EventId, ReleaseId, UserId};

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// `POST /v1/checkin`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    pub event_id: EventId,
    /// The token the event shows now (or showed in the last 30 s).
    pub token: String,
    /// Where the listener is, when the event has a place.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Checkin {
    pub event_id: EventId,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_in_at: OffsetDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckedIn {
    pub checkin: Checkin,
    /// What the check-in granted, if the event names a release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
}

const EVENT: &str = "\
    SELECT id, release_id, starts_at, ends_at, lat, lon, radius_m,
           secret_sealed, secret_nonce, secret_key_id
      FROM events WHERE id = $1";

const RECORD: &str = "\
    INSERT INTO checkins (event_id, user_id) VALUES ($1, $2)
    ON CONFLICT (event_id, user_id) DO NOTHING
    RETURNING checked_in_at";

const ENTITLE: &str = "\
    INSERT INTO entitlements (user_id, release_id, source) VALUES ($1, $2, 'event')
    ON CONFLICT (user_id, release_id) DO NOTHING";

/// Great-circle distance in metres between two points given in degrees (the haversine
/// formula; a sphere is within 0.5 % of the ellipsoid, far inside any radius an event sets).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

fn validate(input: &CheckinRequest) -> Result<(), GateError> {
    let mut problems = crate::fields::FieldErrors::new();
    if input.token.len() > 32 {
        problems.insert("token", "is too long".into());
    }
    if input.lat.is_some_and(|lat| !(-90.0..=90.0).contains(&lat)) {
        problems.insert("lat", "must be between -90 and 90".into());
    }
    if input
        .lon
        .is_some_and(|lon| !(-180.0..=180.0).contains(&lon))
    {
        problems.insert("lon", "must be between -180 and 180".into());
    }
    if input.lat.is_some() != input.lon.is_some() {
        problems.insert("lat", "lat and lon come together".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GateError::Invalid(problems))
    }
}

/// Check `user` in, in the caller's transaction (their settings already name them).
#[tracing::instrument(skip_all, fields(event_id = %input.event_id))]
pub async fn check_in(
    tx: &Tx<'_>,
    keys: &EventKeys,
    user: UserId,
    input: &CheckinRequest,
) -> Result<Outcome<CheckedIn>, GateError> {
    validate(input)?;
    throttle::admit(tx, user, Gate::Checkin).await?;
    let result = attend(tx, keys, user, input).await;
    throttle::settle(tx, user, Gate::Checkin, result).await
}

async fn attend(
    tx: &Tx<'_>,
    keys: &EventKeys,
    user: UserId,
    input: &CheckinRequest,
) -> Result<CheckedIn, GateError> {
    let event_id = input.event_id;
    db::set(tx, &[(Setting::EventId, &event_id.to_string())]).await?;
    let statement = tx.prepare_cached(EVENT).await?;
    let row = tx
        .query_opt(&statement, &[&event_id])
        .await?
        .ok_or(GateError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let secret = event_secret(&row, keys, event_id)?;
    if !token_matches(
        &secret,
        input.token.trim(),
        now.unix_timestamp().max(0) as u64,
    )? {
        return Err(GateError::Forbidden {
            reason: "invalid_token",
            message: "This is not the event's current check-in token.",
        });
    }
    let starts_at: OffsetDateTime = row.get("starts_at");
    let ends_at: OffsetDateTime = row.get("ends_at");
    if now < starts_at || now >= ends_at {
        return Err(GateError::Forbidden {
            reason: "outside_window",
            message: "Check-in is open only while the event runs.",
        });
    }
    let place: Option<(f64, f64, i32)> = match (row.get("lat"), row.get("lon"), row.get("radius_m"))
    {
        (Some(lat), Some(lon), Some(radius)) => Some((lat, lon, radius)),
        _ => None,
    };
    if let Some((lat, lon, radius)) = place {
        let Some((at_lat, at_lon)) = input.lat.zip(input.lon) else {
            return Err(GateError::Forbidden {
                reason: "location_required",
                message: "This event checks where you are: send lat and lon.",
            });
        };
        if distance_m(lat, lon, at_lat, at_lon) > f64::from(radius) {
            return Err(GateError::Forbidden {
                reason: "outside_place",
                message: "You are too far from the event to check in.",
            });
        }
    }
    let record = tx.prepare_cached(RECORD).await?;
    let Some(checked) = tx.query_opt(&record, &[&event_id, &user]).await? else {
        return Err(GateError::Conflict {
            code: "already_checked_in",
            message: "You have already checked in at this event.",
        });
    };
    let release: Option<ReleaseId> = row.get("release_id");
    if let Some(release_id) = release {
        let entitle = tx.prepare_cached(ENTITLE).await?;
        tx.execute(&entitle, &[&user, &release_id]).await?;
    }
    Ok(CheckedIn {
        checkin: Checkin {
            event_id,
            checked_in_at: checked.get("checked_in_at"),
        },
        grant: release.map(|release_id| Grant::Release { release_id }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_known_great_circles() {
        // Paris (Notre-Dame) to London (Trafalgar Square): about 343.5 km.
        let d = distance_m(48.8530, 2.3499, 51.5080, -0.1281);
        assert!((d - 343_500.0).abs() < 1_500.0, "{d}");
        // A quarter of the equator.
        let q = distance_m(0.0, 0.0, 0.0, 90.0);
        assert!((q - 10_007_557.0).abs() < 100.0, "{q}");
        assert_eq!(distance_m(10.0, 20.0, 10.0, 20.0), 0.0);
        // Antipodes do not overflow asin.
        assert!(distance_m(0.0, 0.0, 0.0, 180.0).is_finite());
        // 0.001° of latitude is about 111 m.
        let m = distance_m(52.0, 13.0, 52.001, 13.0);
        assert!((m - 111.2).abs() < 0.5, "{m}");
    }
}
