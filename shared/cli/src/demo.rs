//! The demo catalogue `hound seed` adds for `make dev`: two published releases by the demo
//! artist, with generated audio and covers that went through the real upload path (intent, the
//! object in the masters/covers bucket, completion) and the real worker, so a person can browse
//! and stream at once. Idempotent: a release that exists (by title) is left alone.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, anyhow, bail};
use hound_domain::assets::{self, AssetKind};
use hound_domain::aws::Storage;
use hound_domain::catalog::{self, ReleaseFields, TrackFields};
use hound_domain::db::{self, Pool};
use hound_domain::ids::{ArtistId, ReleaseId, TrackId};
use hound_domain::profiles;
use hound_domain::uploads::{self, UploadIntent};
use hound_worker::{Outcome, Worker};
use serde_json::json;

struct DemoRelease {
    title: &'static str,
    kind: &'static str,
    genre: &'static str,
    /// An ffmpeg lavfi source for the 1200×1200 cover.
    cover: &'static str,
    /// (title, lavfi graph producing stereo audio; several sources end in `[out0]`)
    tracks: &'static [(&'static str, &'static str)],
}

const SECONDS: &str = "20";

/// Run ffmpeg to make `out` (the demo's and the walk's generated audio and pictures).
pub fn ffmpeg(args: &[&str], out: &Path) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .context("running ffmpeg (is it installed?)")?;
    if !status.success() {
        bail!("ffmpeg {args:?} failed");
    }
    Ok(())
}

const RELEASES: &[DemoRelease] = &[
    DemoRelease {
        title: "Night Drives",
        kind: "album",
        genre: "Electronic",
        cover: "mandelbrot=s=1200x1200",
        tracks: &[
            (
                "Sodium Lights",
                "sine=f=110:r=44100[a];anoisesrc=r=44100:a=0.15:c=pink[n];[a][n]amix=inputs=2,tremolo=f=4:d=0.6,aformat=channel_layouts=stereo[out0]",
            ),
            (
                "Overpass",
                "sine=f=164.8:r=44100[a];sine=f=246.9:r=44100[b];[a][b]amix=inputs=2,apulsator=hz=0.5,aformat=channel_layouts=stereo[out0]",
            ),
            (
                "Last Exit",
                "sine=f=98:r=44100[a];anoisesrc=r=44100:a=0.1:c=brown[n];[a][n]amix=inputs=2,tremolo=f=2:d=0.8,aformat=channel_layouts=stereo[out0]",
            ),
        ],
    },
    DemoRelease {
        title: "Field Notes",
        kind: "ep",
        genre: "Ambient",
        cover: "gradients=s=1200x1200:c0=0x1d3557:c1=0xe63946:x0=0:y0=0:x1=1200:y1=1200",
        tracks: &[
            (
                "Morning Fog",
                "anoisesrc=r=44100:a=0.2:c=pink,lowpass=f=900,aformat=channel_layouts=stereo",
            ),
            (
                "Birch",
                "sine=f=293.7:r=44100[a];sine=f=440:r=44100[b];[a][b]amix=inputs=2,aecho=0.8:0.7:400:0.4,aformat=channel_layouts=stereo[out0]",
            ),
        ],
    },
];

struct Seeder {
    pool: Pool,
    storage: Storage,
    worker: Worker,
    artist: ArtistId,
}

impl Seeder {
    /// Upload a local file the way a client does (intent, then the object at the intent's key),
    /// complete it from storage, and run its job with the real worker, in process.
    async fn upload(
        &self,
        release_id: ReleaseId,
        kind: AssetKind,
        track_id: Option<TrackId>,
        path: &Path,
        content_type: &str,
    ) -> anyhow::Result<()> {
        let size = std::fs::metadata(path)?.len() as i64;
        let intent = UploadIntent {
            track_id,
            filename: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            content_type: content_type.to_owned(),
            size_bytes: size,
        };
        // Connections are held only while used: the worker below takes its own from the pool.
        let job_id = {
            let mut client = db::connect(&self.pool).await?;
            let tx = db::begin(&mut client).await?;
            let intent =
                uploads::create_intent(&tx, &self.storage, self.artist, release_id, kind, intent)
                    .await
                    .map_err(|e| anyhow!("upload intent: {e}"))?;
            let (bucket, key) = assets::location(&tx, intent.asset_id)
                .await?
                .context("the new asset")?;
            tx.commit().await?;
            self.storage
                .upload_file(&bucket, &key, path, content_type)
                .await?;
            let tx = db::begin(&mut client).await?;
            let job_id = uploads::complete_from_storage(&tx, &self.storage, &bucket, &key)
                .await
                .map_err(|e| anyhow!("completing the upload: {e}"))?
                .ok_or_else(|| anyhow!("the uploaded object did not match its intent"))?;
            tx.commit().await?;
            job_id
        };
        match self
            .worker
            .run(job_id)
            .await
            .map_err(|e| anyhow!("transcoding: {e}"))?
        {
            Outcome::Ready(_) | Outcome::AlreadyDone(_) => Ok(()),
            other => bail!("the demo upload did not become ready: {other:?}"),
        }
    }

    /// One demo release, created, uploaded, processed, submitted and published.
    async fn release(&self, demo: &DemoRelease, dir: &Path) -> anyhow::Result<()> {
        let fields: ReleaseFields = serde_json::from_value(json!({
            "title": demo.title, "kind": demo.kind, "genre": demo.genre,
        }))?;
        let mut client = db::connect(&self.pool).await?;
        let tx = db::begin(&mut client).await?;
        let release = catalog::create_release(&tx, self.artist, fields)
            .await
            .map_err(|e| anyhow!("creating {}: {e}", demo.title))?;
        tx.commit().await?;
        drop(client);
        let cover = dir.join(format!("{}.jpg", release.id));
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                demo.cover,
                "-frames:v",
                "1",
                "-q:v",
                "3",
            ],
            &cover,
        )?;
        self.upload(release.id, AssetKind::Cover, None, &cover, "image/jpeg")
            .await?;
        for (title, graph) in demo.tracks {
            let fields: TrackFields = serde_json::from_value(json!({ "title": title }))?;
            let mut client = db::connect(&self.pool).await?;
            let tx = db::begin(&mut client).await?;
            let track = catalog::add_track(&tx, self.artist, release.id, fields)
                .await
                .map_err(|e| anyhow!("adding {title}: {e}"))?;
            tx.commit().await?;
            drop(client);
            let master = dir.join(format!("{}.flac", track.id));
            ffmpeg(
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    graph,
                    "-t",
                    SECONDS,
                    "-af",
                    "afade=t=in:d=1,afade=t=out:st=18:d=2",
                    "-c:a",
                    "flac",
                ],
                &master,
            )?;
            self.upload(
                release.id,
                AssetKind::Master,
                Some(track.id),
                &master,
                "audio/flac",
            )
            .await?;
        }
        let mut client = db::connect(&self.pool).await?;
        let tx = db::begin(&mut client).await?;
        catalog::submit_release(&tx, self.artist, release.id)
            .await
            .map_err(|e| anyhow!("submitting {}: {e}", demo.title))?;
        catalog::publish_release(&tx, self.artist, release.id, None)
            .await
            .map_err(|e| anyhow!("publishing {}: {e}", demo.title))?;
        tx.commit().await?;
        Ok(())
    }
}

pub async fn seed(pool: &Pool, artist_email: &str) -> anyhow::Result<()> {
    let aws = hound_domain::aws::aws_config().await;
    let storage = Storage::from_env(&aws)?;
    let worker = Worker::new(pool.clone(), storage.clone());
    let artist = profiles::artist_id_by_email(&db::connect(pool).await?, artist_email)
        .await?
        .context("the demo artist")?;
    let seeder = Seeder {
        pool: pool.clone(),
        storage,
        worker,
        artist,
    };
    let dir = tempfile::tempdir()?;
    for demo in RELEASES {
        if catalog::release_titled(&db::connect(pool).await?, artist, demo.title)
            .await?
            .is_some()
        {
            println!("seed: release {:?} exists", demo.title);
            continue;
        }
        seeder.release(demo, dir.path()).await?;
        println!(
            "seed: published {:?} ({} tracks)",
            demo.title,
            demo.tracks.len()
        );
    }
    Ok(())
}
