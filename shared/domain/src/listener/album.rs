//! An album page: the release, its artist, ordered tracks with loudness and whether each can be
//! played by this caller, and cover URLs. One query, of one release row and its artist: the
//! track list and the cover variants are kept on the release by the database
//! (migrations/V26, V28).

use deadpool_postgres::GenericClient;
use postgres_types::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::{Date, OffsetDateTime};

use super::error::ListenerError;
use super::media::{Cover, Media, cover_variants_sql};
use super::viewer::{ArtistCard, Reach, Viewer};
use crate::catalog::{Access, ReleaseKind};
use crate::ids::{ReleaseId, TrackId};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Album {
    pub id: ReleaseId,
    pub title: String,
    pub kind: ReleaseKind,
    pub access: Access,
    /// For this caller: `code`/`event`/`paid` while they hold no entitlement, else null.
    pub gate: Option<Access>,
    pub explicit: bool,
    pub genre: Option<String>,
    pub release_date: Option<Date>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    pub artist: ArtistCard,
    /// Cover URLs by width in pixels (`"300"`, `"600"`, `"1200"`), each in the formats made.
    #[schema(inline)]
    pub cover: Option<Cover>,
    #[schema(value_type = Vec<AlbumTrack>)]
    pub tracks: AlbumTracks,
}

/// The album's tracks as the response carries them: for a caller who may stream, the list the
/// database keeps on the release (V28) as it is, written into the response without being
/// decoded and encoded again; else decoded, to mark every track unplayable.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AlbumTracks {
    Stored(Box<RawValue>),
    Unplayable(Vec<AlbumTrack>),
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlbumTrack {
    pub id: TrackId,
    pub position: i32,
    pub title: String,
    pub duration_ms: Option<i32>,
    pub explicit: bool,
    pub loudness: Option<TrackLoudness>,
    /// The caller may stream it and its renditions are complete.
    pub playable: bool,
}

/// ITU-R BS.1770 measurements of a track, and the gain that brings it to −14 LUFS.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackLoudness {
    pub integrated_lufs: f32,
    pub true_peak_dbtp: f32,
    pub gain_db: f32,
}

const ALBUM: &str = concat!(
    "SELECT r.id, r.title, r.kind, r.access, r.explicit, r.genre, r.release_date,
                CASE WHEN release_effective_status(r.status, r.publish_at) = 'published'
                     THEN coalesce(r.published_at, r.publish_at) END AS published_at,
                release_reach(r, $2, $3) AS reach,
                a.id AS artist_id, a.name AS artist_name, a.slug AS artist_slug,
                ",
    cover_variants_sql!(),
    " AS cover,
                r.track_list AS tracks
           FROM releases r JOIN artist_profiles a ON a.id = r.artist_id
          WHERE r.id = $1"
);

/// The album page of `release_id` as `viewer` may see it; hidden releases are `NotFound`.
#[tracing::instrument(skip(db, media, viewer))]
pub async fn album(
    db: &impl GenericClient,
    media: &Media,
    viewer: &Viewer,
    release_id: ReleaseId,
) -> Result<Album, ListenerError> {
    let statement = db.prepare_cached(ALBUM).await?;
    let row = db
        .query_opt(
            &statement,
            &[&release_id, &viewer.user_id, &viewer.share_token],
        )
        .await?
        .ok_or(ListenerError::NotFound)?;
    let reach: Reach = row.get("reach");
    if reach == Reach::Hidden {
        return Err(ListenerError::NotFound);
    }
    let access: Access = row.get("access");
    let tracks = if reach == Reach::Stream {
        match row.try_get::<_, Option<Json<Box<RawValue>>>>("tracks")? {
            Some(Json(list)) => AlbumTracks::Stored(list),
            None => AlbumTracks::Unplayable(Vec::new()),
        }
    } else {
        let mut tracks = row
            .try_get::<_, Option<Json<Vec<AlbumTrack>>>>("tracks")?
            .map(|Json(tracks)| tracks)
            .unwrap_or_default();
        for track in &mut tracks {
            track.playable = false;
        }
        AlbumTracks::Unplayable(tracks)
    };
    Ok(Album {
        id: row.get("id"),
        title: row.get("title"),
        kind: row.get("kind"),
        access,
        gate: (reach == Reach::Page).then_some(access),
        explicit: row.get("explicit"),
        genre: row.get("genre"),
        release_date: row.get("release_date"),
        published_at: row.get("published_at"),
        artist: ArtistCard {
            id: row.get("artist_id"),
            name: row.get("artist_name"),
            slug: row.get("artist_slug"),
        },
        cover: media.cover(row.try_get("cover")?).await?,
        tracks,
    })
}
