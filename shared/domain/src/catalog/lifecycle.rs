//! The release lifecycle draft → submitted → scheduled | published: the row locks every change
//! takes, the readiness check behind submit, publishing now or later, and withdrawing a
//! scheduled release (back to submitted; its pre-orders are released by the maintenance
//! schedule, money::settle_preorder).

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;

use super::error::{Problem, StudioError};
use super::locks::{lock_draft, lock_release};
use super::releases::{Release, get_release};
use super::types::ReleaseStatus;
use crate::db::Tx;
use crate::ids::{ArtistId, ReleaseId};

/// How far ahead a release may be scheduled.
pub const MAX_SCHEDULE_DAYS: i64 = 730;

const READINESS: &str = "\
    SELECT 'cover_missing' AS code, NULL::uuid AS track_id
      FROM releases r WHERE r.id = $1 AND r.cover_asset_id IS NULL
    UNION ALL
    SELECT 'cover_not_processed', NULL
      FROM releases r JOIN assets a ON a.id = r.cover_asset_id
      LEFT JOIN transcode_jobs j ON j.asset_id = a.id
     WHERE r.id = $1 AND j.status IS DISTINCT FROM 'ready'
    UNION ALL
    SELECT 'no_tracks', NULL WHERE NOT EXISTS (SELECT 1 FROM tracks WHERE release_id = $1)
    UNION ALL
    SELECT CASE WHEN t.master_asset_id IS NULL THEN 'track_master_missing'
                ELSE 'track_master_not_ready' END, t.id
      FROM tracks t
      LEFT JOIN transcode_jobs j ON j.asset_id = t.master_asset_id
     WHERE t.release_id = $1 AND j.status IS DISTINCT FROM 'ready'";

const SUBMIT: &str = "UPDATE releases SET status = 'submitted', submitted_at = now() WHERE id = $1";

const SCHEDULE: &str = "\
    UPDATE releases SET status = 'scheduled', publish_at = $2, published_at = NULL WHERE id = $1";

const WITHDRAW: &str = "\
    UPDATE releases SET status = 'submitted', publish_at = NULL, published_at = NULL WHERE id = $1";

const PUBLISH_NOW: &str = "\
    UPDATE releases SET status = 'published', publish_at = now(), published_at = now()
     WHERE id = $1";

fn problem_code(code: &str) -> &'static str {
    match code {
        "cover_missing" => "cover_missing",
        "cover_not_processed" => "cover_not_processed",
        "no_tracks" => "no_tracks",
        "track_master_missing" => "track_master_missing",
        _ => "track_master_not_ready",
    }
}

async fn readiness(db: &impl GenericClient, id: ReleaseId) -> Result<Vec<Problem>, StudioError> {
    let statement = db.prepare_cached(READINESS).await?;
    let mut problems: Vec<Problem> = db
        .query(&statement, &[&id])
        .await?
        .iter()
        .map(|r| Problem {
            code: problem_code(r.get("code")),
            track_id: r.get("track_id"),
        })
        .collect();
    problems.sort_by_key(|p| (p.code, p.track_id));
    Ok(problems)
}

/// Check readiness and submit: every problem is reported at once.
#[tracing::instrument(skip_all)]
pub async fn submit_release(
    tx: &Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
) -> Result<Release, StudioError> {
    lock_draft(
        tx,
        artist,
        id,
        StudioError::Conflict {
            code: "already_submitted",
            message: "The release has already been submitted.",
        },
    )
    .await?;
    let problems = readiness(tx, id).await?;
    if !problems.is_empty() {
        return Err(StudioError::NotReady(problems));
    }
    let statement = tx.prepare_cached(SUBMIT).await?;
    tx.execute(&statement, &[&id]).await?;
    get_release(tx, artist, id).await
}

/// Publish now, or schedule for `publish_at`; a scheduled release may be rescheduled.
#[tracing::instrument(skip_all)]
pub async fn publish_release(
    tx: &Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
    publish_at: Option<OffsetDateTime>,
) -> Result<Release, StudioError> {
    let now = OffsetDateTime::now_utc();
    if publish_at.is_some_and(|at| at > now + time::Duration::days(MAX_SCHEDULE_DAYS)) {
        return Err(StudioError::field("publish_at", "must be within two years"));
    }
    let row = lock_release(tx, artist, id).await?;
    match row.get::<_, ReleaseStatus>("effective") {
        ReleaseStatus::Draft => {
            return Err(StudioError::Conflict {
                code: "not_submitted",
                message: "Submit the release before publishing it.",
            });
        }
        ReleaseStatus::Published => {
            return Err(StudioError::Conflict {
                code: "already_published",
                message: "The release is already published.",
            });
        }
        ReleaseStatus::Submitted | ReleaseStatus::Scheduled => {}
    }
    match publish_at.filter(|at| *at > now) {
        Some(at) => {
            let statement = tx.prepare_cached(SCHEDULE).await?;
            tx.execute(&statement, &[&id, &at]).await?
        }
        None => {
            let statement = tx.prepare_cached(PUBLISH_NOW).await?;
            tx.execute(&statement, &[&id]).await?
        }
    };
    get_release(tx, artist, id).await
}

/// Take a scheduled release back before it is published: it is `submitted` again (publish
/// schedules it anew), and whoever pre-ordered it gets their held credits back.
#[tracing::instrument(skip_all)]
pub async fn withdraw_release(
    tx: &Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
) -> Result<Release, StudioError> {
    let row = lock_release(tx, artist, id).await?;
    if row.get::<_, ReleaseStatus>("effective") != ReleaseStatus::Scheduled {
        return Err(StudioError::Conflict {
            code: "not_scheduled",
            message: "Only a scheduled release can be withdrawn.",
        });
    }
    let statement = tx.prepare_cached(WITHDRAW).await?;
    tx.execute(&statement, &[&id]).await?;
    get_release(tx, artist, id).await
}
