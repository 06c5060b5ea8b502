//! Telemetry: batches of plays and player events, validated item by item (the bad ones are
//! reported, the rest kept), each batch stored with one INSERT that ignores ids already seen.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;
use postgres_types::ToSql;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{ListenerError, Reach};

/// Most items one request may carry.
pub const MAX_BATCH: usize = 500;
/// How far in the future a client clock may be before its items are refused.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Items older than this are refused (they would also fall outside the kept partitions).
pub const MAX_AGE: Duration = Duration::days(30);
/// How much longer than the track a play may claim to be (gapless players, rounding).
pub const PLAY_SLACK_MS: i64 = 10_000;
/// Largest `props` object of an event, serialised.
pub const MAX_PROPS_BYTES: usize = 4096;

#[derive(Debug, Deserialize)]
pub struct PlayInput {
    pub id: Uuid,
    pub track_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub ms_played: i64,
    pub completed: bool,
    pub source: String,
}

#[derive(Debug, Deserialize)]
pub struct EventInput {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub track_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Client-defined; stored as given (a JSON object, at most 4 KiB).
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Where a play was started from (Postgres `play_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSql)]
#[postgres(name = "play_source", rename_all = "snake_case")]
pub enum PlaySource {
    Album,
    Playlist,
    Library,
    Home,
    Search,
    Mix,
    Radio,
    Share,
    Other,
}

impl PlaySource {
    pub fn parse(source: &str) -> Option<Self> {
        Some(match source {
            "album" => Self::Album,
            "playlist" => Self::Playlist,
            "library" => Self::Library,
            "home" => Self::Home,
            "search" => Self::Search,
            "mix" => Self::Mix,
            "radio" => Self::Radio,
            "share" => Self::Share,
            "other" => Self::Other,
            _ => return None,
        })
    }
}

/// What became of a batch: `accepted` rows are new, `duplicates` were already stored (or repeated
/// within the batch), and `details.rejected` lists the refused items.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Ingested {
    pub accepted: u64,
    pub duplicates: u64,
    pub details: IngestDetails,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct IngestDetails {
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    pub id: Uuid,
    pub problem: &'static str,
}

/// What validation needs to know about a track.
#[derive(Debug, Clone, Copy)]
pub struct TrackFacts {
    pub duration_ms: Option<i32>,
    pub reach: Reach,
}

fn check_time(at: OffsetDateTime, now: OffsetDateTime) -> Result<(), &'static str> {
    if at > now + CLOCK_SKEW {
        Err("in_future")
    } else if at < now - MAX_AGE {
        Err("too_old")
    } else {
        Ok(())
    }
}

/// One play against the rules; the problem is a stable snake_case word.
pub fn check_play(
    play: &PlayInput,
    track: Option<&TrackFacts>,
    now: OffsetDateTime,
) -> Result<PlaySource, &'static str> {
    let track = match track {
        None
        | Some(TrackFacts {
            reach: Reach::Hidden,
            ..
        }) => return Err("unknown_track"),
        Some(TrackFacts {
            reach: Reach::Page, ..
        }) => return Err("gated"),
        Some(track) => track,
    };
    let source = PlaySource::parse(&play.source).ok_or("unknown_source")?;
    if play.ms_played < 0 {
        return Err("negative_ms_played");
    }
    if let Some(duration) = track.duration_ms
        && play.ms_played > i64::from(duration) + PLAY_SLACK_MS
    {
        return Err("ms_played_exceeds_duration");
    }
    check_time(play.started_at, now)?;
    Ok(source)
}

/// One event against the rules.
pub fn check_event(
    event: &EventInput,
    track: Option<Option<&TrackFacts>>,
    now: OffsetDateTime,
) -> Result<(), &'static str> {
    let kind_ok = event.kind.len() <= 40
        && event.kind.starts_with(|c: char| c.is_ascii_lowercase())
        && event
            .kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !kind_ok {
        return Err("invalid_type");
    }
    if let Some(track) = track {
        match track {
            None
            | Some(TrackFacts {
                reach: Reach::Hidden,
                ..
            }) => return Err("unknown_track"),
            Some(_) => {}
        }
    }
    if let Some(props) = &event.props
        && serde_json::to_vec(props).map_or(true, |b| b.len() > MAX_PROPS_BYTES)
    {
        return Err("props_too_large");
    }
    check_time(event.at, now)
}

/// Reach of each track as seen by `listener`. Holding a track id counts as holding its link:
/// track ids of an unlisted release are only ever shown to those who opened it with the token,
/// and telemetry carries no token.
const TRACK_FACTS: &str = "\
    SELECT t.id, t.duration_ms, release_reach(r, $2, r.share_token) AS reach
      FROM tracks t JOIN releases r ON r.id = t.release_id
     WHERE t.id = ANY ($1)";

async fn track_facts(
    db: &impl GenericClient,
    listener: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, TrackFacts>, ListenerError> {
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

/// Only rows that were really inserted reach the per-day rollup; rollup rows are touched in key
/// order so concurrent batches cannot deadlock.
const INSERT_PLAYS: &str = "\
    WITH inserted AS (
        INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed, source)
        SELECT i.id, i.started_at, $7, i.track_id, i.ms_played, i.completed, i.source
          FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::int[], $5::bool[],
                      $6::play_source[]) AS i(id, started_at, track_id, ms_played, completed, source)
        ON CONFLICT DO NOTHING
        RETURNING track_id, started_at
    ), rolled AS (
        INSERT INTO release_play_days AS d (release_id, day, plays)
        SELECT t.release_id, (i.started_at AT TIME ZONE 'UTC')::date, count(*)
          FROM inserted i JOIN tracks t ON t.id = i.track_id
         GROUP BY 1, 2
         ORDER BY 1, 2
        ON CONFLICT (release_id, day) DO UPDATE SET plays = d.plays + excluded.plays
    )
    SELECT count(*) FROM inserted";

const INSERT_EVENTS: &str = "\
    WITH inserted AS (
        INSERT INTO listen_events (id, at, user_id, type, track_id, props)
        SELECT i.id, i.at, $6, i.type, i.track_id, coalesce(i.props, '{}')
          FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[], $5::jsonb[])
               AS i(id, at, type, track_id, props)
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM inserted";

fn too_many(field: &'static str, len: usize) -> Option<ListenerError> {
    (len > MAX_BATCH).then(|| ListenerError::field(field, format!("at most {MAX_BATCH} items")))
}

/// Store a batch of plays for `listener`: validate, then one INSERT.
#[tracing::instrument(skip(db, plays), fields(items = plays.len()))]
pub async fn record_plays(
    db: &impl GenericClient,
    listener: Uuid,
    plays: &[PlayInput],
    now: OffsetDateTime,
) -> Result<Ingested, ListenerError> {
    if let Some(err) = too_many("plays", plays.len()) {
        return Err(err);
    }
    let mut ids: Vec<Uuid> = plays.iter().map(|p| p.track_id).collect();
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
        match check_play(play, facts.get(&play.track_id), now) {
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
    db: &impl GenericClient,
    listener: Uuid,
    events: &[EventInput],
    now: OffsetDateTime,
) -> Result<Ingested, ListenerError> {
    if let Some(err) = too_many("events", events.len()) {
        return Err(err);
    }
    let mut ids: Vec<Uuid> = events.iter().filter_map(|e| e.track_id).collect();
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
/// time), create the partitions the accepted window needs and try once more.
async fn insert_batch(
    db: &impl GenericClient,
    sql: &str,
    table: &str,
    params: &[&(dyn ToSql + Sync)],
    now: OffsetDateTime,
) -> Result<u64, ListenerError> {
    let statement = db.prepare_cached(sql).await?;
    match db.query_one(&statement, params).await {
        Ok(row) => Ok(row.get::<_, i64>(0) as u64),
        Err(err) if is_missing_partition(&err) => {
            tracing::warn!(table, "telemetry partition missing; creating it");
            crate::partitions::ensure_table(db, table, now - MAX_AGE, 3).await?;
            let row = db.query_one(&statement, params).await?;
            Ok(row.get::<_, i64>(0) as u64)
        }
        Err(err) => Err(err.into()),
    }
}

fn is_missing_partition(err: &tokio_postgres::Error) -> bool {
    err.as_db_error().is_some_and(|db| {
        db.code() == &SqlState::CHECK_VIOLATION && db.message().starts_with("no partition")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(ms_played: i64, started_at: OffsetDateTime, source: &str) -> PlayInput {
        PlayInput {
            id: Uuid::new_v4(),
            track_id: Uuid::new_v4(),
            started_at,
            ms_played,
            completed: false,
            source: source.to_owned(),
        }
    }

    const OPEN: TrackFacts = TrackFacts {
        duration_ms: Some(60_000),
        reach: Reach::Stream,
    };

    #[test]
    fn plays_are_checked_against_track_duration_and_time_window() {
        let now = OffsetDateTime::now_utc();
        let ok = |p: &PlayInput, t| check_play(p, t, now);
        assert_eq!(
            ok(&play(70_000, now, "album"), Some(&OPEN)),
            Ok(PlaySource::Album)
        );
        assert_eq!(
            ok(&play(70_001, now, "album"), Some(&OPEN)),
            Err("ms_played_exceeds_duration")
        );
        assert_eq!(
            ok(&play(-1, now, "album"), Some(&OPEN)),
            Err("negative_ms_played")
        );
        assert_eq!(ok(&play(1, now, "album"), None), Err("unknown_track"));
        assert_eq!(ok(&play(1, now, "tv"), Some(&OPEN)), Err("unknown_source"));
        let gated = TrackFacts {
            reach: Reach::Page,
            ..OPEN
        };
        assert_eq!(ok(&play(1, now, "album"), Some(&gated)), Err("gated"));
        let skewed = now + Duration::minutes(4);
        assert!(ok(&play(1, skewed, "album"), Some(&OPEN)).is_ok());
        let future = now + Duration::minutes(6);
        assert_eq!(ok(&play(1, future, "album"), Some(&OPEN)), Err("in_future"));
        let old = now - Duration::days(31);
        assert_eq!(ok(&play(1, old, "album"), Some(&OPEN)), Err("too_old"));
    }

    #[test]
    fn event_types_are_snake_case_words_and_props_are_small() {
        let now = OffsetDateTime::now_utc();
        let event =
            |kind: &str, props: Option<serde_json::Map<String, serde_json::Value>>| EventInput {
                id: Uuid::new_v4(),
                kind: kind.to_owned(),
                track_id: None,
                at: now,
                props,
            };
        assert_eq!(check_event(&event("seek", None), None, now), Ok(()));
        assert_eq!(
            check_event(&event("Seek", None), None, now),
            Err("invalid_type")
        );
        assert_eq!(
            check_event(&event("", None), None, now),
            Err("invalid_type")
        );
        let big = serde_json::Map::from_iter([("x".to_owned(), "y".repeat(5000).into())]);
        assert_eq!(
            check_event(&event("seek", Some(big)), None, now),
            Err("props_too_large")
        );
        assert_eq!(
            check_event(&event("seek", None), Some(None), now),
            Err("unknown_track")
        );
    }
}
