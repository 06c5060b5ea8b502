//! The transcode job's state machine, in one place. A job is created `queued` by `complete`
//! (with its steps), marked enqueued once its message is on the queue, *claimed* by a worker
//! with a lease (`probing`), moved through its steps by progress writes that renew the lease,
//! and ends `ready` (outputs complete, in one transaction) or `failed` (refused, or
//! dead-lettered). A newer upload supersedes it; a redrive puts a failed job back to `queued`.
//!
//! Only the worker holding the lease may write progress or finish; a worker that died loses the
//! lease when it expires, and a redelivered message takes the job over from the start.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::status::{JobStatus, StepName, StepState};
use crate::assets::AssetKind;
use crate::db::{DbError, Tx};
use crate::ids::{AssetId, JobId};

const CREATE_JOB: &str = "INSERT INTO transcode_jobs (id, asset_id) VALUES ($1, $2)";

const CREATE_STEPS: &str = "\
    INSERT INTO job_steps (job_id, position, name)
    SELECT $1, s.ord, s.name FROM unnest($2::text[]) WITH ORDINALITY AS s(name, ord)";

/// A queued job whose message went out more than a minute ago and that no worker has claimed
/// counts as not enqueued: the message may be lost (the process died between commit and send,
/// or the send's compensation never ran), so the next `complete` sends it again. A duplicate is
/// harmless: a claim runs a job once.
const ENQUEUED: &str = "\
SELECT enqueued_at IS NOT NULL
       AND NOT (status = 'queued' AND enqueued_at < now() - interval '1 minute')
  FROM transcode_jobs WHERE id = $1";

const MARK_ENQUEUED: &str = "UPDATE transcode_jobs SET enqueued_at = now() WHERE id = $1";

const UNMARK_ENQUEUED: &str = "UPDATE transcode_jobs SET enqueued_at = NULL WHERE id = $1";

const SUPERSEDE_ASSET: &str = "UPDATE assets SET state = 'superseded' WHERE id = $1";

const SUPERSEDE_JOB: &str = "UPDATE transcode_jobs SET superseded_at = now() WHERE asset_id = $1";

const SELECT_FOR_CLAIM: &str = "\
    SELECT j.status, j.superseded_at IS NOT NULL AS superseded,
           j.lease_owner IS NOT NULL AND j.lease_owner <> $2
               AND j.lease_expires_at > now() AS held,
           a.id AS asset_id, a.kind, a.bucket, a.key, a.etag,
           coalesce(t.preview_start_ms, 0) AS preview_start_ms
      FROM transcode_jobs j JOIN assets a ON a.id = j.asset_id
      LEFT JOIN tracks t ON t.id = a.track_id AND a.kind = 'master'
     WHERE j.id = $1 FOR UPDATE OF j";

const CLAIM: &str = "\
    UPDATE transcode_jobs
       SET status = 'probing', progress = 0, attempts = attempts + 1, lease_owner = $2,
           lease_expires_at = now() + make_interval(secs => $3)
     WHERE id = $1";

const RESET_STEPS: &str = "\
    UPDATE job_steps SET state = 'pending', progress_pct = 0, message = NULL,
           started_at = NULL, finished_at = NULL
     WHERE job_id = $1";

/// One statement: the job row (only while we hold it) and its steps.
const PROGRESS: &str = "\
    WITH job AS (
        UPDATE transcode_jobs
           SET status = $3, progress = GREATEST(progress, $4),
               lease_expires_at = now() + make_interval(secs => $5)
         WHERE id = $1 AND lease_owner = $2
        RETURNING id),
    steps AS (
        UPDATE job_steps s
           SET state = u.state, progress_pct = u.pct,
               started_at = COALESCE(s.started_at, now()),
               finished_at = CASE WHEN u.state = 'done' THEN now() END
          FROM unnest($6::text[], $7::step_state[], $8::smallint[]) AS u(name, state, pct)
         WHERE s.job_id = (SELECT id FROM job) AND s.name = u.name
        RETURNING 1)
    SELECT (SELECT count(*) FROM job) AS held, (SELECT count(*) FROM steps)";

const PREPARE_VARIANTS: &str = "\
    INSERT INTO variants (id, job_id, asset_id, name, codec, bitrate_kbps, width_px, mime, status)
    SELECT gen_random_uuid(), $1, $2, v.name, v.codec, v.bitrate, v.width, v.mime, 'generating'
      FROM unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::text[])
           AS v(name, codec, bitrate, width, mime)
    ON CONFLICT (job_id, name) DO UPDATE
       SET status = 'generating', size_bytes = NULL, bucket = NULL, key = NULL";

const HOLD: &str = "SELECT 1 FROM transcode_jobs WHERE id = $1 AND lease_owner = $2 FOR UPDATE";

const COMPLETE_VARIANTS: &str = "\
    UPDATE variants v SET status = 'complete', bucket = $2, key = u.key, size_bytes = u.size
      FROM unnest($3::text[], $4::text[], $5::bigint[]) AS u(name, key, size)
     WHERE v.job_id = $1 AND v.name = u.name";

/// Only while the asset is still its track's master: a superseded upload's analysis is dropped.
const RECORD_ANALYSIS: &str = "\
    UPDATE tracks
       SET duration_ms = $2, sample_rate_hz = $3, channels = $4, integrated_lufs = $5,
           loudness_range_lu = $6, true_peak_dbtp = $7, gain_db = $8, embedding = $9,
           analysed_at = now()
     WHERE master_asset_id = $1 AND id = (SELECT track_id FROM assets WHERE id = $1)";

const ASSET_READY: &str =
    "UPDATE assets SET state = 'ready' WHERE id = $1 AND state <> 'superseded'";

const STEPS_DONE: &str = "\
    UPDATE job_steps SET state = 'done', progress_pct = 100,
           started_at = COALESCE(started_at, now()), finished_at = now()
     WHERE job_id = $1";

const JOB_READY: &str = "\
    UPDATE transcode_jobs SET status = 'ready', progress = 100, finished_at = now(),
           lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
     WHERE id = $1";

const JOB_FAILED: &str = "\
    UPDATE transcode_jobs SET status = 'failed', error_code = $2, error_message = $3,
           finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
     WHERE id = $1";

/// The failing step says why; with no step named, the running one fails; the rest are skipped.
const STEPS_FAILED: &str = "\
    UPDATE job_steps SET
        state = CASE WHEN name = $2 OR ($2 IS NULL AND state = 'running') THEN 'failed'
                     WHEN state = 'done' THEN 'done' ELSE 'skipped' END::step_state,
        message = CASE WHEN name = $2 OR ($2 IS NULL AND state = 'running') THEN $3 END,
        finished_at = now()
     WHERE job_id = $1";

const ASSET_FAILED: &str = "\
    UPDATE assets SET state = 'failed'
     WHERE id = (SELECT asset_id FROM transcode_jobs WHERE id = $1) AND state <> 'superseded'";

const VARIANTS_FAILED: &str =
    "UPDATE variants SET status = 'failed' WHERE job_id = $1 AND status <> 'complete'";

const RELEASE_LEASE: &str = "\
    UPDATE transcode_jobs SET lease_owner = NULL, lease_expires_at = NULL, last_error = $3
     WHERE id = $1 AND lease_owner = $2";

const REQUEUE_JOB: &str = "\
    UPDATE transcode_jobs SET status = 'queued', progress = 0, error_code = NULL,
           error_message = NULL, last_error = NULL, finished_at = NULL,
           lease_owner = NULL, lease_expires_at = NULL
     WHERE id = $1 AND status <> 'ready' AND superseded_at IS NULL
    RETURNING asset_id";

const REQUEUE_ASSET: &str =
    "UPDATE assets SET state = 'uploaded' WHERE id = $1 AND state = 'failed'";

/// Create the job of an uploaded asset, with its steps pending.
pub async fn create(
    tx: &Tx<'_>,
    job_id: JobId,
    asset_id: AssetId,
    kind: AssetKind,
) -> Result<(), DbError> {
    let create = tx.prepare_cached(CREATE_JOB).await?;
    tx.execute(&create, &[&job_id, &asset_id]).await?;
    let names: Vec<&str> = StepName::of(kind).iter().map(|s| s.as_str()).collect();
    let steps = tx.prepare_cached(CREATE_STEPS).await?;
    tx.execute(&steps, &[&job_id, &names]).await?;
    Ok(())
}

/// `None`: no such job; `Some(enqueued)`: whether its message is known to be on the queue.
pub async fn enqueued(db: &impl GenericClient, job_id: JobId) -> Result<Option<bool>, DbError> {
    let statement = db.prepare_cached(ENQUEUED).await?;
    Ok(db
        .query_opt(&statement, &[&job_id])
        .await?
        .map(|row| row.get(0)))
}

pub async fn mark_enqueued(db: &impl GenericClient, job_id: JobId) -> Result<(), DbError> {
    let statement = db.prepare_cached(MARK_ENQUEUED).await?;
    db.execute(&statement, &[&job_id]).await?;
    Ok(())
}

/// Its message could not be sent: the next `complete` sends it again.
pub async fn unmark_enqueued(db: &impl GenericClient, job_id: JobId) -> Result<(), DbError> {
    let statement = db.prepare_cached(UNMARK_ENQUEUED).await?;
    db.execute(&statement, &[&job_id]).await?;
    Ok(())
}

/// A newer upload took over: the old asset and its job no longer matter.
pub async fn supersede(tx: &Tx<'_>, old_asset: AssetId) -> Result<(), DbError> {
    let asset = tx.prepare_cached(SUPERSEDE_ASSET).await?;
    tx.execute(&asset, &[&old_asset]).await?;
    let job = tx.prepare_cached(SUPERSEDE_JOB).await?;
    tx.execute(&job, &[&old_asset]).await?;
    Ok(())
}

/// A job as claimed: what to fetch and where the results go.
#[derive(Debug, Clone)]
pub struct Claim {
    pub job_id: JobId,
    pub asset_id: AssetId,
    pub kind: AssetKind,
    pub bucket: String,
    pub key: String,
    /// The stored object's ETag when the upload was completed: the worker reads that version
    /// only, so an object swapped through a still-valid upload URL fails the job instead of
    /// diverging from its analysis.
    pub etag: Option<String>,
    /// A master's track's preview start (ms) as it stands when the job is claimed; 0 for
    /// covers.
    pub preview_start_ms: i32,
}

/// Why a job was not claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unclaimed {
    /// No such job.
    Missing,
    /// `ready` or `failed` already: a duplicate delivery.
    Done,
    /// A newer upload replaced its asset.
    Superseded,
    /// Another live worker holds the lease.
    Held,
}

/// Take the job for `owner` if nobody live holds it. The steps start over: a takeover redoes
/// the work (outputs go to the same keys) rather than trusting a dead worker's half.
pub async fn claim(
    tx: &Tx<'_>,
    job_id: JobId,
    owner: &str,
    lease: Duration,
) -> Result<Result<Claim, Unclaimed>, DbError> {
    let select = tx.prepare_cached(SELECT_FOR_CLAIM).await?;
    let Some(row) = tx.query_opt(&select, &[&job_id, &owner]).await? else {
        return Ok(Err(Unclaimed::Missing));
    };
    if row.get::<_, JobStatus>("status").is_final() {
        return Ok(Err(Unclaimed::Done));
    }
    if row.get::<_, bool>("superseded") {
        return Ok(Err(Unclaimed::Superseded));
    }
    if row.get::<_, bool>("held") {
        return Ok(Err(Unclaimed::Held));
    }
    let claim = tx.prepare_cached(CLAIM).await?;
    tx.execute(&claim, &[&job_id, &owner, &lease.as_secs_f64()])
        .await?;
    let reset = tx.prepare_cached(RESET_STEPS).await?;
    tx.execute(&reset, &[&job_id]).await?;
    Ok(Ok(Claim {
        job_id,
        asset_id: row.get("asset_id"),
        kind: row.get("kind"),
        bucket: row.get("bucket"),
        key: row.get("key"),
        etag: row.get("etag"),
        preview_start_ms: row.get("preview_start_ms"),
    }))
}

/// One step's state and progress, as a progress write sets it.
#[derive(Debug, Clone, Copy)]
pub struct StepUpdate {
    pub name: StepName,
    pub state: StepState,
    pub progress_pct: i16,
}

impl StepUpdate {
    pub fn new(name: StepName, state: StepState, progress_pct: i16) -> Self {
        Self {
            name,
            state,
            progress_pct,
        }
    }
}

/// Record progress and renew `owner`'s lease; `false` when the lease was lost.
pub async fn progress(
    db: &impl GenericClient,
    job_id: JobId,
    owner: &str,
    lease: Duration,
    status: JobStatus,
    progress: i16,
    steps: &[StepUpdate],
) -> Result<bool, DbError> {
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
    let pcts: Vec<i16> = steps.iter().map(|s| s.progress_pct).collect();
    let statement = db.prepare_cached(PROGRESS).await?;
    let row = db
        .query_one(
            &statement,
            &[
                &job_id,
                &owner,
                &status,
                &progress,
                &lease.as_secs_f64(),
                &names,
                &states,
                &pcts,
            ],
        )
        .await?;
    Ok(row.get::<_, i64>("held") > 0)
}

/// An output a job makes: a rendition, the waveform, or a cover size.
#[derive(Debug, Clone, Copy)]
pub struct VariantSpec<'a> {
    pub name: &'a str,
    pub codec: Option<&'a str>,
    pub bitrate_kbps: Option<i32>,
    pub width_px: Option<i32>,
    pub mime: &'a str,
}

/// The variant rows this job makes, `generating` until [`finish`].
pub async fn prepare_variants(
    db: &impl GenericClient,
    job: &Claim,
    specs: &[VariantSpec<'_>],
) -> Result<(), DbError> {
    let names: Vec<&str> = specs.iter().map(|v| v.name).collect();
    let codecs: Vec<Option<&str>> = specs.iter().map(|v| v.codec).collect();
    let bitrates: Vec<Option<i32>> = specs.iter().map(|v| v.bitrate_kbps).collect();
    let widths: Vec<Option<i32>> = specs.iter().map(|v| v.width_px).collect();
    let mimes: Vec<&str> = specs.iter().map(|v| v.mime).collect();
    let statement = db.prepare_cached(PREPARE_VARIANTS).await?;
    db.execute(
        &statement,
        &[
            &job.job_id,
            &job.asset_id,
            &names,
            &codecs,
            &bitrates,
            &widths,
            &mimes,
        ],
    )
    .await?;
    Ok(())
}

/// Lock the job if `owner` still holds it; `false` when the lease was lost.
pub async fn hold(tx: &Tx<'_>, job_id: JobId, owner: &str) -> Result<bool, DbError> {
    let statement = tx.prepare_cached(HOLD).await?;
    Ok(tx
        .query_opt(&statement, &[&job_id, &owner])
        .await?
        .is_some())
}

/// A stored output: its variant name, key in `bucket` and size.
#[derive(Debug, Clone)]
pub struct StoredVariant {
    pub name: String,
    pub key: String,
    pub size_bytes: i64,
}

/// A master's analysis, written to its track with the job's end.
#[derive(Debug, Clone)]
pub struct TrackAnalysis {
    pub duration_ms: i32,
    pub sample_rate_hz: i32,
    pub channels: i16,
    pub integrated_lufs: f32,
    pub loudness_range_lu: f32,
    pub true_peak_dbtp: f32,
    pub gain_db: f32,
    pub embedding: Vec<f32>,
}

/// The job's end, in the caller's transaction (after [`hold`]): its outputs complete, the
/// track's analysis (if this is still its master), the asset and the job ready, and the
/// artist's notification queued (`notify`).
pub async fn finish(
    tx: &Tx<'_>,
    job: &Claim,
    bucket: &str,
    stored: &[StoredVariant],
    analysis: Option<&TrackAnalysis>,
) -> Result<(), DbError> {
    let names: Vec<&str> = stored.iter().map(|s| s.name.as_str()).collect();
    let keys: Vec<&str> = stored.iter().map(|s| s.key.as_str()).collect();
    let sizes: Vec<i64> = stored.iter().map(|s| s.size_bytes).collect();
    let complete = tx.prepare_cached(COMPLETE_VARIANTS).await?;
    tx.execute(&complete, &[&job.job_id, &bucket, &names, &keys, &sizes])
        .await?;
    if let Some(a) = analysis {
        let record = tx.prepare_cached(RECORD_ANALYSIS).await?;
        tx.execute(
            &record,
            &[
                &job.asset_id,
                &a.duration_ms,
                &a.sample_rate_hz,
                &a.channels,
                &a.integrated_lufs,
                &a.loudness_range_lu,
                &a.true_peak_dbtp,
                &a.gain_db,
                &a.embedding,
            ],
        )
        .await?;
    }
    let asset = tx.prepare_cached(ASSET_READY).await?;
    tx.execute(&asset, &[&job.asset_id]).await?;
    let steps = tx.prepare_cached(STEPS_DONE).await?;
    tx.execute(&steps, &[&job.job_id]).await?;
    let ready = tx.prepare_cached(JOB_READY).await?;
    tx.execute(&ready, &[&job.job_id]).await?;
    crate::notify::job_ended(tx, job.job_id, true).await?;
    Ok(())
}

/// Fail a job for good: status, error, the failing step (others skipped), asset and variants,
/// and the artist's notification queued (`notify`).
pub async fn fail(
    tx: &Tx<'_>,
    job_id: JobId,
    code: &str,
    message: &str,
    step: Option<StepName>,
) -> Result<(), DbError> {
    let failed = tx.prepare_cached(JOB_FAILED).await?;
    tx.execute(&failed, &[&job_id, &code, &message]).await?;
    let steps = tx.prepare_cached(STEPS_FAILED).await?;
    tx.execute(&steps, &[&job_id, &step.map(StepName::as_str), &message])
        .await?;
    let asset = tx.prepare_cached(ASSET_FAILED).await?;
    tx.execute(&asset, &[&job_id]).await?;
    let variants = tx.prepare_cached(VARIANTS_FAILED).await?;
    tx.execute(&variants, &[&job_id]).await?;
    crate::notify::job_ended(tx, job_id, false).await?;
    Ok(())
}

/// Give the job up after a transient error: keep the error for the dead-letter record and let
/// the next delivery take it at once.
pub async fn release(
    db: &impl GenericClient,
    job_id: JobId,
    owner: &str,
    error: &str,
) -> Result<(), DbError> {
    let statement = db.prepare_cached(RELEASE_LEASE).await?;
    db.execute(&statement, &[&job_id, &owner, &error]).await?;
    Ok(())
}

/// Put a failed (not ready, not superseded) job back to `queued` with its steps pending and
/// its asset uploaded; `false` when the job was not in a state to start over.
pub async fn requeue(tx: &Tx<'_>, job_id: JobId) -> Result<bool, DbError> {
    let job = tx.prepare_cached(REQUEUE_JOB).await?;
    let Some(row) = tx.query_opt(&job, &[&job_id]).await? else {
        return Ok(false);
    };
    let asset_id: AssetId = row.get(0);
    let steps = tx.prepare_cached(RESET_STEPS).await?;
    tx.execute(&steps, &[&job_id]).await?;
    let asset = tx.prepare_cached(REQUEUE_ASSET).await?;
    tx.execute(&asset, &[&asset_id]).await?;
    Ok(true)
}
