//! Completing an upload: the stored object must exist with the announced size and type; then
//! the asset is `uploaded`, takes over its track's master (or its release's cover), and its
//! transcode job is created and enqueued exactly once — from the artist's `complete`, or from
//! the S3 ObjectCreated notification that may arrive first.

use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::assets::{self, Asset, AssetKind, AssetState};
use crate::aws::{Queue, Storage};
use crate::catalog::{ReleaseStatus, StudioError};
use crate::db::Tx;
use crate::ids::{ArtistId, AssetId, JobId, ReleaseId, TrackId};
use crate::jobs::{self, Job, JobMessage};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Completed {
    pub asset: Asset,
    pub job: Job,
}

/// The asset row lock serialises racing completes: one creates and enqueues, the others read.
/// The release row is locked too, so its status is read under the lock `submit` takes: a
/// release submitted meanwhile refuses the upload, and a submit waits for the upload to attach
/// (then finds its master not processed yet).
const LOCK_ARTISTS_ASSET: &str = "\
    SELECT a.id, a.kind, a.state, a.release_id, a.track_id, a.bucket, a.key, a.size_bytes,
           a.content_type, r.status AS release_status
      FROM assets a JOIN releases r ON r.id = a.release_id
     WHERE a.id = $1 AND a.artist_id = $2 FOR UPDATE OF a, r";

const LOCK_STORED_ASSET: &str = "\
    SELECT a.id, a.kind, a.state, a.release_id, a.track_id, a.bucket, a.key, a.size_bytes,
           a.content_type, r.status AS release_status
      FROM assets a JOIN releases r ON r.id = a.release_id
     WHERE a.bucket = $1 AND a.key = $2 FOR UPDATE OF a, r";

const MARK_UPLOADED: &str =
    "UPDATE assets SET state = 'uploaded', uploaded_at = now(), etag = $2 WHERE id = $1";

/// The track's previous master is read under the track's row lock, then replaced.
const ATTACH_MASTER: &str = "\
    UPDATE tracks t SET master_asset_id = $2, duration_ms = NULL
      FROM (SELECT master_asset_id FROM tracks WHERE id = $1 FOR UPDATE) old
     WHERE t.id = $1 RETURNING old.master_asset_id";

const ATTACH_COVER: &str = "\
    UPDATE releases r SET cover_asset_id = $2
      FROM (SELECT cover_asset_id FROM releases WHERE id = $1) old
     WHERE r.id = $1 RETURNING old.cover_asset_id";

/// A locked asset row, as both complete paths read it.
struct Locked {
    id: AssetId,
    kind: AssetKind,
    state: AssetState,
    release_id: ReleaseId,
    track_id: Option<TrackId>,
    bucket: String,
    key: String,
    size_bytes: i64,
    content_type: String,
    release_status: ReleaseStatus,
}

impl Locked {
    fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get("id"),
            kind: row.get("kind"),
            state: row.get("state"),
            release_id: row.get("release_id"),
            track_id: row.get("track_id"),
            bucket: row.get("bucket"),
            key: row.get("key"),
            size_bytes: row.get("size_bytes"),
            content_type: row.get("content_type"),
            release_status: row.get("release_status"),
        }
    }
}

/// Finish an upload. The first call creates the job and claims its enqueueing: it returns the
/// job message, which the caller sends with [`enqueue`] once the transaction has committed (so
/// no message ever names a job a worker cannot see yet); later calls return the same job and no
/// message, unless the job has sat queued and unclaimed for a minute since its message went out
/// (then the message may be lost, and this call sends it again).
#[tracing::instrument(skip_all)]
pub async fn complete(
    tx: &Tx<'_>,
    storage: &Storage,
    artist: ArtistId,
    asset_id: AssetId,
) -> Result<(Completed, Option<JobMessage>), StudioError> {
    let lock = tx.prepare_cached(LOCK_ARTISTS_ASSET).await?;
    let asset = tx
        .query_opt(&lock, &[&asset_id, &artist])
        .await?
        .map(|row| Locked::from_row(&row))
        .ok_or(StudioError::NotFound)?;
    if asset.state == AssetState::Superseded {
        return Err(StudioError::Conflict {
            code: "asset_superseded",
            message: "A newer upload has replaced this one.",
        });
    }
    if asset.state == AssetState::Abandoned {
        return Err(StudioError::Conflict {
            code: "upload_expired",
            message: "This upload was never completed and has expired: start a new one.",
        });
    }
    let job_id = JobId::for_asset(asset_id);
    let created = match jobs::enqueued(tx, job_id).await? {
        Some(true) => false,
        Some(false) => true,
        None => {
            verify_and_create(tx, storage, &asset, job_id).await?;
            true
        }
    };
    let message = if created {
        // Marked while the asset is locked: a concurrent complete waits, then finds it enqueued.
        // If the send after the commit fails, `enqueue` takes the mark back.
        jobs::mark_enqueued(tx, job_id).await?;
        Some(JobMessage {
            job_id,
            asset_id,
            kind: asset.kind,
            bucket: asset.bucket.clone(),
            key: asset.key.clone(),
        })
    } else {
        None
    };
    let result = Completed {
        asset: assets::read(tx, asset_id)
            .await?
            .ok_or(StudioError::NotFound)?,
        job: jobs::read(tx, job_id).await?.ok_or(StudioError::NotFound)?,
    };
    Ok((result, message))
}

/// Send a committed job's message. When SQS refuses, the job stays (queued, not enqueued) and a
/// later `complete` sends it again; the caller answers 503.
pub async fn enqueue(
    db: &impl GenericClient,
    queue: &Queue,
    message: &JobMessage,
) -> Result<(), StudioError> {
    if let Err(e) = queue.send(&message.to_body()).await {
        jobs::unmark_enqueued(db, message.job_id).await?;
        return Err(e.into());
    }
    Ok(())
}

/// The worker's side of `complete`, for an S3 ObjectCreated notification: when the object is a
/// pending asset's upload and matches its intent, the asset is completed as `complete` would
/// (without a queue message: the notification is the message). Returns the asset's job, or
/// `None` when the object is no asset's, or does not match (the artist's `complete` reports why).
#[tracing::instrument(skip_all, fields(bucket, key))]
pub async fn complete_from_storage(
    tx: &Tx<'_>,
    storage: &Storage,
    bucket: &str,
    key: &str,
) -> Result<Option<JobId>, StudioError> {
    let lock = tx.prepare_cached(LOCK_STORED_ASSET).await?;
    let Some(asset) = tx
        .query_opt(&lock, &[&bucket, &key])
        .await?
        .map(|row| Locked::from_row(&row))
    else {
        return Ok(None);
    };
    let job_id = JobId::for_asset(asset.id);
    if jobs::enqueued(tx, job_id).await?.is_none() {
        match verify_and_create(tx, storage, &asset, job_id).await {
            Ok(()) => {}
            Err(StudioError::Conflict { code, .. }) => {
                tracing::warn!(code, "stored object does not complete its asset");
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        jobs::mark_enqueued(tx, job_id).await?;
    }
    Ok(Some(job_id))
}

/// The object behind a pending asset must exist with the announced size and type; then the
/// asset is `uploaded`, its job exists, and it is attached to its track or release.
async fn verify_and_create(
    tx: &Tx<'_>,
    storage: &Storage,
    asset: &Locked,
    job_id: JobId,
) -> Result<(), StudioError> {
    if asset.release_status != ReleaseStatus::Draft {
        return Err(StudioError::locked());
    }
    let object = storage
        .head(&asset.bucket, &asset.key)
        .await?
        .ok_or(StudioError::Conflict {
            code: "upload_missing",
            message: "Nothing has been uploaded to this asset's URL yet.",
        })?;
    if object.size_bytes != asset.size_bytes {
        return Err(StudioError::Conflict {
            code: "upload_size_mismatch",
            message: "The stored object's size differs from the size announced.",
        });
    }
    if object
        .content_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case(&asset.content_type))
    {
        return Err(StudioError::Conflict {
            code: "upload_type_mismatch",
            message: "The stored object's content type differs from the one announced.",
        });
    }
    let uploaded = tx.prepare_cached(MARK_UPLOADED).await?;
    tx.execute(&uploaded, &[&asset.id, &object.etag]).await?;
    jobs::create(tx, job_id, asset.id, asset.kind).await?;
    attach(tx, asset).await
}

/// Make the asset the track's master (or the release's cover), superseding the one before.
async fn attach(tx: &Tx<'_>, asset: &Locked) -> Result<(), StudioError> {
    let previous: Option<AssetId> = match asset.kind {
        AssetKind::Master => {
            let statement = tx.prepare_cached(ATTACH_MASTER).await?;
            tx.query_one(&statement, &[&asset.track_id, &asset.id])
                .await?
                .get(0)
        }
        AssetKind::Cover => {
            let statement = tx.prepare_cached(ATTACH_COVER).await?;
            tx.query_one(&statement, &[&asset.release_id, &asset.id])
                .await?
                .get(0)
        }
    };
    if let Some(old) = previous.filter(|old| *old != asset.id) {
        jobs::supersede(tx, old).await?;
    }
    Ok(())
}
