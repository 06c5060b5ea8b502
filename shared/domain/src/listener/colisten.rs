//! Co-listening: what listeners play next, counted by the maintenance schedule from the plays
//! received since its last run (never on a request's path), and read by suggestions.
//!
//! A play counts when it lasted `COUNTED_PLAY_MS` or the whole track (shorter plays are skips
//! and are left out, as for popularity). Two counted plays of one listener are consecutive when
//! nothing counted lies between them and the second starts within `SESSION_GAP_SECS` of the
//! first one's end (a longer gap starts a new listening session). Each such ordered pair of
//! tracks by different artists is recorded once per listener (`co_listens`), and its weight is
//! the number of listeners who played it (`co_listen_pairs`): one listener cannot make a pair,
//! and suggestions use only pairs of at least `MIN_PAIR_LISTENERS`.

use deadpool_postgres::GenericClient;

use super::telemetry::COUNTED_PLAY_MS;

/// A gap longer than this between one play's end and the next one's start ends a session.
pub const SESSION_GAP_SECS: i64 = 30 * 60;
/// Listeners a pair needs before suggestions use it.
pub const MIN_PAIR_LISTENERS: i32 = 3;
/// Plays are read up to this long before now, so that none still being inserted is passed over.
pub const SETTLE_SECS: i64 = 5 * 60;

/// One run: the plays received in (progress, now − settle], paired with the counted play before
/// and after each of them (older plays included, so a late play joins its session), recorded
/// once per listener and pair, then the counts raised, and the progress moved — one
/// transaction, so a failed run leaves nothing half-counted.
const REFRESH: &str = "\
    WITH progress AS (
        SELECT received_until AS lo FROM co_listen_progress FOR UPDATE
    ), bounds AS (
        -- At most a day of received plays a run, so a backlog is read in bounded steps.
        SELECT g.lo,
               least(now() - make_interval(secs => $1),
                     coalesce((SELECT min(p.received_at) FROM plays p WHERE p.received_at > g.lo),
                              now()) + interval '1 day') AS hi
          FROM progress g
    ), fresh AS (
        SELECT p.user_id, p.track_id, p.started_at, p.ms_played
          FROM plays p JOIN tracks t ON t.id = p.track_id, bounds b
         WHERE p.received_at > b.lo AND p.received_at <= b.hi
           AND p.ms_played >= least($2, coalesce(t.duration_ms, $2))
    ), pairs AS (
        SELECT f.user_id, prev.track_id AS track_a, f.track_id AS track_b, f.started_at AS at
          FROM fresh f
          CROSS JOIN LATERAL (
              SELECT q.track_id, q.started_at, q.ms_played
                FROM plays q JOIN tracks t ON t.id = q.track_id
               WHERE q.user_id = f.user_id AND q.started_at < f.started_at
                 AND q.started_at > f.started_at - make_interval(secs => $4)
                 AND q.ms_played >= least($2, coalesce(t.duration_ms, $2))
               ORDER BY q.started_at DESC LIMIT 1) prev
         WHERE prev.started_at + make_interval(secs => prev.ms_played / 1000.0::float8 + $3::float8)
               >= f.started_at
        UNION ALL
        SELECT f.user_id, f.track_id, next.track_id, next.started_at
          FROM fresh f
          CROSS JOIN LATERAL (
              SELECT q.track_id, q.started_at
                FROM plays q JOIN tracks t ON t.id = q.track_id
               WHERE q.user_id = f.user_id AND q.started_at > f.started_at
                 AND q.started_at < f.started_at + make_interval(secs => $4)
                 AND q.ms_played >= least($2, coalesce(t.duration_ms, $2))
               ORDER BY q.started_at LIMIT 1) next
         WHERE f.started_at + make_interval(secs => f.ms_played / 1000.0::float8 + $3::float8)
               >= next.started_at
    ), across_artists AS (
        SELECT DISTINCT ON (p.track_a, p.track_b, p.user_id) p.*
          FROM pairs p
          JOIN tracks ta ON ta.id = p.track_a JOIN releases ra ON ra.id = ta.release_id
          JOIN tracks tb ON tb.id = p.track_b JOIN releases rb ON rb.id = tb.release_id
         WHERE ra.artist_id <> rb.artist_id
         ORDER BY p.track_a, p.track_b, p.user_id, p.at
    ), recorded AS (
        INSERT INTO co_listens (track_a, track_b, user_id, first_at)
        SELECT track_a, track_b, user_id, at FROM across_artists
        ON CONFLICT DO NOTHING
        RETURNING track_a, track_b
    ), raised AS (
        INSERT INTO co_listen_pairs (track_a, track_b, listeners)
        SELECT track_a, track_b, count(*) FROM recorded GROUP BY track_a, track_b
        ON CONFLICT (track_a, track_b)
        DO UPDATE SET listeners = co_listen_pairs.listeners + excluded.listeners
        RETURNING 1
    ), moved AS (
        UPDATE co_listen_progress
           SET received_until = greatest(received_until, (SELECT hi FROM bounds))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM fresh) AS plays, (SELECT count(*) FROM recorded) AS pairs,
           (SELECT count(*) FROM moved) + (SELECT count(*) FROM raised) AS written";

/// How far back (or ahead) a neighbouring play may start: the longest master (30 minutes, with
/// the telemetry's slack) plus the session gap.
const NEIGHBOUR_WINDOW_SECS: i64 = 30 * 60 + 10 + SESSION_GAP_SECS;

/// What a run read and recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CoListenRun {
    /// Counted plays received since the last run.
    pub plays: i64,
    /// New (listener, pair) contributions.
    pub pairs: i64,
}

/// Read the plays received since the last run into the co-listening counts. Run it in a
/// service context (no user), as the maintenance role.
#[tracing::instrument(skip(db))]
pub async fn refresh_co_listening(
    db: &impl GenericClient,
) -> Result<CoListenRun, crate::db::DbError> {
    let statement = db.prepare_cached(REFRESH).await?;
    let row = db
        .query_one(
            &statement,
            &[
                &(SETTLE_SECS as f64),
                &COUNTED_PLAY_MS,
                &(SESSION_GAP_SECS as f64),
                &(NEIGHBOUR_WINDOW_SECS as f64),
            ],
        )
        .await?;
    Ok(CoListenRun {
        plays: row.get("plays"),
        pairs: row.get("pairs"),
    })
}
