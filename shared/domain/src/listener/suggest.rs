//! Suggestions: what to play after a track or an album, "for you" on home, and the collective.
//!
//! Candidates are the exact nearest neighbours of a query point on the unit sphere (a GiST KNN
//! scan over `tracks.taste_point`, the `cube` extension), so a brand-new catalogue with no plays
//! already has suggestions. Each candidate's score is its cosine similarity to the query plus,
//! for a caller with a preference vector, `TASTE_WEIGHT·⟨w, x⟩` with `w` held to the norm bound.
//! Only tracks the caller may stream, never the seed's own release, never a track the caller
//! voted down, at most `PER_ARTIST` items per artist.

use deadpool_postgres::GenericClient;
use postgres_types::{ToSql, Type};
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::colisten::MIN_PAIR_LISTENERS;
use super::error::ListenerError;
use super::home::ReleaseCard;
use super::media::{Media, cover_variants_sql};
use super::taste::{self, TasteVector};
use super::viewer::ArtistCard;
use crate::ids::{ReleaseId, TrackId, UserId};

/// How much the caller's taste counts beside sounding like the seed (both at most 1 in size).
pub const TASTE_WEIGHT: f64 = 0.5;
/// How much co-listening counts, at most: reached when `COLISTEN_SATURATION` listeners played
/// the pair (the weight grows with the logarithm of their number).
pub const COLISTEN_WEIGHT: f64 = 0.5;
pub const COLISTEN_SATURATION: f64 = 20.0;
/// Nearest tracks considered before filtering and ranking (held by the SQL function
/// `nearest_tracks` as a literal, for its plan: a test checks the two agree), and co-listened
/// tracks per seed. 50 since V36 (100 before): the KNN's cost grows with it, and 50 fill a list
/// of `SUGGESTIONS` at `PER_ARTIST` unless a few artists hold the seed's whole neighbourhood.
pub const CANDIDATES: i64 = 50;
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

/// Scores candidates for viewer `$2` with held taste `$3` (NULL without one): the
/// [`CANDIDATES`] analysed tracks nearest to the query point (`nearest_tracks`, migrations/V29:
/// an exact KNN over a spatially ordered copy of the points, of releases anyone may see), and the
/// tracks listeners played after seed tracks `$9` (the top `$5` pairs of each, of at least `$10`
/// listeners), excluding a release (NULL: none). The point and the release are the macro's two
/// expressions: `$1` and `$4` as given, or read from the seed track within the statement. A
/// candidate's score has three parts: its
/// cosine similarity to the point, `$6` times its agreement with the taste, and `$11` times its
/// co-listening weight (saturating at `$12` listeners). Only candidates the viewer may stream:
/// the KNN's public releases open to everyone are (`release_open_to_all`), without reading their
/// release rows again; every other candidate's release is read and its reach tested under the
/// caller's policies. Columns: track, release, artist, and the parts.
macro_rules! scored_sql {
    ($point:literal, $exclude:literal) => {
        concat!(
            "near AS (
             SELECT n.track_id AS id, n.release_id, n.point, n.artist_id, n.open_to_all
               FROM nearest_tracks(",
            $point,
            ", ",
            $exclude,
            ") n
         ), partners AS (
             SELECT top.track_b AS id, max(top.listeners) AS listeners
               FROM unnest($9::uuid[]) AS seed(id)
              CROSS JOIN LATERAL (
                  SELECT c.track_b, c.listeners FROM co_listen_pairs c
                   WHERE c.track_a = seed.id AND c.listeners >= $10
                   ORDER BY c.listeners DESC, c.track_b
                   LIMIT $5) top
              WHERE NOT (top.track_b = ANY ($9::uuid[]))
              GROUP BY top.track_b
         ), candidates AS (
             SELECT id, release_id, point, artist_id, open_to_all FROM near
             UNION ALL
             SELECT t.id, t.release_id, t.taste_point, NULL, false
               FROM partners pa JOIN tracks t ON t.id = pa.id
              WHERE NOT EXISTS (SELECT 1 FROM near n WHERE n.id = pa.id)
         ), scored AS (
             SELECT c.id, c.release_id,
                    coalesce(c.artist_id, (SELECT r.artist_id FROM releases r
                                            WHERE r.id = c.release_id)) AS artist_id,
                    coalesce(1 - power(c.point <-> cube(",
            $point,
            "), 2) / 2, 0) AS sim,
                    coalesce($6 * (cube_ll_coord(c.point, 1) * ($3::float8[])[1]
                                   + cube_ll_coord(c.point, 2) * ($3::float8[])[2]
                                   + cube_ll_coord(c.point, 3) * ($3::float8[])[3]
                                   + cube_ll_coord(c.point, 4) * ($3::float8[])[4]
                                   + cube_ll_coord(c.point, 5) * ($3::float8[])[5]), 0)
                        AS taste,
                    $11::float8 * least(1.0, coalesce(ln(1.0 + pa.listeners)
                                                      / ln(1.0 + $12::float8), 0))
                        AS colisten
               FROM candidates c
               LEFT JOIN partners pa ON pa.id = c.id
              WHERE c.release_id IS DISTINCT FROM ",
            $exclude,
            "
                -- OR and COALESCE stop at their first answer: a sub-select runs only when
                -- needed (a lateral join is planned as a join, probing every candidate's row).
                AND (c.open_to_all
                     OR (SELECT release_reach(r, $2, NULL) = 'stream' FROM releases r
                          WHERE r.id = c.release_id))
                AND NOT EXISTS (SELECT 1 FROM track_votes v
                                 WHERE v.user_id = $2 AND v.track_id = c.id AND v.value < 0)
         )"
        )
    };
}

/// The columns of a release card, for `r` and its artist `a` (`release_card` reads them).
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

pub(crate) use card_columns_sql;

/// The seed track is `$9`'s one element, read in the same statement (not a round trip of its
/// own): no row at all when the viewer does not reach it, one row with no track when nothing
/// is suggested. `$1` and `$4` go unused (the parameters are typed, `PARAMETER_TYPES`).
const TRACK_SUGGESTIONS: &str = concat!(
    "WITH origin AS MATERIALIZED (
         SELECT t.release_id, point_coords(t.taste_point) AS point
           FROM tracks t JOIN releases r ON r.id = t.release_id
          WHERE t.id = ($9::uuid[])[1] AND release_reach(r, $2, NULL) <> 'hidden'
     ), ",
    scored_sql!(
        "(SELECT point FROM origin)",
        "(SELECT release_id FROM origin)"
    ),
    ", ranked AS (
         SELECT s.*, s.sim + s.taste + s.colisten AS score,
                row_number() OVER (PARTITION BY s.artist_id
                                   ORDER BY s.sim + s.taste + s.colisten DESC, s.id) AS nth
           FROM scored s
     )
     , top AS MATERIALIZED (
         SELECT * FROM ranked WHERE nth <= $7 ORDER BY score DESC, id LIMIT $8
     )
     SELECT k.id, t.title, t.duration_ms, t.explicit, k.score, k.sim, k.taste, k.colisten, ",
    card_columns_sql!(),
    " FROM origin
       LEFT JOIN (top k
                  JOIN tracks t ON t.id = k.id
                  JOIN releases r ON r.id = k.release_id
                  JOIN artist_profiles a ON a.id = r.artist_id) ON true
      ORDER BY k.score DESC, k.id"
);

const RELEASE_SUGGESTIONS: &str = concat!(
    "WITH ",
    scored_sql!("$1::float8[]", "$4"),
    ", best AS (
         SELECT DISTINCT ON (s.release_id) s.release_id, s.artist_id,
                s.sim + s.taste + s.colisten AS score, s.sim, s.taste, s.colisten
           FROM scored s
          ORDER BY s.release_id, s.sim + s.taste + s.colisten DESC
     ), ranked AS (
         SELECT b.*, row_number() OVER (PARTITION BY b.artist_id ORDER BY b.score DESC,
                                                                          b.release_id) AS nth
           FROM best b
     )
     , top AS MATERIALIZED (
         SELECT * FROM ranked WHERE nth <= $7 ORDER BY score DESC, release_id LIMIT $8
     )
     SELECT k.score, k.sim, k.taste, k.colisten, ",
    card_columns_sql!(),
    " FROM top k
       JOIN releases r ON r.id = k.release_id
       JOIN artist_profiles a ON a.id = r.artist_id
      ORDER BY k.score DESC, k.release_id"
);

/// The seed album, if the viewer reaches it, and the mean direction of its analysed tracks.
const SEED_ALBUM: &str = "\
    SELECT ARRAY(SELECT t.id FROM tracks t WHERE t.release_id = r.id) AS tracks,
           point_coords(unit_point(ARRAY(
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

/// The largest part of the score (similarity unless another part is positive and larger).
fn reason(row: &Row) -> Reason {
    let (sim, taste, colisten): (f64, f64, f64) =
        (row.get("sim"), row.get("taste"), row.get("colisten"));
    if colisten > 0.0 && colisten > sim && colisten >= taste {
        Reason::ListenersAlsoPlayed
    } else if taste > 0.0 && taste > sim {
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
    let taste = caller_taste(db, viewer).await?.map(|w| w.to_vec());
    // The statement reads the seed's point and release itself (a seed not analysed yet has no
    // point, but co-listening may still answer).
    let around = Around {
        point: None,
        seeds: &[track],
        exclude: None,
    };
    let rows = scored(db, TRACK_SUGGESTIONS, &around, viewer, &taste).await?;
    if rows.is_empty() {
        return Err(ListenerError::NotFound);
    }
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.get::<_, Option<TrackId>>("id").is_none() {
            continue;
        }
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
    let point: Option<Vec<f64>> = seed.get("point");
    let seeds: Vec<TrackId> = seed.get("tracks");
    let taste = caller_taste(db, viewer).await?.map(|w| w.to_vec());
    let around = Around {
        point: point.as_deref(),
        seeds: &seeds,
        exclude: Some(album),
    };
    releases_near(db, media, around, viewer, taste).await
}

/// Where release suggestions start: a point, the tracks whose co-listeners count, and the
/// release never to suggest.
pub(super) struct Around<'a> {
    pub point: Option<&'a [f64]>,
    pub seeds: &'a [TrackId],
    pub exclude: Option<ReleaseId>,
}

/// Run one of the suggestion statements (they share their parameters, `scored_sql!`).
async fn scored(
    db: &impl GenericClient,
    sql: &str,
    around: &Around<'_>,
    viewer: Option<UserId>,
    taste: &Option<Vec<f64>>,
) -> Result<Vec<Row>, ListenerError> {
    let statement = db.prepare_typed_cached(sql, &PARAMETER_TYPES).await?;
    let params: [&(dyn ToSql + Sync); 12] = [
        &around.point,
        &viewer,
        taste,
        &around.exclude,
        &CANDIDATES,
        &TASTE_WEIGHT,
        &PER_ARTIST,
        &SUGGESTIONS,
        &around.seeds,
        &MIN_PAIR_LISTENERS,
        &COLISTEN_WEIGHT,
        &COLISTEN_SATURATION,
    ];
    // Sent together, run in order: the setting, the statement under it, the reset.
    let (_, rows, _) = tokio::try_join!(
        db.batch_execute(GENERIC_PLAN),
        db.query(&statement, &params),
        db.batch_execute(PLAN_AS_USUAL),
    )?;
    Ok(rows)
}

/// The suggestion statements' parameters, typed (`scored`'s list): the track statement does not
/// use all of them.
const PARAMETER_TYPES: [Type; 12] = [
    Type::FLOAT8_ARRAY,
    Type::UUID,
    Type::FLOAT8_ARRAY,
    Type::UUID,
    Type::INT8,
    Type::FLOAT8,
    Type::INT8,
    Type::INT8,
    Type::UUID_ARRAY,
    Type::INT4,
    Type::FLOAT8,
    Type::FLOAT8,
];

/// The suggestion statements run on their generic plan. Postgres plans a prepared statement
/// again for each call's parameters while that plan is estimated cheaper than the generic one,
/// and for these it always is (a NULL viewer or taste folds away), so every call was planned
/// anew: 1.3–2 ms of a 4.4 ms request at 1 M tracks (the server log's bind durations). The
/// generic plan is the same shape (KNN, then a probe a candidate). A session setting, reset
/// right after the statement, so that it works with or without a transaction (behind a pooler
/// the three run in the caller's transaction, on one server connection; if that transaction
/// fails, its rollback undoes the setting).
const GENERIC_PLAN: &str = "SET plan_cache_mode = force_generic_plan";
const PLAN_AS_USUAL: &str = "RESET plan_cache_mode";

/// Release suggestions around a point.
pub(super) async fn releases_near(
    db: &impl GenericClient,
    media: &Media,
    around: Around<'_>,
    viewer: Option<UserId>,
    taste: Option<Vec<f64>>,
) -> Result<Suggestions<SuggestedRelease>, ListenerError> {
    let rows = scored(db, RELEASE_SUGGESTIONS, &around, viewer, &taste).await?;
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
        let around = Around {
            point: Some(&point),
            seeds: &[],
            exclude: None,
        };
        let near = releases_near(db, media, around, Some(listener), taste).await?;
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

/// Write the suggestions' copy of the track points (`taste_points`, migrations/V29) again in
/// spatial order and index it after, so that its exact KNN scan reads few pages (points added
/// since the last rebuild went into the tree in arrival order): the maintenance schedule's daily
/// `taste_index` task, as the maintenance role. Writers of points wait for it; readers do not.
/// Returns the points written.
#[tracing::instrument(skip(db))]
pub async fn rebuild_taste_index(db: &impl GenericClient) -> Result<i64, crate::db::DbError> {
    let row = db
        .query_one("SELECT rebuild_taste_points() AS points", &[])
        .await?;
    Ok(row.get("points"))
}

/// Below this many active listeners *with a taste* the collective has none: a mean of one or
/// two would be someone's own (the SQL function `collective_taste()` holds the number).
pub const COLLECTIVE_MIN_LISTENERS: i32 = 3;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Collective {
    /// Listeners with a heartbeat in the last hour.
    pub active_listeners: i64,
    /// Releases around the mean taste of the active listeners (empty below
    /// `COLLECTIVE_MIN_LISTENERS` listeners with a taste).
    pub items: Vec<SuggestedRelease>,
}

/// The SQL function holds the hour, the minimum of 3 listeners with a taste and the norm bound
/// itself: a caller cannot loosen them.
const COLLECTIVE: &str = "SELECT active_listeners, mean FROM collective_taste()";

/// Suggestions for the blended taste of whoever is listening now; no one's identity or vector.
#[tracing::instrument(skip_all)]
pub async fn collective(
    db: &impl GenericClient,
    media: &Media,
) -> Result<Collective, ListenerError> {
    let statement = db.prepare_cached(COLLECTIVE).await?;
    let row = db.query_one(&statement, &[]).await?;
    let active_listeners: i64 = row.get("active_listeners");
    let items = match row.get::<_, Option<Vec<f64>>>("mean") {
        Some(mean) if mean.iter().any(|x| x.abs() > 1e-9) => {
            let norm = mean.iter().map(|x| x * x).sum::<f64>().sqrt();
            let point: Vec<f64> = mean.iter().map(|x| x / norm).collect();
            let around = Around {
                point: Some(&point),
                seeds: &[],
                exclude: None,
            };
            releases_near(db, media, around, None, None).await?.items
        }
        _ => Vec::new(),
    };
    Ok(Collective {
        active_listeners,
        items,
    })
}
