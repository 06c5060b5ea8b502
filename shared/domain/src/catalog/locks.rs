//! The row lock every change to a release takes first: it serialises edits, track changes,
//! uploads and the lifecycle, and tells a draft from a release that no longer changes.

use super::error::StudioError;
use super::types::ReleaseStatus;
use crate::db::Tx;
use crate::ids::{ArtistId, ReleaseId};

const LOCK_RELEASE: &str = "\
    SELECT r.*, release_effective_status(r.status, r.publish_at) AS effective
      FROM releases r WHERE r.id = $1 AND r.artist_id = $2 FOR UPDATE";

/// Lock one of the artist's releases for a change; the row carries its stored `status` and its
/// `effective` one.
pub async fn lock_release(
    tx: &Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
) -> Result<tokio_postgres::Row, StudioError> {
    let statement = tx.prepare_cached(LOCK_RELEASE).await?;
    tx.query_opt(&statement, &[&id, &artist])
        .await?
        .ok_or(StudioError::NotFound)
}

/// Lock one of the artist's releases that must still be a draft; `otherwise` is the answer when
/// it is not.
pub async fn lock_draft(
    tx: &Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
    otherwise: StudioError,
) -> Result<tokio_postgres::Row, StudioError> {
    let row = lock_release(tx, artist, id).await?;
    if row.get::<_, ReleaseStatus>("status") == ReleaseStatus::Draft {
        Ok(row)
    } else {
        Err(otherwise)
    }
}
