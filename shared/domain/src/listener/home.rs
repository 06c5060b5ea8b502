//! Home: newest public releases, the most played public releases of the last 7 days, and
//! `for_you` (empty until personalisation exists). One query whatever the number of cards.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use time::OffsetDateTime;

use super::error::ListenerError;
use super::media::{Cover, Media, cover_variants_sql};
use super::suggest::release_card;
use super::viewer::ArtistCard;
use crate::catalog::{Access, ReleaseKind};
use crate::ids::ReleaseId;

/// Cards per list.
pub const HOME_CARDS: i64 = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Home {
    pub new_releases: Vec<ReleaseCard>,
    pub popular: Vec<ReleaseCard>,
    pub for_you: Vec<ReleaseCard>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseCard {
    pub id: ReleaseId,
    pub title: String,
    pub kind: ReleaseKind,
    pub artist: ArtistCard,
    /// Cover URLs by width in pixels (`"300"`, `"600"`, `"1200"`), each in the formats made.
    #[schema(inline)]
    pub cover: Option<Cover>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    pub access: Access,
}

/// Both lists in one statement. "Visible to everyone" is `release_open_to_all(r)`, the
/// inlinable form of `release_reach(r, NULL, NULL) = 'stream'` (migration V5) (published and
/// public); `popular` reads the per-day rollup the telemetry insert keeps, over the last 7 UTC
/// days including today. Each release of the rollup is checked by its own primary-key probe (a
/// scalar subquery): joined instead, the planner takes the policy-filtered releases for one row
/// (the listener's policy on releases repeats the visibility test), nests the rollup inside it,
/// and compares every pair — 13 s instead of 80 ms at 10 000 releases (README "Benchmarks").
const HOME: &str = concat!(
    "WITH fresh AS (
             SELECT f.id, row_number() OVER (ORDER BY f.at DESC, f.id DESC) AS rank
               FROM (SELECT r.id, coalesce(r.published_at, r.publish_at) AS at FROM releases r
                      WHERE r.access = 'public' AND r.status IN ('scheduled', 'published')
                        AND release_open_to_all(r)
                      ORDER BY coalesce(r.published_at, r.publish_at) DESC, r.id DESC
                      LIMIT $1) f
         ),
         popular AS (
             SELECT p.id, row_number() OVER (ORDER BY p.plays DESC, p.id) AS rank
               FROM (SELECT d.release_id AS id, d.plays
                       FROM (SELECT release_id, sum(plays) AS plays FROM release_play_days
                              WHERE day > (now() AT TIME ZONE 'UTC')::date - 7
                              GROUP BY release_id) d
                      WHERE (SELECT r.access = 'public' AND release_open_to_all(r)
                               FROM releases r WHERE r.id = d.release_id)
                      ORDER BY d.plays DESC, d.release_id
                      LIMIT $1) p
         ),
         cards AS (
             SELECT 'new' AS list, id, rank FROM fresh
             UNION ALL
             SELECT 'popular', id, rank FROM popular
         )
         SELECT c.list, r.id AS release_id, r.title AS release_title, r.kind, r.access,
                coalesce(r.published_at, r.publish_at) AS published_at,
                a.id AS artist_id, a.name AS artist_name, a.slug AS artist_slug,
                ",
    cover_variants_sql!(),
    " AS cover
           FROM cards c
           JOIN releases r ON r.id = c.id
           JOIN artist_profiles a ON a.id = r.artist_id
          ORDER BY c.list, c.rank"
);

#[tracing::instrument(skip_all)]
pub async fn home(db: &impl GenericClient, media: &Media) -> Result<Home, ListenerError> {
    let statement = db.prepare_cached(HOME).await?;
    let rows = db.query(&statement, &[&HOME_CARDS]).await?;
    let mut home = Home {
        new_releases: Vec::new(),
        popular: Vec::new(),
        for_you: Vec::new(),
    };
    for row in &rows {
        let card = release_card(row, media).await?;
        match row.get::<_, &str>("list") {
            "new" => home.new_releases.push(card),
            _ => home.popular.push(card),
        }
    }
    Ok(home)
}
