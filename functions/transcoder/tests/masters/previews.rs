//! Previews: 30 seconds of a master (all of a shorter one) from its track's preview start,
//! stored beside the full renditions with the same codecs.

use std::path::{Path, PathBuf};
use std::process::Command;

use hound_domain::assets::AssetKind;
use hound_domain::ids::{JobId, TrackId};
use hound_testing::{Fixture, ffprobe};
use serde_json::Value;

use super::transcode;

/// A 440 Hz tone whose level rises steadily over `seconds`, so the level of a stretch of a
/// preview tells where in the master it was cut.
fn ramp(fx: &Fixture, name: &str, seconds: u32) -> PathBuf {
    let source = format!("aevalsrc=(0.01+0.84*t/{seconds})*sin(2*PI*440*t):s=44100:d={seconds}");
    fx.ffmpeg(
        name,
        &[
            "-f",
            "lavfi",
            "-i",
            &source,
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
        ],
    )
}

/// The mean level (dB) of `seconds` of `path` from `from_s`, as ffmpeg's `volumedetect` reads it.
fn mean_volume_db(path: &Path, from_s: f64, seconds: f64) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-nostats", "-ss"])
        .arg(from_s.to_string())
        .arg("-t")
        .arg(seconds.to_string())
        .arg("-i")
        .arg(path)
        .args(["-af", "volumedetect", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .find_map(|l| l.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no mean_volume in {log}"))
}

fn duration(probe: &Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration")
}

async fn track_previewed_from(fx: &Fixture, title: &str, preview_start_ms: i32) -> TrackId {
    let track = fx.track(title).await;
    fx.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE tracks SET preview_start_ms = $2 WHERE id = $1",
            &[&track, &preview_start_ms],
        )
        .await
        .unwrap();
    track
}

/// Both previews of `job`, complete, downloaded, each checked against the full rendition's
/// codec: `(name, file, ffprobe's view)`.
async fn previews(fx: &Fixture, job_id: JobId) -> Vec<(&'static str, PathBuf, Value)> {
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready", "{job}");
    let mut files = Vec::new();
    for (name, full, codec, mime) in [
        ("preview_aac_128", "aac_128", "aac", "audio/mp4"),
        ("preview_opus_96", "opus_96", "opus", "audio/ogg"),
    ] {
        let v = &job["variants"][name];
        assert_eq!(v["status"], "complete", "{name}: {v}");
        assert_eq!(v["mime"], mime);
        assert_eq!(v["codec"], job["variants"][full]["codec"]);
        assert_eq!(v["bitrate_kbps"], job["variants"][full]["bitrate_kbps"]);
        let file = fx.download(v["key"].as_str().unwrap()).await;
        let probe = ffprobe(&file);
        assert_eq!(probe["streams"][0]["codec_name"], codec, "{name}");
        files.push((name, file, probe));
    }
    files
}

#[tokio::test]
async fn previews_are_30_seconds_from_the_tracks_preview_start() {
    let fx = Fixture::new().await;
    let master = ramp(&fx, "ramp.wav", 75);
    let from_20 = track_previewed_from(&fx, "From 20 s", 20_000).await;
    // Past the last 30 s of a 75 s master: moved back to 45 s, so 30 s still fit.
    let too_late = track_previewed_from(&fx, "Too late", 70_000).await;
    let (_, job_20) = fx
        .upload(AssetKind::Master, Some(from_20), &master, "audio/wav")
        .await;
    let (_, job_late) = fx
        .upload(AssetKind::Master, Some(too_late), &master, "audio/wav")
        .await;

    let (delivered, response) = fx.deliver(transcode).await;

    assert_eq!(delivered, 2);
    assert!(response.batch_item_failures.is_empty());
    for (job_id, start_s) in [(job_20, 20.0), (job_late, 45.0)] {
        for (name, file, probe) in previews(&fx, job_id).await {
            let seconds = duration(&probe);
            assert!(
                (29.9..=30.0).contains(&seconds),
                "{name} from {start_s} s lasts {seconds} s"
            );
            // Its first and last seconds are the master's at the start and 29 s later.
            for (into, at) in [(0.0, start_s), (28.5, start_s + 28.5)] {
                let preview = mean_volume_db(&file, into, 1.0);
                let source = mean_volume_db(&master, at, 1.0);
                assert!(
                    (preview - source).abs() < 0.5,
                    "{name} at {into} s: {preview} dB, the master at {at} s: {source} dB"
                );
            }
            let opening = mean_volume_db(&master, 0.0, 1.0);
            assert!(mean_volume_db(&file, 0.0, 1.0) - opening > 10.0, "{name}");
        }
    }
    let keys = fx.stream_keys().await;
    assert_eq!(keys.len(), 2 * 6, "{keys:?}");
}

#[tokio::test]
async fn a_master_shorter_than_30_seconds_is_its_own_preview() {
    let fx = Fixture::new().await;
    let master = ramp(&fx, "short.wav", 12);
    let track = track_previewed_from(&fx, "Short", 5_000).await;
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &master, "audio/wav")
        .await;

    fx.deliver(transcode).await;

    for (name, file, probe) in previews(&fx, job_id).await {
        let seconds = duration(&probe);
        assert!((seconds - 12.0).abs() < 0.05, "{name} lasts {seconds} s");
        let preview = mean_volume_db(&file, 0.0, 1.0);
        let source = mean_volume_db(&master, 0.0, 1.0);
        assert!((preview - source).abs() < 0.5, "{name} starts at 0 s");
    }
}
