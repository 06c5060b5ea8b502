//! The transcode worker: turns a job message (or a raw S3 ObjectCreated notification) into
//! renditions, analysis and cover sizes, recording every step so the studio shows live progress.
//!
//! Delivery is at least once, so the worker is idempotent and crash-safe:
//! - a job is *claimed* with a lease in Postgres (`lease_owner`, `lease_expires_at`); only one
//!   worker holds it, every progress write renews it, and a worker that died loses it when it
//!   expires, after which a redelivered message takes the job over from the start;
//! - a `ready` or `failed` job is a no-op; a superseded one (the artist uploaded again) is dropped;
//! - renditions go to per-asset keys in the streams bucket and only become visible to listeners
//!   when the final transaction marks them `complete`, together with the job and the track.
//!
//! A refused file (`not_audio`, `too_long`, …) fails the job for good and the message is done;
//! anything else (S3, the database, a crashed ffmpeg) is a [`Retry`]: the message goes back to
//! the queue, and after three receives to the dead-letter queue ([`dead_letter`]).

pub mod dead_letter;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use serde::Deserialize;
use uuid::Uuid;

use crate::db::DbError;
use crate::media::encode::{self, Analysis, Encoded, Progress};
use crate::media::{MediaError, Refusal, probe};
use crate::storage::{Storage, Unavailable};
use crate::uploads::{self, AssetKind};

/// How long a claim lasts without a progress write. Progress is written at least every few
/// seconds while a job runs, so only a dead worker's lease runs out.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// A message the worker cannot finish now: it should be delivered again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Retry(pub String);

impl From<DbError> for Retry {
    fn from(e: DbError) -> Self {
        Retry(format!("database: {e}"))
    }
}

impl From<tokio_postgres::Error> for Retry {
    fn from(e: tokio_postgres::Error) -> Self {
        Retry(format!("database: {}", DbError::from(e)))
    }
}

impl From<deadpool_postgres::PoolError> for Retry {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Retry(format!("database: {}", DbError::from(e)))
    }
}

impl From<Unavailable> for Retry {
    fn from(e: Unavailable) -> Self {
        Retry(e.to_string())
    }
}

/// What became of a message that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job ran to `ready`.
    Ready(Uuid),
    /// The job was already `ready` or `failed`: a duplicate delivery.
    AlreadyDone(Uuid),
    /// The file was refused; the job is `failed` with this code.
    Refused(Uuid, &'static str),
    /// Another live worker holds the job; its own message finishes it (or, if it dies, comes
    /// back after the lease expires).
    HeldElsewhere(Uuid),
    /// The asset was replaced by a newer upload; its job no longer matters.
    Superseded(Uuid),
    /// Nothing to do (an S3 test event, an object that is no asset's upload).
    Ignored(String),
}

/// The studio's job message (`uploads::complete`).
#[derive(Debug, Deserialize)]
struct JobMessage {
    job_id: Uuid,
}

#[derive(Debug, Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
}

/// What a queue message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Job(Uuid),
    Object { bucket: String, key: String },
    Nothing(String),
}

/// Read a message body: a studio job message, an S3 event notification (keys arrive
/// URL-encoded, `+` for space) or S3's test event. Anything else is poison: `Err`.
pub fn parse_message(body: &str) -> Result<Vec<Work>, String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("the message is not JSON: {e}"))?;
    if value.get("job_id").is_some() {
        let job: JobMessage = serde_json::from_value(value)
            .map_err(|e| format!("the job message is malformed: {e}"))?;
        return Ok(vec![Work::Job(job.job_id)]);
    }
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(vec![Work::Nothing("an S3 test event".into())]);
    }
    if value.get("Records").is_some() {
        let notification: S3Notification = serde_json::from_value(value)
            .map_err(|e| format!("the S3 notification is malformed: {e}"))?;
        return Ok(notification
            .records
            .into_iter()
            .map(|r| {
                if r.event_name.starts_with("ObjectCreated:") {
                    let key = url::form_urlencoded::parse(r.s3.object.key.as_bytes())
                        .map(|(k, v)| {
                            if v.is_empty() {
                                k
                            } else {
                                format!("{k}={v}").into()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("&");
                    Work::Object {
                        bucket: r.s3.bucket.name,
                        key,
                    }
                } else {
                    Work::Nothing(format!("an S3 {} event", r.event_name))
                }
            })
            .collect());
    }
    Err("the message is neither a job message nor an S3 notification".into())
}

/// One worker process: its database pool, buckets and identity.
#[derive(Clone)]
pub struct Worker {
    pool: Pool,
    storage: Storage,
    owner: String,
    lease: Duration,
    scratch: std::path::PathBuf,
}

/// The job as claimed: what to fetch and where the results go.
struct Claimed {
    job_id: Uuid,
    asset_id: Uuid,
    kind: AssetKind,
    bucket: String,
    key: String,
}

impl Worker {
    pub fn new(pool: Pool, storage: Storage) -> Self {
        Self {
            pool,
            storage,
            owner: format!("worker-{}", Uuid::new_v4()),
            lease: DEFAULT_LEASE,
            scratch: std::env::temp_dir(),
        }
    }

    /// A shorter lease (tests of takeover) or another scratch directory.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
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
        let works = parse_message(body).map_err(Retry)?;
        let mut outcomes = Vec::with_capacity(works.len());
        for work in works {
            outcomes.push(match work {
                Work::Job(id) => self.run(id).await?,
                Work::Object { bucket, key } => {
                    match uploads::complete_from_storage(&self.pool, &self.storage, &bucket, &key)
                        .await
                    {
                        Ok(Some(job_id)) => self.run(job_id).await?,
                        Ok(None) => Outcome::Ignored(format!("s3://{bucket}/{key} is no upload")),
                        Err(e) => {
                            return Err(Retry(format!("completing s3://{bucket}/{key}: {e}")));
                        }
                    }
                }
                Work::Nothing(why) => Outcome::Ignored(why),
            });
        }
        Ok(outcomes)
    }

    /// Run one job to the end, unless it is done, held or superseded.
    pub async fn run(&self, job_id: Uuid) -> Result<Outcome, Retry> {
        let claimed = match self.claim(job_id).await? {
            Ok(claimed) => claimed,
            Err(outcome) => return Ok(outcome),
        };
        tracing::info!(%job_id, kind = ?claimed.kind, "job claimed");
        // Boxed: the media pipeline is a deep future, kept off the caller's stack frame.
        let result = Box::pin(self.process(&claimed)).await;
        match result {
            Ok(()) => Ok(Outcome::Ready(job_id)),
            Err(Failure::Refused(refusal, step)) => {
                tracing::info!(%job_id, code = refusal.code(), "file refused");
                self.fail(&claimed, &refusal, step).await?;
                Ok(Outcome::Refused(job_id, refusal.code()))
            }
            Err(Failure::LeaseLost) => Ok(Outcome::HeldElsewhere(job_id)),
            Err(Failure::Retry(err)) => {
                tracing::warn!(%job_id, error = %err, "job will be retried");
                self.release(job_id, &err.0).await;
                Err(err)
            }
        }
    }

    /// Take the job if nobody live holds it. The steps start over: a takeover redoes the work
    /// (outputs go to the same keys) rather than trusting a dead worker's half.
    async fn claim(&self, job_id: Uuid) -> Result<Result<Claimed, Outcome>, Retry> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT j.status::text AS status, j.superseded_at IS NOT NULL AS superseded,
                        j.lease_owner IS NOT NULL AND j.lease_owner <> $2
                            AND j.lease_expires_at > now() AS held,
                        a.id AS asset_id, a.kind, a.bucket, a.key
                 FROM transcode_jobs j JOIN assets a ON a.id = j.asset_id
                 WHERE j.id = $1 FOR UPDATE OF j",
                &[&job_id, &self.owner],
            )
            .await?
        else {
            return Ok(Err(Outcome::Ignored(format!(
                "job {job_id} does not exist"
            ))));
        };
        let status: String = row.get("status");
        if status == "ready" || status == "failed" {
            return Ok(Err(Outcome::AlreadyDone(job_id)));
        }
        if row.get::<_, bool>("superseded") {
            return Ok(Err(Outcome::Superseded(job_id)));
        }
        if row.get::<_, bool>("held") {
            return Ok(Err(Outcome::HeldElsewhere(job_id)));
        }
        let lease = self.lease.as_secs_f64();
        tx.execute(
            "UPDATE transcode_jobs
             SET status = 'probing', progress = 0, attempts = attempts + 1, lease_owner = $2,
                 lease_expires_at = now() + make_interval(secs => $3)
             WHERE id = $1",
            &[&job_id, &self.owner, &lease],
        )
        .await?;
        tx.execute(
            "UPDATE job_steps SET state = 'pending', progress_pct = 0, message = NULL,
                    started_at = NULL, finished_at = NULL
             WHERE job_id = $1",
            &[&job_id],
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(Claimed {
            job_id,
            asset_id: row.get("asset_id"),
            kind: row.get("kind"),
            bucket: row.get("bucket"),
            key: row.get("key"),
        }))
    }

    /// Record progress and renew the lease; a lost lease stops the job.
    async fn step(
        &self,
        job: &Claimed,
        status: &str,
        progress: i16,
        steps: &[(&str, &str, i16)],
    ) -> Result<(), Failure> {
        let client = self.pool.get().await.map_err(Retry::from)?;
        let lease = self.lease.as_secs_f64();
        let names: Vec<&str> = steps.iter().map(|s| s.0).collect();
        let states: Vec<&str> = steps.iter().map(|s| s.1).collect();
        let pcts: Vec<i16> = steps.iter().map(|s| s.2).collect();
        // One statement: the job row (only while we hold it) and its steps.
        let row = client
            .query_one(
                "WITH job AS (
                     UPDATE transcode_jobs
                     SET status = $3::text::job_status, progress = GREATEST(progress, $4),
                         lease_expires_at = now() + make_interval(secs => $5)
                     WHERE id = $1 AND lease_owner = $2
                     RETURNING id),
                 steps AS (
                     UPDATE job_steps s
                     SET state = u.state::step_state, progress_pct = u.pct,
                         started_at = COALESCE(s.started_at, now()),
                         finished_at = CASE WHEN u.state = 'done' THEN now() END
                     FROM unnest($6::text[], $7::text[], $8::smallint[]) AS u(name, state, pct)
                     WHERE s.job_id = (SELECT id FROM job) AND s.name = u.name
                     RETURNING 1)
                 SELECT (SELECT count(*) FROM job) AS held, (SELECT count(*) FROM steps)",
                &[
                    &job.job_id,
                    &self.owner,
                    &status,
                    &progress,
                    &lease,
                    &names,
                    &states,
                    &pcts,
                ],
            )
            .await
            .map_err(Retry::from)?;
        if row.get::<_, i64>("held") == 0 {
            return Err(Failure::LeaseLost);
        }
        Ok(())
    }

    async fn process(&self, job: &Claimed) -> Result<(), Failure> {
        let dir = tempfile::Builder::new()
            .prefix("hound-job-")
            .tempdir_in(&self.scratch)
            .map_err(|e| Retry(format!("scratch directory: {e}")))?;
        let input = dir.path().join("input");
        self.step(job, "probing", 1, &[("probe", "running", 0)])
            .await?;
        self.storage
            .download(&job.bucket, &job.key, &input)
            .await
            .map_err(Retry::from)?;
        match job.kind {
            AssetKind::Master => self.master(job, &input, dir.path()).await,
            AssetKind::Cover => self.cover(job, &input, dir.path()).await,
        }
    }

    async fn master(&self, job: &Claimed, input: &Path, dir: &Path) -> Result<(), Failure> {
        let audio = probe::audio(input)
            .await
            .map_err(|e| Failure::media(e, "probe"))?;
        self.step(
            job,
            "transcoding",
            10,
            &[
                ("probe", "done", 100),
                ("transcode", "running", 0),
                ("analyse", "running", 0),
            ],
        )
        .await?;
        self.variants(
            job,
            encode::RENDITIONS
                .iter()
                .map(|r| (r.name, Some(r.codec), Some(r.bitrate_kbps), None, r.mime))
                .chain([("waveform", None, None, None, "application/json")]),
        )
        .await?;
        let progress = Arc::new(Progress::default());
        let work = encode::transcode(input, dir, &audio, progress.clone());
        tokio::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.tick().await;
        let (encoded, analysis) = loop {
            tokio::select! {
                result = &mut work => break result.map_err(|e| Failure::media(e, "transcode"))?,
                _ = tick.tick() => {
                    let pct = (progress.fraction(audio.duration_s) * 100.0) as i16;
                    self.step(job, "transcoding", 10 + pct * 3 / 4, &[
                        ("transcode", "running", pct.min(99)),
                        ("analyse", "running", pct.min(99)),
                    ]).await?;
                }
            }
        };
        self.step(
            job,
            "uploading",
            85,
            &[
                ("transcode", "done", 100),
                ("analyse", "done", 100),
                ("upload", "running", 0),
            ],
        )
        .await?;
        let mut uploaded = Vec::new();
        for file in &encoded {
            let key = self.rendition_key(job, file.rendition.name, file.rendition.extension);
            self.storage
                .upload_file(
                    &self.storage.streams_bucket,
                    &key,
                    &file.path,
                    file.rendition.mime,
                )
                .await
                .map_err(Retry::from)?;
            uploaded.push((file.rendition.name, key, file.size_bytes as i64));
        }
        let waveform = serde_json::to_vec(&analysis.waveform).expect("a waveform serialises");
        let key = self.rendition_key(job, "waveform", "json");
        let size = waveform.len() as i64;
        self.storage
            .upload_bytes(
                &self.storage.streams_bucket,
                &key,
                waveform,
                "application/json",
            )
            .await
            .map_err(Retry::from)?;
        uploaded.push(("waveform", key, size));
        self.finish_master(job, &audio, &encoded, &analysis, &uploaded)
            .await
    }

    async fn cover(&self, job: &Claimed, input: &Path, dir: &Path) -> Result<(), Failure> {
        probe::image(input)
            .await
            .map_err(|e| Failure::media(e, "probe"))?;
        self.step(
            job,
            "transcoding",
            30,
            &[("probe", "done", 100), ("resize", "running", 0)],
        )
        .await?;
        let sizes = encode::cover_sizes(input, dir)
            .await
            .map_err(|e| Failure::media(e, "resize"))?;
        self.variants(
            job,
            sizes
                .iter()
                .map(|s| (s.name.as_str(), None, None, Some(s.width_px), s.mime)),
        )
        .await?;
        self.step(
            job,
            "uploading",
            70,
            &[("resize", "done", 100), ("upload", "running", 0)],
        )
        .await?;
        let mut uploaded = Vec::new();
        for size in &sizes {
            let key = self.rendition_key(job, &size.name, size.extension);
            self.storage
                .upload_file(&self.storage.streams_bucket, &key, &size.path, size.mime)
                .await
                .map_err(Retry::from)?;
            uploaded.push((size.name.as_str(), key, size.size_bytes as i64));
        }
        let mut client = self.pool.get().await.map_err(Retry::from)?;
        let tx = client.transaction().await.map_err(Retry::from)?;
        self.lock_held(&tx, job).await?;
        complete_variants(&tx, job, &self.storage.streams_bucket, &uploaded).await?;
        finish_job(&tx, job).await?;
        tx.commit().await.map_err(Retry::from)?;
        Ok(())
    }

    /// Streams-bucket key of one output: per asset, so a retried job overwrites its own files
    /// and nothing else, and nothing is reachable before its variant row is `complete`.
    fn rendition_key(&self, job: &Claimed, name: &str, extension: &str) -> String {
        format!("renditions/{}/{name}.{extension}", job.asset_id)
    }

    /// The variant rows this job makes, `generating` until the final transaction.
    async fn variants<'a>(
        &self,
        job: &Claimed,
        rows: impl Iterator<Item = (&'a str, Option<&'a str>, Option<i32>, Option<i32>, &'a str)>,
    ) -> Result<(), Failure> {
        let (mut names, mut codecs, mut bitrates, mut widths, mut mimes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (name, codec, bitrate, width, mime) in rows {
            names.push(name);
            codecs.push(codec);
            bitrates.push(bitrate);
            widths.push(width);
            mimes.push(mime);
        }
        let client = self.pool.get().await.map_err(Retry::from)?;
        client
            .execute(
                "INSERT INTO variants (id, job_id, asset_id, name, codec, bitrate_kbps, width_px,
                                       mime, status)
                 SELECT gen_random_uuid(), $1, $2, v.name, v.codec, v.bitrate, v.width,
                        v.mime, 'generating'
                 FROM unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::text[])
                      AS v(name, codec, bitrate, width, mime)
                 ON CONFLICT (job_id, name) DO UPDATE
                 SET status = 'generating', size_bytes = NULL, bucket = NULL, key = NULL",
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
            .await
            .map_err(Retry::from)?;
        Ok(())
    }

    async fn lock_held(&self, tx: &impl GenericClient, job: &Claimed) -> Result<(), Failure> {
        let held = tx
            .query_opt(
                "SELECT 1 FROM transcode_jobs WHERE id = $1 AND lease_owner = $2 FOR UPDATE",
                &[&job.job_id, &self.owner],
            )
            .await
            .map_err(Retry::from)?;
        held.map(|_| ()).ok_or(Failure::LeaseLost)
    }

    /// One transaction: renditions complete, the track's analysis (if this is still its
    /// master), the asset and the job ready.
    async fn finish_master(
        &self,
        job: &Claimed,
        audio: &probe::AudioInfo,
        encoded: &[Encoded],
        analysis: &Analysis,
        uploaded: &[(&str, String, i64)],
    ) -> Result<(), Failure> {
        debug_assert_eq!(encoded.len() + 1, uploaded.len());
        let mut client = self.pool.get().await.map_err(Retry::from)?;
        let tx = client.transaction().await.map_err(Retry::from)?;
        self.lock_held(&tx, job).await?;
        complete_variants(&tx, job, &self.storage.streams_bucket, uploaded).await?;
        let loudness = &analysis.loudness;
        let embedding: Vec<f32> = analysis.embedding.to_array().to_vec();
        let duration_ms = (audio.duration_s * 1000.0).round().max(1.0) as i32;
        tx.execute(
            "UPDATE tracks
             SET duration_ms = $2, sample_rate_hz = $3, channels = $4, integrated_lufs = $5,
                 loudness_range_lu = $6, true_peak_dbtp = $7, gain_db = $8, embedding = $9,
                 analysed_at = now()
             WHERE master_asset_id = $1 AND id = (SELECT track_id FROM assets WHERE id = $1)",
            &[
                &job.asset_id,
                &duration_ms,
                &(audio.sample_rate as i32),
                &(audio.channels as i16),
                &(loudness.integrated_lufs as f32),
                &(loudness.loudness_range_lu.max(0.0) as f32),
                &(finite_or(loudness.true_peak_dbtp, -99.0) as f32),
                &(loudness.gain_db() as f32),
                &embedding,
            ],
        )
        .await
        .map_err(Retry::from)?;
        finish_job(&tx, job).await?;
        tx.commit().await.map_err(Retry::from)?;
        Ok(())
    }

    /// A refused file: the job, its asset and its variants fail; the failing step says why.
    async fn fail(&self, job: &Claimed, refusal: &Refusal, step: &str) -> Result<(), Retry> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let held = tx
            .query_opt(
                "SELECT 1 FROM transcode_jobs WHERE id = $1 AND lease_owner = $2 FOR UPDATE",
                &[&job.job_id, &self.owner],
            )
            .await?;
        if held.is_none() {
            return Ok(());
        }
        mark_failed(
            &tx,
            job.job_id,
            refusal.code(),
            &refusal.to_string(),
            Some(step),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Give the job up after a transient error: keep the error for the dead-letter record and
    /// let the next delivery take it at once.
    async fn release(&self, job_id: Uuid, error: &str) {
        let result = async {
            let client = self.pool.get().await?;
            client
                .execute(
                    "UPDATE transcode_jobs SET lease_owner = NULL, lease_expires_at = NULL,
                            last_error = $3
                     WHERE id = $1 AND lease_owner = $2",
                    &[&job_id, &self.owner, &error],
                )
                .await?;
            Ok::<_, Retry>(())
        }
        .await;
        if let Err(e) = result {
            // The lease then simply runs out.
            tracing::warn!(%job_id, error = %e, "could not release the job");
        }
    }
}

fn finite_or(value: f64, fallback: f64) -> f64 {
    if value.is_finite() { value } else { fallback }
}

async fn complete_variants(
    tx: &impl GenericClient,
    job: &Claimed,
    bucket: &str,
    uploaded: &[(&str, String, i64)],
) -> Result<(), Failure> {
    let names: Vec<&str> = uploaded.iter().map(|u| u.0).collect();
    let keys: Vec<&str> = uploaded.iter().map(|u| u.1.as_str()).collect();
    let sizes: Vec<i64> = uploaded.iter().map(|u| u.2).collect();
    tx.execute(
        "UPDATE variants v SET status = 'complete', bucket = $2, key = u.key, size_bytes = u.size
         FROM unnest($3::text[], $4::text[], $5::bigint[]) AS u(name, key, size)
         WHERE v.job_id = $1 AND v.name = u.name",
        &[&job.job_id, &bucket, &names, &keys, &sizes],
    )
    .await
    .map_err(Retry::from)?;
    Ok(())
}

async fn finish_job(tx: &impl GenericClient, job: &Claimed) -> Result<(), Failure> {
    tx.execute(
        "UPDATE assets SET state = 'ready' WHERE id = $1 AND state <> 'superseded'",
        &[&job.asset_id],
    )
    .await
    .map_err(Retry::from)?;
    tx.execute(
        "UPDATE job_steps SET state = 'done', progress_pct = 100,
                started_at = COALESCE(started_at, now()), finished_at = now()
         WHERE job_id = $1",
        &[&job.job_id],
    )
    .await
    .map_err(Retry::from)?;
    tx.execute(
        "UPDATE transcode_jobs SET status = 'ready', progress = 100, finished_at = now(),
                lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
         WHERE id = $1",
        &[&job.job_id],
    )
    .await
    .map_err(Retry::from)?;
    Ok(())
}

/// Fail a job for good: status, error, the failing step (others skipped), asset and variants.
pub(crate) async fn mark_failed(
    tx: &impl GenericClient,
    job_id: Uuid,
    code: &str,
    message: &str,
    step: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE transcode_jobs SET status = 'failed', error_code = $2, error_message = $3,
                finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1",
        &[&job_id, &code, &message],
    )
    .await?;
    tx.execute(
        "UPDATE job_steps SET
             state = CASE WHEN name = $2 OR ($2 IS NULL AND state = 'running') THEN 'failed'
                          WHEN state = 'done' THEN 'done' ELSE 'skipped' END::step_state,
             message = CASE WHEN name = $2 OR ($2 IS NULL AND state = 'running') THEN $3 END,
             finished_at = now()
         WHERE job_id = $1",
        &[&job_id, &step, &message],
    )
    .await?;
    tx.execute(
        "UPDATE assets SET state = 'failed'
         WHERE id = (SELECT asset_id FROM transcode_jobs WHERE id = $1) AND state <> 'superseded'",
        &[&job_id],
    )
    .await?;
    tx.execute(
        "UPDATE variants SET status = 'failed' WHERE job_id = $1 AND status <> 'complete'",
        &[&job_id],
    )
    .await?;
    Ok(())
}

/// How processing stopped early.
enum Failure {
    Refused(Refusal, &'static str),
    LeaseLost,
    Retry(Retry),
}

impl Failure {
    fn media(e: MediaError, step: &'static str) -> Self {
        match e {
            MediaError::Refused(r) => Failure::Refused(r, step),
            MediaError::Tool(message) => Failure::Retry(Retry(message)),
        }
    }
}

impl From<Retry> for Failure {
    fn from(e: Retry) -> Self {
        Failure::Retry(e)
    }
}
