//! Artist stats: per day counted plays, unique listeners, completion rate and saves of a
//! release, and its top tracks, read from daily rollups (migrations/V24) that the maintenance
//! schedule keeps (`refresh_stats`); a read sums at most a year of small rows, never plays.

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::catalog::StudioError;
use crate::db::{DbError, Tx};
use crate::ids::{ReleaseId, TrackId};
use crate::listener::{COUNTED_PLAY_MS, COUNTED_PLAYS_PER_DAY};

/// Days one stats read may cover.
pub const MAX_STATS_DAYS: i64 = 366;
/// Days a read covers when no `from` is given (ending at `to`).
pub const DEFAULT_STATS_DAYS: i64 = 30;
/// Tracks listed in `top_tracks`.
pub const TOP_TRACKS: i64 = 10;
/// How far behind now the schedule reads by default: a play whose transaction is still open
/// when the schedule runs is counted by the next run.
pub const STATS_LAG_SECS: u32 = 60;

/// `GET /v1/studio/stats` query, as received.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The artist's release.
    pub release_id: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC); default: today.
    pub to: Option<String>,
}

/// One UTC day of a release.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsDay {
    #[schema(value_type = String, format = Date)]
    pub day: String,
    /// Plays that count (at least 30 s, at most three a listener a track a day).
    pub plays: i64,
    /// Listeners with a counted play that day.
    pub unique_listeners: i64,
    /// Plays played to the end, of all plays started (`null` without plays).
    pub completion_rate: Option<f64>,
    /// Saves of the release's tracks made that day.
    pub saves: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopTrack {
    pub track_id: TrackId,
    pub title: String,
    /// Counted plays over the range.
    pub plays: i64,
    pub completion_rate: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseStats {
    pub release_id: ReleaseId,
    #[schema(value_type = String, format = Date)]
    pub from: String,
    #[schema(value_type = String, format = Date)]
    pub to: String,
    /// Every day of the range, oldest first (days without activity are zeros).
    pub days: Vec<StatsDay>,
    /// The most played tracks over the range, at most ten.
    pub top_tracks: Vec<TopTrack>,
    /// Plays received up to this moment are counted (the schedule runs every 5 minutes).
    #[serde(with = "time::serde::rfc3339::option")]
    pub as_of: Option<OffsetDateTime>,
}

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn date(name: &'static str, raw: &str) -> Result<Date, StudioError> {
    Date::parse(raw, DATE).map_err(|_| StudioError::field(name, "is not a date (YYYY-MM-DD)"))
}

/// The validated request: the release and the (inclusive) range.
fn parse(query: &StatsQuery, today: Date) -> Result<(ReleaseId, Date, Date), StudioError> {
    let mut problems = crate::fields::FieldErrors::new();
    let release = match query.release_id.as_deref() {
        None => {
            problems.insert("release_id", "is required".into());
            None
        }
        Some(raw) => match raw.parse::<ReleaseId>() {
            Ok(id) => Some(id),
            Err(_) => {
                problems.insert("release_id", "is not a release id".into());
                None
            }
        },
    };
    let mut parse_day = |name: &'static str, raw: Option<&str>| match raw.map(|r| date(name, r)) {
        Some(Ok(day)) => Some(day),
        Some(Err(_)) => {
            problems.insert(name, "is not a date (YYYY-MM-DD)".into());
            None
        }
        None => None,
    };
    let to = parse_day("to", query.to.as_deref());
    let from = parse_day("from", query.from.as_deref());
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - time::Duration::days(DEFAULT_STATS_DAYS - 1));
    if from > to {
        problems.insert("from", "must not be after `to`".into());
    } else if (to - from).whole_days() >= MAX_STATS_DAYS {
        problems.insert(
            "from",
            format!("covers at most {MAX_STATS_DAYS} days with `to`"),
        );
    }
    match release {
        Some(release) if problems.is_empty() => Ok((release, from, to)),
        _ => Err(StudioError::Invalid(problems)),
    }
}

const OWN_RELEASE: &str = "SELECT 1 FROM releases WHERE id = $1";

const DAYS: &str = "\
    SELECT d.day::date::text AS day, coalesce(r.counted, 0) AS counted,
           coalesce(r.listeners, 0) AS listeners, coalesce(r.plays, 0) AS plays,
           coalesce(r.completed, 0) AS completed, coalesce(r.saves, 0) AS saves
      FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
      LEFT JOIN release_stat_days r ON r.release_id = $1 AND r.day = d.day::date
     ORDER BY d.day";

const TOP: &str = "\
    SELECT s.track_id, t.title, sum(s.counted)::bigint AS counted, sum(s.plays)::bigint AS plays,
           sum(s.completed)::bigint AS completed
      FROM track_stat_days s JOIN tracks t ON t.id = s.track_id
     WHERE s.release_id = $1 AND s.day BETWEEN $2 AND $3
     GROUP BY s.track_id, t.title
     ORDER BY counted DESC, plays DESC, s.track_id
     LIMIT $4";

const AS_OF: &str = "\
    SELECT CASE WHEN plays_until = '-infinity' THEN NULL ELSE plays_until END AS as_of
      FROM stats_progress";

fn rate(completed: i64, plays: i64) -> Option<f64> {
    (plays > 0).then(|| (completed as f64 / plays as f64 * 1000.0).round() / 1000.0)
}

/// The stats of the artist's own release (the studio's transaction: others' are 404).
#[tracing::instrument(skip(db))]
pub async fn release_stats(
    db: &impl GenericClient,
    query: &StatsQuery,
) -> Result<ReleaseStats, StudioError> {
    let today = OffsetDateTime::now_utc().date();
    let (release, from, to) = parse(query, today)?;
    let own = db.prepare_cached(OWN_RELEASE).await?;
    if db.query_opt(&own, &[&release]).await?.is_none() {
        return Err(StudioError::NotFound);
    }
    let statement = db.prepare_cached(DAYS).await?;
    let days = db
        .query(&statement, &[&release, &from, &to])
        .await?
        .iter()
        .map(|row| StatsDay {
            day: row.get("day"),
            plays: row.get("counted"),
            unique_listeners: row.get("listeners"),
            completion_rate: rate(row.get("completed"), row.get("plays")),
            saves: row.get("saves"),
        })
        .collect();
    let statement = db.prepare_cached(TOP).await?;
    let top_tracks = db
        .query(&statement, &[&release, &from, &to, &TOP_TRACKS])
        .await?
        .iter()
        .map(|row| TopTrack {
            track_id: row.get("track_id"),
            title: row.get("title"),
            plays: row.get("counted"),
            completion_rate: rate(row.get("completed"), row.get("plays")),
        })
        .collect();
    let statement = db.prepare_cached(AS_OF).await?;
    let as_of = db.query_one(&statement, &[]).await?.get("as_of");
    let format = |d: Date| d.format(DATE).expect("a date formats");
    Ok(ReleaseStats {
        release_id: release,
        from: format(from),
        to: format(to),
        days,
        top_tracks,
        as_of,
    })
}

/// What a stats run read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsRun {
    /// Listener-track-days whose counted plays were added to (`play_counts`).
    pub counted_days: u64,
    /// Track-days whose plays were added to.
    pub track_days: u64,
    /// Release-days recounted (plays and listeners, or saves).
    pub release_days: u64,
}

/// The window a run reads: from the last run's end to `$1` seconds ago — never ending before the
/// last run's end (a run with a longer lag, or one that waited for this row's lock while a later
/// one committed, would otherwise move the watermark back and the next run count plays twice).
const WINDOW: &str = "\
    SELECT greatest(plays_until, 'epoch') AS plays_until,
           greatest(plays_until, counts_from, 'epoch') AS counts_from,
           greatest(saves_until, 'epoch') AS saves_until,
           greatest(now() - make_interval(secs => $1), plays_until, saves_until) AS upto
      FROM stats_progress FOR UPDATE";

/// The plays that count toward popularity and stats, received in the window `($1, $2]`: each
/// lasted [`COUNTED_PLAY_MS`] (or the whole of a shorter track: `$3`), added per listener, track
/// and UTC day to `play_counts`; the popularity rollup gains only what each count moved under
/// the cap of [`COUNTED_PLAYS_PER_DAY`] (`$4`). Runs are serialised by the window's row lock,
/// and nothing else writes these tables, so one run's arithmetic is never raced.
const COUNT_PLAYS: &str = "\
    WITH batch AS (
        SELECT p.user_id, p.track_id, (p.started_at AT TIME ZONE 'UTC')::date AS day,
               t.release_id, count(*)::int AS n
          FROM plays p JOIN tracks t ON t.id = p.track_id
         WHERE p.received_at > $1 AND p.received_at <= $2
           AND p.ms_played >= least($3, coalesce(t.duration_ms, $3))
         GROUP BY 1, 2, 3, 4
    ), counted AS (
        INSERT INTO play_counts AS c (user_id, track_id, day, plays)
        SELECT user_id, track_id, day, n FROM batch ORDER BY 1, 2, 3
        ON CONFLICT (user_id, track_id, day) DO UPDATE SET plays = c.plays + excluded.plays
        RETURNING c.user_id, c.track_id, c.day, c.plays
    ), newly AS (
        SELECT b.release_id, c.day, least(c.plays, $4) - least(c.plays - b.n, $4) AS n
          FROM counted c JOIN batch b USING (user_id, track_id, day)
    ), rolled AS (
        INSERT INTO release_play_days AS d (release_id, day, plays)
        SELECT release_id, day, sum(n) FROM newly WHERE n > 0
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (release_id, day) DO UPDATE SET plays = d.plays + excluded.plays
    )
    SELECT count(*) FROM counted";

const ADD_PLAYS: &str = "\
    WITH batch AS (
        SELECT p.track_id, (p.started_at AT TIME ZONE 'UTC')::date AS day, count(*) AS plays,
               count(*) FILTER (WHERE p.completed) AS completed
          FROM plays p
         WHERE p.received_at > $1 AND p.received_at <= $2
         GROUP BY 1, 2)
    INSERT INTO track_stat_days AS s (track_id, release_id, day, plays, completed)
    SELECT b.track_id, t.release_id, b.day, b.plays, b.completed
      FROM batch b JOIN tracks t ON t.id = b.track_id
    ON CONFLICT (track_id, day) DO UPDATE
       SET plays = s.plays + EXCLUDED.plays, completed = s.completed + EXCLUDED.completed
    RETURNING s.track_id, s.release_id, s.day";

const RECOUNT_TRACKS: &str = "\
    UPDATE track_stat_days s SET counted = c.counted
      FROM (SELECT t.track_id, t.day, coalesce(sum(least(coalesce(pc.plays, 0), $3)), 0)::bigint AS counted
              FROM unnest($1::uuid[], $2::date[]) AS t(track_id, day)
              LEFT JOIN play_counts pc ON pc.track_id = t.track_id AND pc.day = t.day
             GROUP BY 1, 2) c
     WHERE s.track_id = c.track_id AND s.day = c.day";

const RECOUNT_RELEASES: &str = "\
    WITH touched AS (
        SELECT DISTINCT release_id, day FROM unnest($1::uuid[], $2::date[]) AS t(release_id, day)
    ), sums AS (
        SELECT t.release_id, t.day, sum(s.counted)::bigint AS counted,
               sum(s.plays)::bigint AS plays, sum(s.completed)::bigint AS completed
          FROM touched t JOIN track_stat_days s ON s.release_id = t.release_id AND s.day = t.day
         GROUP BY 1, 2
    ), listeners AS (
        SELECT t.release_id, t.day, count(DISTINCT pc.user_id) AS listeners
          FROM touched t
          JOIN tracks tr ON tr.release_id = t.release_id
          JOIN play_counts pc ON pc.track_id = tr.id AND pc.day = t.day
         GROUP BY 1, 2
    )
    INSERT INTO release_stat_days AS r (release_id, day, counted, listeners, plays, completed)
    SELECT s.release_id, s.day, s.counted, coalesce(l.listeners, 0), s.plays, s.completed
      FROM sums s LEFT JOIN listeners l USING (release_id, day)
    ON CONFLICT (release_id, day) DO UPDATE
       SET counted = EXCLUDED.counted, listeners = EXCLUDED.listeners, plays = EXCLUDED.plays,
           completed = EXCLUDED.completed";

const RECOUNT_SAVES: &str = "\
    WITH touched AS (
        SELECT DISTINCT t.release_id, (s.saved_at AT TIME ZONE 'UTC')::date AS day
          FROM saves s JOIN tracks t ON t.id = s.track_id
         WHERE s.saved_at > $1 AND s.saved_at <= $2
    ), counts AS (
        SELECT d.release_id, d.day, count(s.track_id) AS saves
          FROM touched d
          JOIN tracks t ON t.release_id = d.release_id
          LEFT JOIN saves s ON s.track_id = t.id
                           AND s.saved_at >= (d.day::timestamp AT TIME ZONE 'UTC')
                           AND s.saved_at < ((d.day + 1)::timestamp AT TIME ZONE 'UTC')
         GROUP BY 1, 2
    )
    INSERT INTO release_stat_days AS r (release_id, day, saves)
    SELECT release_id, day, saves FROM counts
    ON CONFLICT (release_id, day) DO UPDATE SET saves = EXCLUDED.saves";

const ADVANCE: &str = "UPDATE stats_progress SET plays_until = $1, saves_until = $1";

/// Roll up what arrived since the last run (the schedule, a service context), in the caller's
/// transaction: plays received and saves made up to `lag_secs` ago (`STATS_LAG_SECS`). First the
/// counted plays (`play_counts` and the popularity rollup), then the artists' daily stats, which
/// read those counts.
pub async fn refresh_stats(tx: &Tx<'_>, lag_secs: u32) -> Result<StatsRun, DbError> {
    let window = tx.prepare_cached(WINDOW).await?;
    let row = tx.query_one(&window, &[&f64::from(lag_secs)]).await?;
    let plays_from: OffsetDateTime = row.get("plays_until");
    let saves_from: OffsetDateTime = row.get("saves_until");
    let upto: OffsetDateTime = row.get("upto");
    let counts_from: OffsetDateTime = row.get("counts_from");
    let count = tx.prepare_cached(COUNT_PLAYS).await?;
    let counted: i64 = tx
        .query_one(
            &count,
            &[
                &counts_from,
                &upto,
                &COUNTED_PLAY_MS,
                &COUNTED_PLAYS_PER_DAY,
            ],
        )
        .await?
        .get(0);
    let add = tx.prepare_cached(ADD_PLAYS).await?;
    let added = tx.query(&add, &[&plays_from, &upto]).await?;
    let mut tracks = Vec::with_capacity(added.len());
    let mut releases = Vec::with_capacity(added.len());
    let mut days = Vec::with_capacity(added.len());
    for row in &added {
        tracks.push(row.get::<_, uuid::Uuid>("track_id"));
        releases.push(row.get::<_, uuid::Uuid>("release_id"));
        days.push(row.get::<_, Date>("day"));
    }
    let recount = tx.prepare_cached(RECOUNT_TRACKS).await?;
    tx.execute(&recount, &[&tracks, &days, &COUNTED_PLAYS_PER_DAY])
        .await?;
    let recount = tx.prepare_cached(RECOUNT_RELEASES).await?;
    let mut release_days = tx.execute(&recount, &[&releases, &days]).await?;
    let saves = tx.prepare_cached(RECOUNT_SAVES).await?;
    release_days += tx.execute(&saves, &[&saves_from, &upto]).await?;
    let advance = tx.prepare_cached(ADVANCE).await?;
    tx.execute(&advance, &[&upto]).await?;
    Ok(StatsRun {
        counted_days: counted as u64,
        track_days: added.len() as u64,
        release_days,
    })
}
