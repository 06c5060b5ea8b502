//! Tracks of a release: appended, edited, removed and reordered while the release is a draft.

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::StudioError;
use super::locks::lock_draft;
use super::types::{Isrc, PreviewStart, Title};
use crate::assets::AssetState;
use crate::db::Tx;
use crate::fields::{FieldErrors, patch};
use crate::ids::{ArtistId, AssetId, JobId, ReleaseId, TrackId};
use crate::jobs::JobStatus;

/// Most tracks one release may hold.
pub const MAX_TRACKS: i64 = 100;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Track {
    pub id: TrackId,
    pub release_id: ReleaseId,
    pub position: i32,
    pub title: Title,
    pub isrc: Option<Isrc>,
    pub explicit: bool,
    pub duration_ms: Option<i32>,
    /// Where the 30-second preview starts (ms); read when the master is transcoded.
    pub preview_start_ms: PreviewStart,
    pub master: Option<MasterRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MasterRef {
    pub asset_id: AssetId,
    pub state: Option<AssetState>,
    pub job_id: Option<JobId>,
    pub job_status: Option<JobStatus>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TrackFields {
    /// 1–200 characters once trimmed; required on create.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// CC-XXX-YY-NNNNN; hyphens and spaces are dropped.
    #[serde(default, deserialize_with = "patch")]
    pub isrc: Option<Option<String>>,
    pub explicit: Option<bool>,
    /// Where the 30-second preview starts, in milliseconds: 0 (default) to just under 30
    /// minutes. The previews are cut when the master is transcoded, so a change applies to
    /// the next master uploaded; a start too close to the end is moved back to keep 30 s.
    #[schema(minimum = 0, maximum = 1_799_999)]
    pub preview_start_ms: Option<i64>,
}

/// A release's tracks as the studio shows them, with their master's upload and job.
macro_rules! track_select {
    () => {
        "SELECT t.id, t.release_id, t.position, t.title, t.isrc, t.explicit, t.duration_ms,
                t.preview_start_ms, t.master_asset_id, a.state AS master_state, j.id AS job_id, j.status AS job_status,
                t.created_at, t.updated_at
           FROM tracks t
           LEFT JOIN assets a ON a.id = t.master_asset_id
           LEFT JOIN transcode_jobs j ON j.asset_id = t.master_asset_id"
    };
}

const LIST_TRACKS: &str = concat!(
    track_select!(),
    " WHERE t.release_id = $1 ORDER BY t.position"
);

const SELECT_TRACK: &str = concat!(track_select!(), " WHERE t.release_id = $1 AND t.id = $2");

const COUNT_TRACKS: &str = "SELECT count(*) FROM tracks WHERE release_id = $1";

const APPEND_TRACK: &str = "\
    INSERT INTO tracks (id, release_id, position, title, isrc, explicit, preview_start_ms)
    VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM tracks WHERE release_id = $2),
            $3, $4, $5, $6)";

const UPDATE_TRACK: &str = "\
    UPDATE tracks SET title = $2, isrc = $3, explicit = $4, preview_start_ms = $5 WHERE id = $1";

const DELETE_TRACK: &str =
    "DELETE FROM tracks WHERE id = $1 AND release_id = $2 RETURNING position";

const CLOSE_GAP: &str =
    "UPDATE tracks SET position = position - 1 WHERE release_id = $1 AND position > $2";

const TRACK_IDS: &str = "SELECT id FROM tracks WHERE release_id = $1";

/// Positions are unique per release but checked at commit, so one statement can permute them.
const REORDER: &str = "\
    UPDATE tracks t SET position = o.ord
      FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, ord)
     WHERE t.id = o.id AND t.release_id = $1";

fn track_from_row(row: &tokio_postgres::Row) -> Track {
    Track {
        id: row.get("id"),
        release_id: row.get("release_id"),
        position: row.get("position"),
        title: row.get("title"),
        isrc: row.get("isrc"),
        explicit: row.get("explicit"),
        duration_ms: row.get("duration_ms"),
        preview_start_ms: row.get("preview_start_ms"),
        master: row
            .get::<_, Option<AssetId>>("master_asset_id")
            .map(|asset_id| MasterRef {
                asset_id,
                state: row.get("master_state"),
                job_id: row.get("job_id"),
                job_status: row.get("job_status"),
            }),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

pub async fn list_tracks(
    db: &impl GenericClient,
    release_id: ReleaseId,
) -> Result<Vec<Track>, StudioError> {
    let statement = db.prepare_cached(LIST_TRACKS).await?;
    Ok(db
        .query(&statement, &[&release_id])
        .await?
        .iter()
        .map(track_from_row)
        .collect())
}

async fn get_track(
    db: &impl GenericClient,
    release_id: ReleaseId,
    id: TrackId,
) -> Result<Track, StudioError> {
    let statement = db.prepare_cached(SELECT_TRACK).await?;
    db.query_opt(&statement, &[&release_id, &id])
        .await?
        .map(|row| track_from_row(&row))
        .ok_or(StudioError::NotFound)
}

/// Lock a draft release of the artist for a track change.
async fn lock_for_tracks(
    tx: &Tx<'_>,
    artist: ArtistId,
    release_id: ReleaseId,
) -> Result<(), StudioError> {
    lock_draft(tx, artist, release_id, StudioError::locked())
        .await
        .map(drop)
}

/// Append a track at the end of a draft release.
#[tracing::instrument(skip_all)]
pub async fn add_track(
    tx: &Tx<'_>,
    artist: ArtistId,
    release_id: ReleaseId,
    fields: TrackFields,
) -> Result<Track, StudioError> {
    let mut problems = FieldErrors::new();
    let title = match fields.title.as_deref() {
        Some(raw) => Title::parse(raw)
            .map_err(|e| problems.insert("title", e))
            .ok(),
        None => {
            problems.insert("title", "is required".into());
            None
        }
    };
    let isrc = match fields.isrc.flatten() {
        Some(raw) => Isrc::parse(&raw)
            .map_err(|e| problems.insert("isrc", e))
            .ok(),
        None => None,
    };
    let preview_start = preview_start(
        fields.preview_start_ms,
        PreviewStart::default(),
        &mut problems,
    );
    let (Some(title), true) = (title, problems.is_empty()) else {
        return Err(StudioError::Invalid(problems));
    };
    // The release row lock serialises appends, so two at once get consecutive positions.
    lock_for_tracks(tx, artist, release_id).await?;
    let count = tx.prepare_cached(COUNT_TRACKS).await?;
    let count: i64 = tx.query_one(&count, &[&release_id]).await?.get(0);
    if count >= MAX_TRACKS {
        return Err(StudioError::Conflict {
            code: "limit_reached",
            message: "A release holds at most 100 tracks.",
        });
    }
    let id = TrackId::generate();
    let append = tx.prepare_cached(APPEND_TRACK).await?;
    tx.execute(
        &append,
        &[
            &id,
            &release_id,
            &title,
            &isrc,
            &fields.explicit.unwrap_or(false),
            &preview_start,
        ],
    )
    .await?;
    get_track(tx, release_id, id).await
}

#[tracing::instrument(skip_all)]
pub async fn update_track(
    tx: &Tx<'_>,
    artist: ArtistId,
    release_id: ReleaseId,
    id: TrackId,
    fields: TrackFields,
) -> Result<Track, StudioError> {
    lock_for_tracks(tx, artist, release_id).await?;
    let current = get_track(tx, release_id, id).await?;
    let mut problems = FieldErrors::new();
    let title = match fields.title.as_deref() {
        Some(raw) => Title::parse(raw)
            .map_err(|e| problems.insert("title", e))
            .ok(),
        None => Some(current.title),
    };
    let isrc = match fields.isrc {
        Some(Some(raw)) => Isrc::parse(&raw)
            .map_err(|e| problems.insert("isrc", e))
            .ok(),
        Some(None) => None,
        None => current.isrc,
    };
    let preview_start = preview_start(
        fields.preview_start_ms,
        current.preview_start_ms,
        &mut problems,
    );
    let (Some(title), true) = (title, problems.is_empty()) else {
        return Err(StudioError::Invalid(problems));
    };
    let update = tx.prepare_cached(UPDATE_TRACK).await?;
    tx.execute(
        &update,
        &[
            &id,
            &title,
            &isrc,
            &fields.explicit.unwrap_or(current.explicit),
            &preview_start,
        ],
    )
    .await?;
    get_track(tx, release_id, id).await
}

/// The preview start a create or change asks for (`current` when absent); a bad one is noted
/// in `problems`.
fn preview_start(
    requested: Option<i64>,
    current: PreviewStart,
    problems: &mut FieldErrors,
) -> PreviewStart {
    match requested.map(PreviewStart::parse) {
        Some(Ok(start)) => start,
        Some(Err(e)) => {
            problems.insert("preview_start_ms", e);
            current
        }
        None => current,
    }
}

/// Remove a track; the ones after it move up.
#[tracing::instrument(skip_all)]
pub async fn delete_track(
    tx: &Tx<'_>,
    artist: ArtistId,
    release_id: ReleaseId,
    id: TrackId,
) -> Result<(), StudioError> {
    lock_for_tracks(tx, artist, release_id).await?;
    let delete = tx.prepare_cached(DELETE_TRACK).await?;
    let position: i32 = tx
        .query_opt(&delete, &[&id, &release_id])
        .await?
        .ok_or(StudioError::NotFound)?
        .get(0);
    let close = tx.prepare_cached(CLOSE_GAP).await?;
    tx.execute(&close, &[&release_id, &position]).await?;
    Ok(())
}

/// Put the tracks in the given order; `track_ids` must be a permutation of the release's tracks.
#[tracing::instrument(skip_all)]
pub async fn reorder_tracks(
    tx: &Tx<'_>,
    artist: ArtistId,
    release_id: ReleaseId,
    track_ids: &[TrackId],
) -> Result<(), StudioError> {
    lock_for_tracks(tx, artist, release_id).await?;
    let ids = tx.prepare_cached(TRACK_IDS).await?;
    let mut current: Vec<TrackId> = tx
        .query(&ids, &[&release_id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut wanted = track_ids.to_vec();
    current.sort();
    wanted.sort();
    if current != wanted {
        return Err(StudioError::field(
            "track_ids",
            "must list every track of the release exactly once",
        ));
    }
    let reorder = tx.prepare_cached(REORDER).await?;
    tx.execute(&reorder, &[&release_id, &track_ids]).await?;
    Ok(())
}
