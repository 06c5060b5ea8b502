//! One claimed job, start to end: download the upload to scratch space, probe it, make its
//! renditions (or cover sizes) with the media crate while writing progress, store them, and end
//! the job in one transaction. Every progress write renews the lease; a lost lease stops here.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hound_domain::assets::AssetKind;
use hound_domain::aws::Storage;
use hound_domain::db::{self, Pool};
use hound_domain::jobs::{
    self, Claim, JobStatus, StepName, StepState, StepUpdate, StoredVariant, TrackAnalysis,
    VariantSpec,
};
use hound_media::encode::{self, Progress, RENDITIONS};
use hound_media::preview::PREVIEWS;
use hound_media::probe;

use crate::retry::{Failure, Retry};

/// Every job's scratch directory is named so.
pub(crate) const SCRATCH_PREFIX: &str = "hound-job-";

/// What a job's processing needs from its worker.
pub(crate) struct Pipeline<'a> {
    pub pool: &'a Pool,
    pub storage: &'a Storage,
    pub owner: &'a str,
    pub lease: Duration,
    pub scratch: &'a Path,
}

fn running(name: StepName, pct: i16) -> StepUpdate {
    StepUpdate::new(name, StepState::Running, pct)
}

fn done(name: StepName) -> StepUpdate {
    StepUpdate::new(name, StepState::Done, 100)
}

impl Pipeline<'_> {
    pub(crate) async fn process(&self, job: &Claim) -> Result<(), Failure> {
        let dir = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(self.scratch)
            .map_err(|e| Retry(format!("scratch directory: {e}")))?;
        let input = dir.path().join("input");
        self.step(job, JobStatus::Probing, 1, &[running(StepName::Probe, 0)])
            .await?;
        self.storage
            .download_if(&job.bucket, &job.key, &input, job.etag.as_deref())
            .await?
            .ok_or(Failure::Changed)?;
        match job.kind {
            AssetKind::Master => self.master(job, &input, dir.path()).await,
            AssetKind::Cover => self.cover(job, &input, dir.path()).await,
        }
    }

    /// Record progress and renew the lease; a lost lease stops the job.
    async fn step(
        &self,
        job: &Claim,
        status: JobStatus,
        progress: i16,
        steps: &[StepUpdate],
    ) -> Result<(), Failure> {
        let client = db::connect(self.pool).await?;
        let held = jobs::progress(
            &client, job.job_id, self.owner, self.lease, status, progress, steps,
        )
        .await?;
        if held {
            Ok(())
        } else {
            Err(Failure::LeaseLost)
        }
    }

    async fn master(&self, job: &Claim, input: &Path, dir: &Path) -> Result<(), Failure> {
        let audio = probe::audio(input)
            .await
            .map_err(|e| Failure::media(e, StepName::Probe))?;
        self.step(
            job,
            JobStatus::Transcoding,
            10,
            &[
                done(StepName::Probe),
                running(StepName::Transcode, 0),
                running(StepName::Analyse, 0),
            ],
        )
        .await?;
        let specs: Vec<VariantSpec> = RENDITIONS
            .iter()
            .chain(&PREVIEWS)
            .map(|r| VariantSpec {
                name: r.name,
                codec: Some(r.codec),
                bitrate_kbps: Some(r.bitrate_kbps),
                width_px: None,
                mime: r.mime,
            })
            .chain([VariantSpec {
                name: "waveform",
                codec: None,
                bitrate_kbps: None,
                width_px: None,
                mime: "application/json",
            }])
            .collect();
        jobs::prepare_variants(&db::connect(self.pool).await?, job, &specs).await?;
        let progress = Arc::new(Progress::default());
        // The track's choice as it stood when the job was claimed (never negative in the table).
        let preview_start = Duration::from_millis(u64::try_from(job.preview_start_ms).unwrap_or(0));
        let work = encode::transcode(input, dir, &audio, preview_start, progress.clone());
        tokio::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.tick().await;
        let (encoded, analysis) = loop {
            tokio::select! {
                result = &mut work => {
                    break result.map_err(|e| Failure::media(e, StepName::Transcode))?;
                }
                _ = tick.tick() => {
                    let pct = (progress.fraction(audio.duration_s) * 100.0) as i16;
                    self.step(job, JobStatus::Transcoding, 10 + pct * 3 / 4, &[
                        running(StepName::Transcode, pct.min(99)),
                        running(StepName::Analyse, pct.min(99)),
                    ]).await?;
                }
            }
        };
        self.step(
            job,
            JobStatus::Uploading,
            85,
            &[
                done(StepName::Transcode),
                done(StepName::Analyse),
                running(StepName::Upload, 0),
            ],
        )
        .await?;
        let mut stored = Vec::new();
        for file in &encoded {
            let key = rendition_key(job, file.rendition.name, file.rendition.extension);
            self.storage
                .upload_file(
                    &self.storage.streams_bucket,
                    &key,
                    &file.path,
                    file.rendition.mime,
                )
                .await?;
            stored.push(StoredVariant {
                name: file.rendition.name.to_owned(),
                key,
                size_bytes: file.size_bytes as i64,
            });
        }
        let waveform = serde_json::to_vec(&analysis.waveform).expect("a waveform serialises");
        let key = rendition_key(job, "waveform", "json");
        let size_bytes = waveform.len() as i64;
        self.storage
            .upload_bytes(
                &self.storage.streams_bucket,
                &key,
                waveform,
                "application/json",
            )
            .await?;
        stored.push(StoredVariant {
            name: "waveform".into(),
            key,
            size_bytes,
        });
        let loudness = &analysis.loudness;
        let track = TrackAnalysis {
            duration_ms: (audio.duration_s * 1000.0).round().max(1.0) as i32,
            sample_rate_hz: audio.sample_rate as i32,
            channels: audio.channels as i16,
            integrated_lufs: loudness.integrated_lufs as f32,
            loudness_range_lu: loudness.loudness_range_lu.max(0.0) as f32,
            true_peak_dbtp: finite_or(loudness.true_peak_dbtp, -99.0) as f32,
            gain_db: loudness.gain_db() as f32,
            embedding: analysis.embedding.to_array().to_vec(),
        };
        self.finish(job, &stored, Some(&track)).await
    }

    async fn cover(&self, job: &Claim, input: &Path, dir: &Path) -> Result<(), Failure> {
        probe::image(input)
            .await
            .map_err(|e| Failure::media(e, StepName::Probe))?;
        self.step(
            job,
            JobStatus::Transcoding,
            30,
            &[done(StepName::Probe), running(StepName::Resize, 0)],
        )
        .await?;
        let sizes = encode::cover_sizes(input, dir)
            .await
            .map_err(|e| Failure::media(e, StepName::Resize))?;
        let specs: Vec<VariantSpec> = sizes
            .iter()
            .map(|s| VariantSpec {
                name: s.name.as_str(),
                codec: None,
                bitrate_kbps: None,
                width_px: Some(s.width_px),
                mime: s.mime,
            })
            .collect();
        jobs::prepare_variants(&db::connect(self.pool).await?, job, &specs).await?;
        self.step(
            job,
            JobStatus::Uploading,
            70,
            &[done(StepName::Resize), running(StepName::Upload, 0)],
        )
        .await?;
        let mut stored = Vec::new();
        for size in &sizes {
            let key = rendition_key(job, &size.name, size.extension);
            self.storage
                .upload_file(&self.storage.streams_bucket, &key, &size.path, size.mime)
                .await?;
            stored.push(StoredVariant {
                name: size.name.clone(),
                key,
                size_bytes: size.size_bytes as i64,
            });
        }
        self.finish(job, &stored, None).await
    }

    /// The job's end in one transaction, only while this worker still holds it.
    async fn finish(
        &self,
        job: &Claim,
        stored: &[StoredVariant],
        analysis: Option<&TrackAnalysis>,
    ) -> Result<(), Failure> {
        let mut client = db::connect(self.pool).await?;
        let tx = db::begin(&mut client).await?;
        if !jobs::hold(&tx, job.job_id, self.owner).await? {
            return Err(Failure::LeaseLost);
        }
        jobs::finish(&tx, job, &self.storage.streams_bucket, stored, analysis).await?;
        tx.commit().await.map_err(Retry::from)?;
        Ok(())
    }
}

/// Streams-bucket key of one output: per asset, so a retried job overwrites its own files and
/// nothing else, and nothing is reachable before its variant row is `complete`.
fn rendition_key(job: &Claim, name: &str, extension: &str) -> String {
    format!("renditions/{}/{name}.{extension}", job.asset_id)
}

fn finite_or(value: f64, fallback: f64) -> f64 {
    if value.is_finite() { value } else { fallback }
}
