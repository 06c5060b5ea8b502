//! The transcode worker: turns a job message (or a raw S3 ObjectCreated notification) into
//! renditions, analysis and cover sizes, recording every step so the studio shows live
//! progress. The job's states live in `hound_domain::jobs`; the media work in `hound_media`;
//! this crate runs one over the other (`pipeline`).
//!
//! Delivery is at least once, so the worker is idempotent and crash-safe: a job is claimed with
//! a lease, a `ready` or `failed` job is a no-op, a superseded one is dropped, and renditions
//! only become visible to listeners when the final transaction marks them complete.
//!
//! A refused file (`not_audio`, `too_long`, …) fails the job for good and the message is done;
//! anything else (S3, the database, a crashed ffmpeg) is a [`Retry`]: the message goes back to
//! the queue, and after three receives to the dead-letter queue.

mod pipeline;
mod retry;

use std::time::Duration;

use hound_domain::aws::{Mailer, Storage};
use hound_domain::db::{self, Pool};
use hound_domain::ids::JobId;
use hound_domain::jobs::{self, Claim, StepName, Unclaimed, Work};
use hound_domain::{notify, uploads};
use uuid::Uuid;

pub use retry::Retry;

use crate::pipeline::Pipeline;
use crate::retry::Failure;

/// The error code of a job whose upload was replaced after `complete`.
pub const UPLOAD_CHANGED: &str = "upload_changed";

/// How long a claim lasts without a progress write. Progress is written at least every few
/// seconds while a job runs, so only a dead worker's lease runs out.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// What became of a message that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job ran to `ready`.
    Ready(JobId),
    /// The job was already `ready` or `failed`: a duplicate delivery.
    AlreadyDone(JobId),
    /// The file was refused; the job is `failed` with this code.
    Refused(JobId, &'static str),
    /// Another live worker holds the job; its own message finishes it (or, if it dies, comes
    /// back after the lease expires).
    HeldElsewhere(JobId),
    /// The asset was replaced by a newer upload; its job no longer matters.
    Superseded(JobId),
    /// Nothing to do (an S3 test event, an object that is no asset's upload).
    Ignored(String),
}

/// One worker process: its database pool, buckets and identity.
#[derive(Clone)]
pub struct Worker {
    pool: Pool,
    storage: Storage,
    owner: String,
    lease: Duration,
    scratch: std::path::PathBuf,
    mailer: Option<Mailer>,
}

/// Notifications a worker sends after a job, at most.
const NOTIFY_BATCH: i64 = 20;

/// A job's scratch directory older than this was left by an attempt that was killed (a Lambda
/// invocation lasts 15 minutes at most): nothing is still writing there.
pub const STALE_SCRATCH: Duration = Duration::from_secs(15 * 60);

/// Remove job scratch directories (`hound-job-*`) in `dir` last changed more than `older_than`
/// ago — what a killed attempt leaves behind, since its clean-up never ran. Returns how many.
pub fn clean_scratch(dir: &std::path::Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(pipeline::SCRATCH_PREFIX)
        })
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|at| at.elapsed().ok())
                .is_some_and(|age| age > older_than)
        })
        .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
        .count()
}

impl Worker {
    /// A worker over `pool` and `storage`; scratch space left by killed attempts is removed.
    pub fn new(pool: Pool, storage: Storage) -> Self {
        let scratch = std::env::temp_dir();
        let removed = clean_scratch(&scratch, STALE_SCRATCH);
        if removed > 0 {
            tracing::warn!(removed, "removed scratch space of killed attempts");
        }
        Self {
            pool,
            storage,
            owner: format!("worker-{}", Uuid::new_v4()),
            lease: DEFAULT_LEASE,
            scratch,
            mailer: None,
        }
    }

    /// Mail the artist when a job ends (after its commit; without a mailer the maintenance
    /// schedule sends what is pending).
    pub fn with_mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// A shorter lease (tests of takeover).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Another scratch directory (a test's own, to see that nothing is left behind).
    pub fn with_scratch(mut self, scratch: std::path::PathBuf) -> Self {
        self.scratch = scratch;
        self
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long a claim lasts without a progress write.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Handle one queue message body.
    #[tracing::instrument(skip_all, fields(owner = %self.owner))]
    pub async fn handle(&self, body: &str) -> Result<Vec<Outcome>, Retry> {
        let works = jobs::parse_message(body).map_err(Retry)?;
        let mut outcomes = Vec::with_capacity(works.len());
        for work in works {
            outcomes.push(match work {
                Work::Job(id) => self.run(id).await?,
                Work::Object { bucket, key } => match self.complete(&bucket, &key).await? {
                    Some(job_id) => self.run(job_id).await?,
                    None => Outcome::Ignored(format!("s3://{bucket}/{key} is no upload")),
                },
                Work::Nothing(why) => Outcome::Ignored(why),
            });
        }
        Ok(outcomes)
    }

    /// Complete the upload an S3 notification announces, as the artist's `complete` would.
    async fn complete(&self, bucket: &str, key: &str) -> Result<Option<JobId>, Retry> {
        let mut client = db::connect(&self.pool).await?;
        let tx = db::begin(&mut client).await?;
        let job = uploads::complete_from_storage(&tx, &self.storage, bucket, key)
            .await
            .map_err(|e| Retry(format!("completing s3://{bucket}/{key}: {e}")))?;
        tx.commit().await?;
        Ok(job)
    }

    /// Run one job to the end, unless it is done, held or superseded.
    pub async fn run(&self, job_id: JobId) -> Result<Outcome, Retry> {
        let claim = {
            let mut client = db::connect(&self.pool).await?;
            let tx = db::begin(&mut client).await?;
            let claimed = jobs::claim(&tx, job_id, &self.owner, self.lease).await?;
            tx.commit().await?;
            match claimed {
                Ok(claim) => claim,
                Err(Unclaimed::Missing) => {
                    return Ok(Outcome::Ignored(format!("job {job_id} does not exist")));
                }
                Err(Unclaimed::Done) => return Ok(Outcome::AlreadyDone(job_id)),
                Err(Unclaimed::Superseded) => return Ok(Outcome::Superseded(job_id)),
                Err(Unclaimed::Held) => return Ok(Outcome::HeldElsewhere(job_id)),
            }
        };
        tracing::info!(%job_id, kind = ?claim.kind, "job claimed");
        // Boxed: the media pipeline is a deep future, kept off the caller's stack frame.
        let pipeline = Pipeline {
            pool: &self.pool,
            storage: &self.storage,
            owner: &self.owner,
            lease: self.lease,
            scratch: &self.scratch,
        };
        let result = Box::pin(pipeline.process(&claim)).await;
        let outcome = match result {
            Ok(()) => Ok(Outcome::Ready(job_id)),
            Err(Failure::Refused(refusal, step)) => {
                tracing::info!(%job_id, code = refusal.code(), "file refused");
                self.fail(&claim, refusal.code(), &refusal.to_string(), step)
                    .await?;
                Ok(Outcome::Refused(job_id, refusal.code()))
            }
            Err(Failure::LeaseLost) => Ok(Outcome::HeldElsewhere(job_id)),
            Err(Failure::Changed) => {
                tracing::warn!(%job_id, "the uploaded object changed after complete");
                let message = "The uploaded file changed after it was completed; upload it again.";
                self.fail(&claim, UPLOAD_CHANGED, message, StepName::Probe)
                    .await?;
                Ok(Outcome::Refused(job_id, UPLOAD_CHANGED))
            }
            Err(Failure::Retry(err)) => {
                tracing::warn!(%job_id, error = %err, "job will be retried");
                self.release(job_id, &err.0).await;
                Err(err)
            }
        };
        if matches!(outcome, Ok(Outcome::Ready(_) | Outcome::Refused(..))) {
            self.notify().await;
        }
        outcome
    }

    /// Send the notifications the job's end queued, after its commit. Never fails the job:
    /// what cannot be sent now stays pending for the maintenance schedule.
    async fn notify(&self) {
        let Some(mailer) = &self.mailer else {
            return;
        };
        let result = async {
            let mut client = db::connect(&self.pool).await?;
            let tx = db::begin(&mut client).await?;
            let run = notify::send_due(&tx, mailer, NOTIFY_BATCH).await?;
            tx.commit().await?;
            Ok::<_, hound_domain::db::DbError>(run)
        }
        .await;
        match result {
            Ok(run) if run.failed > 0 => {
                tracing::warn!(?run, "some notifications wait for a retry")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notifications wait for the schedule"),
        }
    }

    /// A refused file: the job, its asset and its variants fail (if we still hold it).
    async fn fail(
        &self,
        job: &Claim,
        code: &str,
        message: &str,
        step: StepName,
    ) -> Result<(), Retry> {
        let mut client = db::connect(&self.pool).await?;
        let tx = db::begin(&mut client).await?;
        if jobs::hold(&tx, job.job_id, &self.owner).await? {
            jobs::fail(&tx, job.job_id, code, message, Some(step)).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Give the job up after a transient error, so the next delivery takes it at once.
    async fn release(&self, job_id: JobId, error: &str) {
        let result = async {
            let client = db::connect(&self.pool).await?;
            jobs::release(&client, job_id, &self.owner, error).await
        }
        .await;
        if let Err(e) = result {
            // The lease then simply runs out.
            tracing::warn!(%job_id, error = %e, "could not release the job");
        }
    }
}
