//! A listener's taste: votes, the private preference vector they move, and listening sessions.
//!
//! The model (README, "Taste: the model"). Every analysed track is a unit vector `x` (its
//! embedding centred and normalised, `taste_point()` in SQL). A vote `y ∈ {-1, +1}` on a track
//! takes one gradient step of the linear loss `L(w) = -Σ y·⟨w, x⟩`, whose gradient is `-y·x`:
//! `w ← w + η·y·x`. Being linear, the steps commute, so concurrent votes give the same vector in
//! any order, and replacing or withdrawing a vote subtracts exactly what it added. Suggestions
//! read the vector held to the norm bound `B` (`w·min(1, B/‖w‖)`), so no amount of voting lets
//! taste outweigh what a track sounds like by more than `TASTE_WEIGHT·B`.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;

use super::error::ListenerError;
use crate::ids::{TrackId, UserId};

/// Dimensions of a taste point (the audio embedding's features).
pub const TASTE_DIMS: usize = 5;
/// η: how far one vote moves the preference vector (a unit track vector times this).
pub const LEARNING_RATE: f64 = 0.25;
/// B: the norm suggestions hold the preference vector to.
pub const NORM_BOUND: f64 = 1.0;
/// A listener is active this long after their last heartbeat.
pub const ACTIVE_FOR_SECS: i64 = 3600;

pub type TasteVector = [f64; TASTE_DIMS];

/// The track a vote is cast on, if the voter reaches it, and its point (NULL until analysed).
const VOTED_TRACK: &str = "\
    SELECT point_coords(t.taste_point) AS point
      FROM tracks t JOIN releases r ON r.id = t.release_id
     WHERE t.id = $2 AND release_reach(r, $1, NULL) <> 'hidden'";

/// Every vote of a listener goes through their vector's row lock: concurrent votes queue here and
/// each reads the vector (and its own previous vote) as the one before it left them.
const LOCK_VECTOR: &str = "\
    INSERT INTO taste_vectors (user_id, vector) VALUES ($1, '{0,0,0,0,0}')
    ON CONFLICT (user_id) DO NOTHING";
const READ_VECTOR: &str = "SELECT vector, votes FROM taste_vectors WHERE user_id = $1 FOR UPDATE";
const PREVIOUS_VOTE: &str =
    "SELECT value, point FROM track_votes WHERE user_id = $1 AND track_id = $2";
const UPSERT_VOTE: &str = "\
    INSERT INTO track_votes (user_id, track_id, value, point) VALUES ($1, $2, $3, $4)
    ON CONFLICT (user_id, track_id)
    DO UPDATE SET value = excluded.value, point = excluded.point, voted_at = now()";
const DELETE_VOTE: &str = "DELETE FROM track_votes WHERE user_id = $1 AND track_id = $2";
const WRITE_VECTOR: &str =
    "UPDATE taste_vectors SET vector = $2, votes = $3, updated_at = now() WHERE user_id = $1";

/// Cast (`Some(±1)`) or withdraw (`None`) the listener's vote on a track, moving their vector
/// accordingly; answers the vote now standing. Casting needs a track the listener reaches (its
/// album page shows); withdrawing always succeeds, so a vote on a track that has since gone can
/// still be taken back. Run it in the request's transaction.
#[tracing::instrument(skip(db))]
pub async fn vote(
    db: &impl GenericClient,
    listener: UserId,
    track: TrackId,
    value: Option<i16>,
) -> Result<Option<i16>, ListenerError> {
    let point: Option<Vec<f64>> = match value {
        Some(v) => {
            if v != 1 && v != -1 {
                return Err(crate::fields::one("value", "must be -1 or 1").into());
            }
            let statement = db.prepare_cached(VOTED_TRACK).await?;
            let row = db
                .query_opt(&statement, &[&listener, &track])
                .await?
                .ok_or(ListenerError::NotFound)?;
            row.get("point")
        }
        None => None,
    };
    db.execute(&db.prepare_cached(LOCK_VECTOR).await?, &[&listener])
        .await?;
    let row = db
        .query_one(&db.prepare_cached(READ_VECTOR).await?, &[&listener])
        .await?;
    let mut vector = to_vector(&row.get::<_, Vec<f64>>("vector"));
    let mut votes: i32 = row.get("votes");
    let previous = db
        .query_opt(
            &db.prepare_cached(PREVIOUS_VOTE).await?,
            &[&listener, &track],
        )
        .await?;
    if let Some(previous) = &previous {
        // Undo the step the old vote took.
        let old_value: i16 = previous.get("value");
        if let Some(old_point) = previous.get::<_, Option<Vec<f64>>>("point") {
            step(&mut vector, -f64::from(old_value), &old_point);
        }
        votes -= 1;
    }
    match value {
        Some(v) => {
            if let Some(point) = &point {
                step(&mut vector, f64::from(v), point);
            }
            votes += 1;
            let statement = db.prepare_cached(UPSERT_VOTE).await?;
            db.execute(&statement, &[&listener, &track, &v, &point])
                .await?;
        }
        None => {
            let statement = db.prepare_cached(DELETE_VOTE).await?;
            db.execute(&statement, &[&listener, &track]).await?;
        }
    }
    let statement = db.prepare_cached(WRITE_VECTOR).await?;
    db.execute(&statement, &[&listener, &vector.to_vec(), &votes.max(0)])
        .await?;
    Ok(value)
}

/// One gradient step of the linear loss for a vote of sign `y` on a track at `point`.
fn step(vector: &mut TasteVector, y: f64, point: &[f64]) {
    for (w, x) in vector.iter_mut().zip(point) {
        *w += LEARNING_RATE * y * x;
    }
}

fn to_vector(values: &[f64]) -> TasteVector {
    let mut vector = [0.0; TASTE_DIMS];
    for (w, v) in vector.iter_mut().zip(values) {
        *w = *v;
    }
    vector
}

/// The vector held to the norm bound, as suggestions use it; `None` for a zero vector.
pub fn held(vector: &TasteVector) -> Option<TasteVector> {
    let norm = vector.iter().map(|w| w * w).sum::<f64>().sqrt();
    if norm < 1e-9 {
        return None;
    }
    let factor = (NORM_BOUND / norm).min(1.0);
    Some(vector.map(|w| w * factor))
}

const OWN_VECTOR: &str = "SELECT vector FROM taste_vectors WHERE user_id = $1";

/// The listener's preference vector as stored (the sum of their votes' steps), if they voted.
pub async fn preference(
    db: &impl GenericClient,
    listener: UserId,
) -> Result<Option<TasteVector>, ListenerError> {
    let statement = db.prepare_cached(OWN_VECTOR).await?;
    Ok(db
        .query_opt(&statement, &[&listener])
        .await?
        .map(|row| to_vector(&row.get::<_, Vec<f64>>("vector"))))
}

const HEARTBEAT: &str = "\
    INSERT INTO listening_sessions (user_id, last_beat_at) VALUES ($1, now())
    ON CONFLICT (user_id) DO UPDATE SET last_beat_at = now()
    RETURNING last_beat_at + make_interval(secs => $2) AS active_until";

/// Keep the listener active for `ACTIVE_FOR_SECS` from now; answers until when.
#[tracing::instrument(skip(db))]
pub async fn heartbeat(
    db: &impl GenericClient,
    listener: UserId,
) -> Result<OffsetDateTime, ListenerError> {
    let statement = db.prepare_cached(HEARTBEAT).await?;
    let row = db
        .query_one(&statement, &[&listener, &(ACTIVE_FOR_SECS as f64)])
        .await?;
    Ok(row.get("active_until"))
}

const PRUNE_SESSIONS: &str = "\
    DELETE FROM listening_sessions WHERE user_id IN (
        SELECT user_id FROM listening_sessions
         WHERE last_beat_at < now() - make_interval(secs => $1)
         ORDER BY last_beat_at LIMIT $2)";

/// Remove at most `limit` sessions idle for longer than `ACTIVE_FOR_SECS` (the janitors, service
/// context): they no longer count as active, so they are only rows. How many went.
pub async fn prune_listening_sessions(
    db: &impl GenericClient,
    limit: i64,
) -> Result<u64, ListenerError> {
    let statement = db.prepare_cached(PRUNE_SESSIONS).await?;
    Ok(db
        .execute(&statement, &[&(ACTIVE_FOR_SECS as f64), &limit])
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_commute_and_undo_exactly() {
        let a = [0.6, 0.0, 0.8, 0.0, 0.0];
        let b = [0.0, 1.0, 0.0, 0.0, 0.0];
        let mut one = [0.0; TASTE_DIMS];
        step(&mut one, 1.0, &a);
        step(&mut one, -1.0, &b);
        let mut other = [0.0; TASTE_DIMS];
        step(&mut other, -1.0, &b);
        step(&mut other, 1.0, &a);
        assert_eq!(one, other);
        step(&mut one, -1.0, &a);
        step(&mut one, 1.0, &b);
        assert!(one.iter().all(|w| w.abs() < 1e-15), "{one:?}");
    }

    #[test]
    fn the_bound_holds_the_norm_and_keeps_the_direction() {
        let big = [3.0, 4.0, 0.0, 0.0, 0.0];
        let held = held(&big).unwrap();
        let norm = held.iter().map(|w| w * w).sum::<f64>().sqrt();
        assert!((norm - NORM_BOUND).abs() < 1e-12);
        assert!((held[0] / held[1] - 0.75).abs() < 1e-12);
        let small = [0.1, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(super::held(&small), Some(small));
        assert_eq!(super::held(&[0.0; TASTE_DIMS]), None);
    }
}
