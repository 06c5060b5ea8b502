//! Suggestions: what to play after a track or an album, "for you" on home, and the collective.
//!
//! Candidates are the exact nearest neighbours of a query point on the unit sphere (a GiST KNN
//! scan over `tracks.taste_point`, the `cube` extension), so a brand-new catalogue with no plays
//! already has suggestions. Each candidate's score is its cosine similarity to the query plus,
//! for a caller with a preference vector, `TASTE_WEIGHT·⟨w, x⟩` with `w` held to the norm bound.
//! Only tracks the caller may stream, never the seed's own release, never a track the caller
//! voted down, at most `PER_ARTIST` items per artist.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::error::ListenerError;
use super::home::ReleaseCard;
use super::media::{Media, cover_variants_sql};
use super::taste::{self, TasteVector};
use super::viewer::ArtistCard;
use crate::ids::{ReleaseId, TrackId, UserId};

/// How much the caller's taste counts beside sounding like the seed (both at most 1 in size).
pub const TASTE_WEIGHT: f64 = 0.5;
/// Nearest tracks considered before filtering and ranking.
pub const CANDIDATES: i64 = 300;
/// Items per list, and per artist within it.
pub const SUGGESTIONS: i64 = 20;
pub const PER_ARTIST: i64 = 2;

/// Why an item is suggested: the larger part of its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    SoundsLike,
    ListenersAlsoPlayed,
    YourTaste,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestedRelease {
    #[serde(flatten)]
    pub release: ReleaseCard,
    pub score: f64,
    pub reason: Reason,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestedTrack {
    pub id: TrackId,
    pub title: String,
    pub duration_ms: Option<i32>,
    pub explicit: bool,
    pub release: ReleaseCard,
    pub score: f64,
    pub reason: Reason,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Suggestions<T> {
    pub items: Vec<T>,
}

/// Scores the nearest tracks to `$1` (a point's coordinates) for viewer `$2` with held taste
/// `$3` (NULL without one), excluding release `$4` (NULL: none); `$5` candidates, `$6` taste
/// weight. Columns: track, release, artist, score, and its two parts.
macro_rules! scored_sql {
    () => {
        "near AS (
             SELECT t.id, t.release_id, t.taste_point AS p
               FROM tracks t
              WHERE t.taste_point IS NOT NULL
                AND t.release_id IS DISTINCT FROM $4
              ORDER BY t.taste_point <-> cube($1::float8[])
              LIMIT $5
         ), scored AS (
             SELECT n.id, n.release_id, r.artist_id,
                    1 - power(n.p <-> cube($1::float8[]), 2) / 2 AS sim,
                    coalesce($6 * (SELECT sum(x * w)
                                     FROM unnest(point_coords(n.p), $3::float8[]) AS u(x, w)), 0)
                        AS taste
               FROM near n JOIN releases r ON r.id = n.release_id
              WHERE release_reach(r, $2, NULL) = 'stream'
                AND NOT EXISTS (SELECT 1 FROM track_votes v
                                 WHERE v.user_id = $2 AND v.track_id = n.id AND v.value < 0)
         )"
    };
}

/// The columns of a release card, for `r` and its artist `a`.
macro_rules! card_columns_sql {
    () => {
        concat!(
            "r.id AS release_id, r.title AS release_title, r.kind, r.access,
             coalesce(r.published_at, r.publish_at) AS published_at,
             a.id AS artist_id, a.name AS artist_name, a.slug AS artist_slug, ",
            cover_variants_sql!(),
            " AS cover"
        )
    };
}

const TRACK_SUGGESTIONS: &str = concat!(
    "WITH ",
    scored_sql!(),
    ", ranked AS (
         SELECT s.*, s.sim + s.taste AS score,
                row_number() OVER (PARTITION BY s.artist_id ORDER BY s.sim + s.taste DESC, s.id)
                    AS nth
           FROM scored s
     )
     SELECT k.id, t.title, t.duration_ms, t.explicit, k.score, k.sim, k.taste, ",
    card_columns_sql!(),
    " FROM ranked k
       JOIN tracks t ON t.id = k.id
       JOIN releases r ON r.id = k.release_id
       JOIN artist_profiles a ON a.id = r.artist_id
      WHERE k.nth <= $7
      ORDER BY k.score DESC, k.id
      LIMIT $8"
);

const RELEASE_SUGGESTIONS: &str = concat!(
    "WITH ",
    scored_sql!(),
    ", best AS (
         SELECT DISTINCT ON (s.release_id) s.release_id, s.artist_id, s.sim + s.taste AS score,
                s.sim, s.taste
           FROM scored s
          ORDER BY s.release_id, s.sim + s.taste DESC
     ), ranked AS (
         SELECT b.*, row_number() OVER (PARTITION BY b.artist_id ORDER BY b.score DESC,
                                                                          b.release_id) AS nth
           FROM best b
     )
     SELECT k.score, k.sim, k.taste, ",
    card_columns_sql!(),
    " FROM ranked k
       JOIN releases r ON r.id = k.release_id
       JOIN artist_profiles a ON a.id = r.artist_id
      WHERE k.nth <= $7
      ORDER BY k.score DESC, k.release_id
      LIMIT $8"
);

/// The seed track, if the viewer reaches it: its release and point.
const SEED_TRACK: &str = "\
    SELECT t.release_id, point_coords(t.taste_point) AS point
      FROM tracks t JOIN releases r ON r.id = t.release_id
     WHERE t.id = $1 AND release_reach(r, $2, NULL) <> 'hidden'";

/// The seed album, if the viewer reaches it, and the mean direction of its analysed tracks.
const SEED_ALBUM: &str = "\
    SELECT point_coords(unit_point(ARRAY(
               SELECT avg(u.x) FROM tracks t, unnest(point_coords(t.taste_point))
                                              WITH ORDINALITY AS u(x, i)
                WHERE t.release_id = r.id AND t.taste_point IS NOT NULL
                GROUP BY u.i ORDER BY u.i))) AS point
      FROM releases r
     WHERE r.id = $1 AND release_reach(r, $2, NULL) <> 'hidden'";

/// What the caller's preference adds: their vector held to the bound, if they have one.
async fn caller_taste(
    db: &impl GenericClient,
    viewer: Option<UserId>,
) -> Result<Option<TasteVector>, ListenerError> {
    let Some(listener) = viewer else {
        return Ok(None);
    };
    Ok(taste::preference(db, listener)
        .await?
        .and_then(|w| taste::held(&w)))
}

fn reason(row: &Row) -> Reason {
    let (sim, taste): (f64, f64) = (row.get("sim"), row.get("taste"));
    if taste > sim {
        Reason::YourTaste
    } else {
        Reason::SoundsLike
    }
}

pub(super) async fn release_card(row: &Row, media: &Media) -> Result<ReleaseCard, ListenerError> {
    Ok(ReleaseCard {
        id: row.get("release_id"),
        title: row.get("release_title"),
        kind: row.get("kind"),
        artist: ArtistCard {
            id: row.get("artist_id"),
            name: row.get("artist_name"),
            slug: row.get("artist_slug"),
        },
        cover: media.cover(row.try_get("cover")?).await?,
        published_at: row.get::<_, Option<OffsetDateTime>>("published_at"),
        access: row.get("access"),
    })
}

/// Tracks to play after `track`: 404 unless the viewer reaches it.
#[tracing::instrument(skip(db, media))]
pub async fn suggested_after_track(
    db: &impl GenericClient,
    media: &Media,
    viewer: Option<UserId>,
    track: TrackId,
) -> Result<Suggestions<SuggestedTrack>, ListenerError> {
    let statement = db.prepare_cached(SEED_TRACK).await?;
    let seed = db
        .query_opt(&statement, &[&track, &viewer])
        .await?
        .ok_or(ListenerError::NotFound)?;
    let Some(point) = seed.get::<_, Option<Vec<f64>>>("point") else {
        return Ok(Suggestions { items: Vec::new() });
    };
    let release: ReleaseId = seed.get("release_id");
    let taste = caller_taste(db, viewer).await?.map(|w| w.to_vec());
    let statement = db.prepare_cached(TRACK_SUGGESTIONS).await?;
    let rows = db
        .query(
            &statement,
            &[
                &point,
                &viewer,
                &taste,
                &Some(release),
                &CANDIDATES,
                &TASTE_WEIGHT,
                &PER_ARTIST,
                &SUGGESTIONS,
            ],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(SuggestedTrack {
            id: row.get("id"),
            title: row.get("title"),
            duration_ms: row.get("duration_ms"),
            explicit: row.get("explicit"),
            release: release_card(row, media).await?,
            score: row.get("score"),
            reason: reason(row),
        });
    }
    Ok(Suggestions { items })
}

/// Releases to play after `album`: 404 unless the viewer reaches it.
#[tracing::instrument(skip(db, media))]
pub async fn suggested_after_album(
    db: &impl GenericClient,
    media: &Media,
    viewer: Option<UserId>,
    album: ReleaseId,
) -> Result<Suggestions<SuggestedRelease>, ListenerError> {
    let statement = db.prepare_cached(SEED_ALBUM).await?;
    let seed = db
        .query_opt(&statement, &[&album, &viewer])
        .await?
        .ok_or(ListenerError::NotFound)?;
    let Some(point) = seed.get::<_, Option<Vec<f64>>>("point") else {
        return Ok(Suggestions { items: Vec::new() });
    };
    let taste = caller_taste(db, viewer).await?.map(|w| w.to_vec());
    releases_near(db, media, &point, viewer, taste, Some(album)).await
}

/// Release suggestions around a point (no seed release when `exclude` is `None`).
pub(super) async fn releases_near(
    db: &impl GenericClient,
    media: &Media,
    point: &[f64],
    viewer: Option<UserId>,
    taste: Option<Vec<f64>>,
    exclude: Option<ReleaseId>,
) -> Result<Suggestions<SuggestedRelease>, ListenerError> {
    let statement = db.prepare_cached(RELEASE_SUGGESTIONS).await?;
    let rows = db
        .query(
            &statement,
            &[
                &point,
                &viewer,
                &taste,
                &exclude,
                &CANDIDATES,
                &TASTE_WEIGHT,
                &PER_ARTIST,
                &SUGGESTIONS,
            ],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(SuggestedRelease {
            release: release_card(row, media).await?,
            score: row.get("score"),
            reason: reason(row),
        });
    }
    Ok(Suggestions { items })
}

/// The direction of a listener's signals: the mean point of their saved tracks, the mean point
/// of the tracks they played to the end in the last 90 days, and their held preference vector
/// (`$2`), each source counting once whatever its size. NULL without any signal.
const SIGNALS: &str = "\
    WITH sources AS (
        SELECT 'save' AS source, u.i, u.x
          FROM saves s JOIN tracks t ON t.id = s.track_id,
               unnest(point_coords(t.taste_point)) WITH ORDINALITY AS u(x, i)
         WHERE s.user_id = $1 AND t.taste_point IS NOT NULL
        UNION ALL
        SELECT 'play', u.i, u.x
          FROM (SELECT DISTINCT p.track_id FROM plays p
                 WHERE p.user_id = $1 AND p.completed
                   AND p.started_at > now() - interval '90 days') c
          JOIN tracks t ON t.id = c.track_id,
               unnest(point_coords(t.taste_point)) WITH ORDINALITY AS u(x, i)
         WHERE t.taste_point IS NOT NULL
        UNION ALL
        SELECT 'vote', w.i, w.x FROM unnest($2::float8[]) WITH ORDINALITY AS w(x, i)
    ), per_source AS (
        SELECT source, i, avg(x) AS x FROM sources GROUP BY source, i
    )
    SELECT point_coords(unit_point(ARRAY(SELECT sum(x) FROM per_source GROUP BY i ORDER BY i)))
           AS point";

/// Without any signal: the most played public releases of the last 28 days, at most
/// `PER_ARTIST` per genre, taking each genre's best before any genre's second.
const POPULAR_BY_GENRE: &str = concat!(
    "WITH played AS (
         SELECT release_id, sum(plays) AS plays FROM release_play_days
          WHERE day > (now() AT TIME ZONE 'UTC')::date - 28
          GROUP BY release_id
     ), ranked AS (
         SELECT r.id, coalesce(p.plays, 0) AS plays,
                row_number() OVER (PARTITION BY lower(coalesce(r.genre, ''))
                                   ORDER BY coalesce(p.plays, 0) DESC,
                                            coalesce(r.published_at, r.publish_at) DESC, r.id)
                    AS nth
           FROM releases r LEFT JOIN played p ON p.release_id = r.id
          WHERE r.access = 'public' AND release_open_to_all(r)
     )
     SELECT ",
    card_columns_sql!(),
    " FROM ranked k
       JOIN releases r ON r.id = k.id
       JOIN artist_profiles a ON a.id = r.artist_id
      WHERE k.nth <= $1
      ORDER BY k.nth, k.plays DESC, r.id
      LIMIT $2"
);

/// Home's `for_you` for a listener: releases around their signals, or popular-by-genre while
/// they have none.
#[tracing::instrument(skip(db, media))]
pub async fn for_you(
    db: &impl GenericClient,
    media: &Media,
    listener: UserId,
) -> Result<Vec<ReleaseCard>, ListenerError> {
    let taste = caller_taste(db, Some(listener)).await?.map(|w| w.to_vec());
    let statement = db.prepare_cached(SIGNALS).await?;
    let point: Option<Vec<f64>> = db
        .query_one(&statement, &[&listener, &taste])
        .await?
        .get("point");
    if let Some(point) = point {
        let near = releases_near(db, media, &point, Some(listener), taste, None).await?;
        if !near.items.is_empty() {
            return Ok(near.items.into_iter().map(|s| s.release).collect());
        }
    }
    let statement = db.prepare_cached(POPULAR_BY_GENRE).await?;
    let rows = db.query(&statement, &[&PER_ARTIST, &SUGGESTIONS]).await?;
    let mut cards = Vec::with_capacity(rows.len());
    for row in &rows {
        cards.push(release_card(row, media).await?);
    }
    Ok(cards)
}

/// Below this many active listeners the collective has no taste: a mean of one or two would
/// be someone's own.
pub const COLLECTIVE_MIN_LISTENERS: i32 = 3;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Collective {
    /// Listeners with a heartbeat in the last hour.
    pub active_listeners: i64,
    /// Releases around the mean taste of the active listeners (empty below
    /// `COLLECTIVE_MIN_LISTENERS` or while none has voted).
    pub items: Vec<SuggestedRelease>,
}

const COLLECTIVE: &str =
    "SELECT active_listeners, mean FROM collective_taste(make_interval(secs => $1), $2, $3)";

/// Suggestions for the blended taste of whoever is listening now; no one's identity or vector.
#[tracing::instrument(skip_all)]
pub async fn collective(
    db: &impl GenericClient,
    media: &Media,
) -> Result<Collective, ListenerError> {
    let statement = db.prepare_cached(COLLECTIVE).await?;
    let row = db
        .query_one(
            &statement,
            &[
                &(taste::ACTIVE_FOR_SECS as f64),
                &COLLECTIVE_MIN_LISTENERS,
                &taste::NORM_BOUND,
            ],
        )
        .await?;
    let active_listeners: i64 = row.get("active_listeners");
    let items = match row.get::<_, Option<Vec<f64>>>("mean") {
        Some(mean) if mean.iter().any(|x| x.abs() > 1e-9) => {
            let norm = mean.iter().map(|x| x * x).sum::<f64>().sqrt();
            let point: Vec<f64> = mean.iter().map(|x| x / norm).collect();
            releases_near(db, media, &point, None, None, None)
                .await?
                .items
        }
        _ => Vec::new(),
    };
    Ok(Collective {
        active_listeners,
        items,
    })
}
