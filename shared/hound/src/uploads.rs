//! Direct-to-S3 uploads: an intent makes a pending asset and a presigned PUT; `complete` checks
//! the stored object, creates the asset's transcode job and enqueues it exactly once.

use deadpool_postgres::{GenericClient, Pool};
use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::{ArtistId, ReleaseStatus, StudioError, lock_draft};
use crate::error::FieldErrors;
use crate::storage::{PresignedUpload, Queue, Storage};

pub const MAX_MASTER_BYTES: i64 = 1024 * 1024 * 1024;
pub const MAX_COVER_BYTES: i64 = 20 * 1024 * 1024;

const MASTER_TYPES: &[&str] = &[
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "audio/flac",
    "audio/x-flac",
    "audio/aiff",
    "audio/x-aiff",
    "audio/mpeg",
    "audio/mp3",
    "audio/mp4",
    "audio/x-m4a",
    "audio/m4a",
];
const COVER_TYPES: &[&str] = &["image/jpeg", "image/png"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "asset_kind", rename_all = "snake_case")]
pub enum AssetKind {
    Master,
    Cover,
}

impl AssetKind {
    /// The processing steps a job of this kind goes through, in order.
    pub fn steps(self) -> &'static [&'static str] {
        match self {
            AssetKind::Master => &["probe", "transcode", "analyse", "upload"],
            AssetKind::Cover => &["probe", "resize", "upload"],
        }
    }
}

/// What the client says it is about to upload.
#[derive(Debug, Deserialize)]
pub struct UploadIntent {
    pub track_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

#[derive(Debug, Serialize)]
pub struct IntentResponse {
    pub asset_id: Uuid,
    pub upload: PresignedUpload,
}

#[derive(Debug, Serialize)]
pub struct Asset {
    pub id: Uuid,
    pub kind: AssetKind,
    pub state: String,
    pub release_id: Uuid,
    pub track_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

#[derive(Debug, Serialize)]
pub struct Job {
    pub id: Uuid,
    pub asset_id: Uuid,
    pub status: String,
    pub progress: i16,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub name: String,
    pub state: String,
    pub progress_pct: i16,
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct Completed {
    pub asset: Asset,
    pub job: Job,
}

/// Keep a filename safe as the last part of an S3 key.
fn sanitise_filename(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
        if out.len() >= 100 {
            break;
        }
    }
    let out = out.trim_matches(|c| c == '.' || c == '_').to_owned();
    if out.is_empty() {
        "upload".to_owned()
    } else {
        out
    }
}

fn check_intent(kind: AssetKind, intent: &UploadIntent) -> Result<(String, String), StudioError> {
    let mut fields = FieldErrors::new();
    let content_type = intent.content_type.trim().to_ascii_lowercase();
    let (types, max) = match kind {
        AssetKind::Master => (MASTER_TYPES, MAX_MASTER_BYTES),
        AssetKind::Cover => (COVER_TYPES, MAX_COVER_BYTES),
    };
    if !types.contains(&content_type.as_str()) {
        fields.insert(
            "content_type",
            format!("must be one of {}", types.join(", ")),
        );
    }
    if !(1..=max).contains(&intent.size_bytes) {
        fields.insert("size_bytes", format!("must be 1–{max} bytes"));
    }
    let filename = intent.filename.trim();
    if filename.is_empty() || filename.chars().count() > 255 {
        fields.insert("filename", "must be 1–255 characters".into());
    }
    if kind == AssetKind::Master && intent.track_id.is_none() {
        fields.insert("track_id", "is required".into());
    }
    if fields.is_empty() {
        Ok((content_type, filename.to_owned()))
    } else {
        Err(StudioError::Invalid(fields))
    }
}

/// Register an upload and hand out its presigned PUT. Refused types and sizes never get a URL.
#[tracing::instrument(skip_all, fields(kind = ?kind))]
pub async fn create_intent(
    pool: &Pool,
    storage: &Storage,
    artist: ArtistId,
    release_id: Uuid,
    kind: AssetKind,
    intent: UploadIntent,
) -> Result<IntentResponse, StudioError> {
    let (content_type, filename) = check_intent(kind, &intent)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_draft(&tx, artist, release_id, StudioError::locked()).await?;
    let track_id = match kind {
        AssetKind::Master => {
            let id = intent.track_id.unwrap_or_default();
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM tracks WHERE id = $1 AND release_id = $2",
                    &[&id, &release_id],
                )
                .await?
                .is_some();
            if !exists {
                return Err(StudioError::field(
                    "track_id",
                    "is not a track of this release",
                ));
            }
            Some(id)
        }
        AssetKind::Cover => None,
    };
    let asset_id = Uuid::now_v7();
    let bucket = match kind {
        AssetKind::Master => storage.masters_bucket.clone(),
        AssetKind::Cover => storage.covers_bucket.clone(),
    };
    let key = format!("{}/{asset_id}/{}", artist.0, sanitise_filename(&filename));
    tx.execute(
        "INSERT INTO assets (id, artist_id, release_id, track_id, kind, bucket, key, filename,
                             content_type, size_bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &asset_id,
            &artist.0,
            &release_id,
            &track_id,
            &kind,
            &bucket,
            &key,
            &filename,
            &content_type,
            &intent.size_bytes,
        ],
    )
    .await?;
    let upload = storage
        .presign_put(&bucket, &key, &content_type, intent.size_bytes)
        .await?;
    tx.commit().await?;
    Ok(IntentResponse { asset_id, upload })
}

/// The job id of an asset is derived from it, so a job is named before it exists: a message
/// sent just before a failed commit still names the job a retried `complete` creates.
fn job_id_for(asset_id: Uuid) -> Uuid {
    Uuid::new_v5(&asset_id, b"transcode-job")
}

/// Finish an upload: the object must exist with the announced size and type. The first call
/// creates the job and enqueues it (202, `created = true`); later calls return the same job.
#[tracing::instrument(skip_all)]
pub async fn complete(
    pool: &Pool,
    storage: &Storage,
    queue: &Queue,
    artist: ArtistId,
    asset_id: Uuid,
) -> Result<(Completed, bool), StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // The asset row lock serialises racing completes: one creates and enqueues, others read.
    let asset = tx
        .query_opt(
            "SELECT a.*, a.state::text AS state_text, r.status AS release_status
             FROM assets a JOIN releases r ON r.id = a.release_id
             WHERE a.id = $1 AND a.artist_id = $2 FOR UPDATE OF a",
            &[&asset_id, &artist.0],
        )
        .await?
        .ok_or(StudioError::NotFound)?;
    let state: String = asset.get("state_text");
    if state == "superseded" {
        return Err(StudioError::Conflict {
            code: "asset_superseded",
            message: "A newer upload has replaced this one.",
        });
    }
    let kind: AssetKind = asset.get("kind");
    let bucket: String = asset.get("bucket");
    let key: String = asset.get("key");
    let job_id = job_id_for(asset_id);
    let existing = tx
        .query_opt(
            "SELECT enqueued_at IS NOT NULL FROM transcode_jobs WHERE id = $1",
            &[&job_id],
        )
        .await?;
    let created = match existing {
        Some(row) if row.get::<_, bool>(0) => false,
        Some(_) => true,
        None => {
            verify_and_create(&tx, storage, &asset, job_id).await?;
            true
        }
    };
    if created {
        let message = serde_json::json!({
            "job_id": job_id,
            "asset_id": asset_id,
            "kind": kind,
            "bucket": bucket,
            "key": key,
        });
        // Sent while the asset is locked: a concurrent complete waits, then finds it enqueued.
        // If SQS fails, everything above rolls back and a later complete starts over.
        queue.send_transcode(&message).await?;
        tx.execute(
            "UPDATE transcode_jobs SET enqueued_at = now() WHERE id = $1",
            &[&job_id],
        )
        .await?;
    }
    let result = Completed {
        asset: read_asset(&tx, asset_id).await?,
        job: read_job(&tx, job_id).await?,
    };
    tx.commit().await?;
    Ok((result, created))
}

/// The object behind a pending asset must exist with the announced size and type; then the
/// asset is `uploaded`, its job exists, and it is attached to its track or release.
async fn verify_and_create(
    tx: &impl GenericClient,
    storage: &Storage,
    asset: &tokio_postgres::Row,
    job_id: Uuid,
) -> Result<(), StudioError> {
    if asset.get::<_, ReleaseStatus>("release_status") != ReleaseStatus::Draft {
        return Err(StudioError::locked());
    }
    let asset_id: Uuid = asset.get("id");
    let kind: AssetKind = asset.get("kind");
    let bucket: String = asset.get("bucket");
    let key: String = asset.get("key");
    let expected_size: i64 = asset.get("size_bytes");
    let expected_type: String = asset.get("content_type");
    let object = storage
        .head(&bucket, &key)
        .await?
        .ok_or(StudioError::Conflict {
            code: "upload_missing",
            message: "Nothing has been uploaded to this asset's URL yet.",
        })?;
    if object.size_bytes != expected_size {
        return Err(StudioError::Conflict {
            code: "upload_size_mismatch",
            message: "The stored object's size differs from the size announced.",
        });
    }
    if object
        .content_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case(&expected_type))
    {
        return Err(StudioError::Conflict {
            code: "upload_type_mismatch",
            message: "The stored object's content type differs from the one announced.",
        });
    }
    tx.execute(
        "UPDATE assets SET state = 'uploaded', uploaded_at = now(), etag = $2 WHERE id = $1",
        &[&asset_id, &object.etag],
    )
    .await?;
    create_job(tx, job_id, asset_id, kind).await?;
    attach(tx, asset, kind).await?;
    Ok(())
}

/// The worker's side of `complete`, for an S3 ObjectCreated notification: when the object is a
/// pending asset's upload and matches its intent, the asset is completed as `complete` would
/// (without a queue message: the notification is the message). Returns the asset's job, or
/// `None` when the object is no asset's, or does not match (the artist's `complete` reports why).
#[tracing::instrument(skip_all, fields(bucket, key))]
pub async fn complete_from_storage(
    pool: &Pool,
    storage: &Storage,
    bucket: &str,
    key: &str,
) -> Result<Option<Uuid>, StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let Some(asset) = tx
        .query_opt(
            "SELECT a.*, r.status AS release_status
             FROM assets a JOIN releases r ON r.id = a.release_id
             WHERE a.bucket = $1 AND a.key = $2 FOR UPDATE OF a",
            &[&bucket, &key],
        )
        .await?
    else {
        return Ok(None);
    };
    let job_id = job_id_for(asset.get("id"));
    let exists = tx
        .query_opt("SELECT 1 FROM transcode_jobs WHERE id = $1", &[&job_id])
        .await?
        .is_some();
    if !exists {
        match verify_and_create(&tx, storage, &asset, job_id).await {
            Ok(()) => {}
            Err(StudioError::Conflict { code, .. }) => {
                tracing::warn!(code, "stored object does not complete its asset");
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        tx.execute(
            "UPDATE transcode_jobs SET enqueued_at = now() WHERE id = $1",
            &[&job_id],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Some(job_id))
}

async fn create_job(
    db: &impl GenericClient,
    job_id: Uuid,
    asset_id: Uuid,
    kind: AssetKind,
) -> Result<(), StudioError> {
    db.execute(
        "INSERT INTO transcode_jobs (id, asset_id) VALUES ($1, $2)",
        &[&job_id, &asset_id],
    )
    .await?;
    let names: Vec<&str> = kind.steps().to_vec();
    db.execute(
        "INSERT INTO job_steps (job_id, position, name)
         SELECT $1, s.ord, s.name FROM unnest($2::text[]) WITH ORDINALITY AS s(name, ord)",
        &[&job_id, &names],
    )
    .await?;
    Ok(())
}

/// Make the asset the track's master (or the release's cover), superseding the one before.
async fn attach(
    db: &impl GenericClient,
    asset: &tokio_postgres::Row,
    kind: AssetKind,
) -> Result<(), StudioError> {
    let asset_id: Uuid = asset.get("id");
    let previous: Option<Uuid> = match kind {
        AssetKind::Master => {
            let track_id: Option<Uuid> = asset.get("track_id");
            db.query_one(
                "UPDATE tracks t SET master_asset_id = $2, duration_ms = NULL
                 FROM (SELECT master_asset_id FROM tracks WHERE id = $1 FOR UPDATE) old
                 WHERE t.id = $1 RETURNING old.master_asset_id",
                &[&track_id, &asset_id],
            )
            .await?
            .get(0)
        }
        AssetKind::Cover => {
            let release_id: Uuid = asset.get("release_id");
            db.query_one(
                "UPDATE releases r SET cover_asset_id = $2
                 FROM (SELECT cover_asset_id FROM releases WHERE id = $1) old
                 WHERE r.id = $1 RETURNING old.cover_asset_id",
                &[&release_id, &asset_id],
            )
            .await?
            .get(0)
        }
    };
    if let Some(old) = previous.filter(|old| *old != asset_id) {
        db.execute(
            "UPDATE assets SET state = 'superseded' WHERE id = $1",
            &[&old],
        )
        .await?;
        db.execute(
            "UPDATE transcode_jobs SET superseded_at = now() WHERE asset_id = $1",
            &[&old],
        )
        .await?;
    }
    Ok(())
}

async fn read_asset(db: &impl GenericClient, id: Uuid) -> Result<Asset, StudioError> {
    let row = db
        .query_opt(
            "SELECT id, kind, state::text AS state, release_id, track_id, filename, content_type,
                    size_bytes FROM assets WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(StudioError::NotFound)?;
    Ok(Asset {
        id: row.get("id"),
        kind: row.get("kind"),
        state: row.get("state"),
        release_id: row.get("release_id"),
        track_id: row.get("track_id"),
        filename: row.get("filename"),
        content_type: row.get("content_type"),
        size_bytes: row.get("size_bytes"),
    })
}

async fn read_job(db: &impl GenericClient, id: Uuid) -> Result<Job, StudioError> {
    let row = db
        .query_opt(
            "SELECT id, asset_id, status::text AS status, progress, error_code, error_message
             FROM transcode_jobs WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(StudioError::NotFound)?;
    let steps = db
        .query(
            "SELECT name, state::text AS state, progress_pct, message FROM job_steps
             WHERE job_id = $1 ORDER BY position",
            &[&id],
        )
        .await?
        .iter()
        .map(|s| Step {
            name: s.get("name"),
            state: s.get("state"),
            progress_pct: s.get("progress_pct"),
            message: s.get("message"),
        })
        .collect();
    let error = row
        .get::<_, Option<String>>("error_code")
        .map(|code| JobError {
            code,
            message: row
                .get::<_, Option<String>>("error_message")
                .unwrap_or_default(),
        });
    Ok(Job {
        id: row.get("id"),
        asset_id: row.get("asset_id"),
        status: row.get("status"),
        progress: row.get("progress"),
        steps,
        error,
    })
}

/// One of the artist's jobs.
pub async fn get_job(
    db: &impl GenericClient,
    artist: ArtistId,
    id: Uuid,
) -> Result<Job, StudioError> {
    let owned = db
        .query_opt(
            "SELECT 1 FROM transcode_jobs j JOIN assets a ON a.id = j.asset_id
             WHERE j.id = $1 AND a.artist_id = $2",
            &[&id, &artist.0],
        )
        .await?
        .is_some();
    if !owned {
        return Err(StudioError::NotFound);
    }
    read_job(db, id).await
}

#[cfg(test)]
mod tests {
    use super::sanitise_filename;

    #[test]
    fn filenames_become_safe_key_parts() {
        assert_eq!(
            sanitise_filename("My Song (final).wav"),
            "My_Song_final_.wav"
        );
        assert_eq!(sanitise_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_filename("C:\\music\\take 1.flac"), "take_1.flac");
        assert_eq!(sanitise_filename("…"), "upload");
        assert!(sanitise_filename(&"a".repeat(300)).len() <= 100);
    }
}
