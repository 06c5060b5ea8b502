//! Telemetry: batches of plays and player events, validated item by item (the bad ones are
//! reported, the rest kept), each batch stored with one INSERT that ignores ids already seen.

use std::collections::{HashMap, HashSet};

use crate::db::Tx;
use deadpool_postgres::GenericClient;
use postgres_types::ToSql;
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::error::ListenerError;
use super::telemetry_rules::{
    EventInput, MAX_AGE, MAX_BATCH, PlayInput, TrackFacts, check_event, check_play,
};
use crate::ids::{TrackId, UserId};

/// What became of a batch: `accepted` rows are new, `duplicates` were already stored (or repeated
/// within the batch), and `details.rejected` lists the refused items.
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Ingested {
    pub accepted: u64,
    pub duplicates: u64,
    pub details: IngestDetails,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct IngestDetails {
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Rejected {
    pub index: usize,
    pub id: Uuid,
    pub problem: &'static str,
}

/// Reach of each track as seen by `listener`, with no share token presented (telemetry carries
/// none): an unlisted release's tracks are unknown here, as row-level security has them. A
/// track of a public release open to everyone is streamable by anyone (`release_reach`'s first
/// rule), which the track's own row tells (V34); only the others' releases are read.
const TRACK_FACTS: &str = "\
    SELECT t.id, t.duration_ms,
           CASE WHEN t.public AND t.open_from <= now() THEN 'stream'::release_reach
                ELSE coalesce((SELECT release_reach(r, $2, NULL) FROM releases r
                                WHERE r.id = t.release_id), 'hidden')
           END AS reach
      FROM tracks t
     WHERE t.id = ANY ($1)";

async fn track_facts(
    db: &impl GenericClient,
    listener: UserId,
    ids: &[TrackId],
) -> Result<HashMap<TrackId, TrackFacts>, ListenerError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let statement = db.prepare_cached(TRACK_FACTS).await?;
    let rows = db.query(&statement, &[&ids, &listener]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                row.get("id"),
                TrackFacts {
                    duration_ms: row.get("duration_ms"),
                    reach: row.get("reach"),
                },
            )
        })
        .collect())
}

/// Plays per listener, track and UTC day that count toward popularity and stats.
pub const COUNTED_PLAYS_PER_DAY: i32 = 3;
/// A play counts once it lasted this long (or the whole track, for shorter ones).
pub const COUNTED_PLAY_MS: i32 = 30_000;

/// One statement per batch: every new play is stored, ids already seen are ignored (the command's
/// row count is the new ones: no RETURNING to collect). Which plays
/// count toward popularity and stats (and the cap per listener, track and day) is the stats
/// schedule's work (`stats::refresh_stats`), not the request's.
const INSERT_PLAYS: &str = "\
    INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed, source)
    SELECT i.id, i.started_at, $7, i.track_id, i.ms_played, i.completed, i.source
      FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::int[], $5::bool[],
                  $6::play_source[])
           AS i(id, started_at, track_id, ms_played, completed, source)
    ON CONFLICT DO NOTHING";

const INSERT_EVENTS: &str = "\
    INSERT INTO listen_events (id, at, user_id, type, track_id, props)
    SELECT i.id, i.at, $6, i.type, i.track_id, coalesce(i.props, '{}')
      FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[], $5::jsonb[])
           AS i(id, at, type, track_id, props)
    ON CONFLICT DO NOTHING";

fn too_many(field: &'static str, len: usize) -> Option<ListenerError> {
    (len > MAX_BATCH).then(|| ListenerError::field(field, format!("at most {MAX_BATCH} items")))
}

/// Store a batch of plays for `listener`: validate, then one INSERT.
#[tracing::instrument(skip(db, plays), fields(items = plays.len()))]
pub async fn record_plays(
    db: &Tx<'_>,
    listener: UserId,
    plays: &[PlayInput],
    now: OffsetDateTime,
) -> Result<Ingested, ListenerError> {
    if let Some(err) = too_many("plays", plays.len()) {
        return Err(err);
    }
    let mut ids: Vec<TrackId> = plays.iter().map(|p| p.track_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let facts = track_facts(db, listener, &ids).await?;

    let mut rejected = Vec::new();
    let mut seen = HashSet::with_capacity(plays.len());
    let mut repeated = 0;
    let n = plays.len();
    let (mut id, mut started_at, mut track_id) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut ms_played, mut completed, mut source) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (index, play) in plays.iter().enumerate() {
        let track = facts.get(&play.track_id);
        match check_play(play, track, now) {
            Err(problem) => rejected.push(Rejected {
                index,
                id: play.id,
                problem,
            }),
            Ok(_) if !seen.insert(play.id) => repeated += 1,
            Ok(play_source) => {
                id.push(play.id);
                started_at.push(play.started_at);
                track_id.push(play.track_id);
                // check_play bounds it by the track's duration (an i32) plus the slack.
                ms_played.push(i32::try_from(play.ms_played).unwrap_or(i32::MAX));
                completed.push(play.completed);
                source.push(play_source);
            }
        }
    }
    let accepted = if id.is_empty() {
        0
    } else {
        let params: [&(dyn ToSql + Sync); 7] = [
            &id,
            &started_at,
            &track_id,
            &ms_played,
            &completed,
            &source,
            &listener,
        ];
        insert_batch(db, INSERT_PLAYS, "plays", &params, now).await?
    };
    Ok(Ingested {
        accepted,
        duplicates: id.len() as u64 - accepted + repeated,
        details: IngestDetails { rejected },
    })
}

/// Store a batch of player events for `listener`: validate, then one INSERT.
#[tracing::instrument(skip(db, events), fields(items = events.len()))]
pub async fn record_events(
    db: &Tx<'_>,
    listener: UserId,
    events: &[EventInput],
    now: OffsetDateTime,
) -> Result<Ingested, ListenerError> {
    if let Some(err) = too_many("events", events.len()) {
        return Err(err);
    }
    let mut ids: Vec<TrackId> = events.iter().filter_map(|e| e.track_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let facts = track_facts(db, listener, &ids).await?;

    let mut rejected = Vec::new();
    let mut seen = HashSet::with_capacity(events.len());
    let mut repeated = 0;
    let (mut id, mut at, mut kind, mut track_id, mut props) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (index, event) in events.iter().enumerate() {
        let track = event.track_id.map(|t| facts.get(&t));
        match check_event(event, track, now) {
            Err(problem) => rejected.push(Rejected {
                index,
                id: event.id,
                problem,
            }),
            Ok(()) if !seen.insert(event.id) => repeated += 1,
            Ok(()) => {
                id.push(event.id);
                at.push(event.at);
                kind.push(event.kind.as_str());
                track_id.push(event.track_id);
                props.push(event.props.clone().map(serde_json::Value::Object));
            }
        }
    }
    let accepted = if id.is_empty() {
        0
    } else {
        let params: [&(dyn ToSql + Sync); 6] = [&id, &at, &kind, &track_id, &props, &listener];
        insert_batch(db, INSERT_EVENTS, "listen_events", &params, now).await?
    };
    Ok(Ingested {
        accepted,
        duplicates: id.len() as u64 - accepted + repeated,
        details: IngestDetails { rejected },
    })
}

/// Run a batch insert; if a month's partition is missing (nobody ran `partitions ensure` in
/// time), create the partitions the accepted window needs and try once more. The insert runs
/// under a savepoint so that its failure leaves the caller's transaction usable for the retry.
async fn insert_batch(
    db: &Tx<'_>,
    sql: &str,
    table: &str,
    params: &[&(dyn ToSql + Sync)],
    now: OffsetDateTime,
) -> Result<u64, ListenerError> {
    let statement = db.prepare_cached(sql).await?;
    // Sent together, run in order: the savepoint costs no round trip of its own.
    let (saved, inserted) = tokio::join!(
        db.batch_execute("SAVEPOINT telemetry_batch"),
        db.execute(&statement, params),
    );
    saved?;
    match inserted {
        Ok(rows) => Ok(rows),
        Err(err) if is_missing_partition(&err) => {
            tracing::warn!(table, "telemetry partition missing; creating it");
            db.batch_execute("ROLLBACK TO SAVEPOINT telemetry_batch")
                .await?;
            crate::partitions::ensure_table(db, table, now - MAX_AGE, 3).await?;
            Ok(db.execute(&statement, params).await?)
        }
        Err(err) => Err(err.into()),
    }
}

fn is_missing_partition(err: &tokio_postgres::Error) -> bool {
    err.as_db_error().is_some_and(|db| {
        db.code() == &SqlState::CHECK_VIOLATION && db.message().starts_with("no partition")
    })
}
