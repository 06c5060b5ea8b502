//! A job as the studio shows it: status, overall progress, each step, and the error of a failed
//! job.

use deadpool_postgres::GenericClient;
use serde::Serialize;

use super::status::{JobStatus, StepState};
use crate::db::DbError;
use crate::ids::{ArtistId, AssetId, JobId};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: JobId,
    pub asset_id: AssetId,
    pub status: JobStatus,
    pub progress: i16,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub name: String,
    pub state: StepState,
    pub progress_pct: i16,
    pub message: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

const SELECT_JOB: &str = "\
    SELECT id, asset_id, status, progress, error_code, error_message
      FROM transcode_jobs WHERE id = $1";

const SELECT_ARTISTS_JOB: &str = "\
    SELECT j.id, j.asset_id, j.status, j.progress, j.error_code, j.error_message
      FROM transcode_jobs j JOIN assets a ON a.id = j.asset_id
     WHERE j.id = $1 AND a.artist_id = $2";

const SELECT_STEPS: &str = "\
    SELECT name, state, progress_pct, message FROM job_steps WHERE job_id = $1 ORDER BY position";

async fn job_from_row(db: &impl GenericClient, row: &tokio_postgres::Row) -> Result<Job, DbError> {
    let id: JobId = row.get("id");
    let statement = db.prepare_cached(SELECT_STEPS).await?;
    let steps = db
        .query(&statement, &[&id])
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
        id,
        asset_id: row.get("asset_id"),
        status: row.get("status"),
        progress: row.get("progress"),
        steps,
        error,
    })
}

/// A job by id (`None` when there is none).
pub async fn read(db: &impl GenericClient, id: JobId) -> Result<Option<Job>, DbError> {
    let statement = db.prepare_cached(SELECT_JOB).await?;
    match db.query_opt(&statement, &[&id]).await? {
        Some(row) => Ok(Some(job_from_row(db, &row).await?)),
        None => Ok(None),
    }
}

/// One of the artist's jobs (`None` for another artist's, or none).
pub async fn read_for_artist(
    db: &impl GenericClient,
    artist: ArtistId,
    id: JobId,
) -> Result<Option<Job>, DbError> {
    let statement = db.prepare_cached(SELECT_ARTISTS_JOB).await?;
    match db.query_opt(&statement, &[&id, &artist]).await? {
        Some(row) => Ok(Some(job_from_row(db, &row).await?)),
        None => Ok(None),
    }
}
