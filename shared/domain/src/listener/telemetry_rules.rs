//! The rules every telemetry item is checked against: what a play and an event carry, where a
//! play may come from, and the stable snake_case word that names each refusal.

use postgres_types::ToSql;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::viewer::Reach;
use crate::ids::TrackId;

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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PlayInput {
    pub id: Uuid,
    pub track_id: TrackId,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub ms_played: i64,
    pub completed: bool,
    pub source: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EventInput {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub track_id: Option<TrackId>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Client-defined; stored as given (a JSON object, at most 4 KiB).
    #[schema(value_type = Option<Object>)]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn play(ms_played: i64, started_at: OffsetDateTime, source: &str) -> PlayInput {
        PlayInput {
            id: Uuid::new_v4(),
            track_id: TrackId::generate(),
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
