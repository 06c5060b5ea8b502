//! The 30-second previews of a master: what a listener without the entitlement a gated release
//! needs may hear. Same codecs, containers and gain handling as the full renditions (no gain is
//! applied to the audio; players apply the track's gain), cut from the track's preview start.
//!
//! One ffmpeg process writes both: it seeks, decodes at most 30 s once, and runs the two cheap
//! encoders one after the other, beside the full renditions' processes.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::encode::{
    AAC_128, Encoded, OPUS_96, Rendition, failed, ffmpeg, output_options, watchdog, watched,
};
use crate::error::MediaError;
use crate::probe::AudioInfo;
use crate::tool::{Input, pinned_ffmpeg_input};

/// No preview lasts longer (Audius's convention).
pub const PREVIEW_SECONDS: f64 = 30.0;

pub const PREVIEW_AAC_128: Rendition = Rendition {
    name: "preview_aac_128",
    ..AAC_128
};
pub const PREVIEW_OPUS_96: Rendition = Rendition {
    name: "preview_opus_96",
    ..OPUS_96
};

/// Every preview rendition, in the order listeners get them (AAC first, as the full ones).
pub const PREVIEWS: [Rendition; 2] = [PREVIEW_AAC_128, PREVIEW_OPUS_96];

/// libopus's look-ahead at 48 kHz, written as the Ogg stream's pre-skip: the container's
/// duration (what ffprobe reports) counts it, though decoders drop it. The Opus preview is cut
/// that much shorter, so it is at most 30 s by every measure, not only as decoded.
const OPUS_PRE_SKIP_S: f64 = 312.0 / 48_000.0;

/// Which part of a master its previews hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_s: f64,
    pub length_s: f64,
}

/// The part of a `duration_s` master the previews hold: 30 s from `requested_start`, or the
/// whole master when it is shorter. A start within the last 30 s, or past the end (the start
/// was set for a longer master), moves back to where 30 s still fit — the last 30 s — so a
/// preview is never a few seconds of a track's tail.
pub fn window(duration_s: f64, requested_start: Duration) -> Window {
    let latest = (duration_s - PREVIEW_SECONDS).max(0.0);
    let start_s = requested_start.as_secs_f64().min(latest);
    Window {
        start_s,
        length_s: (duration_s - start_s).clamp(0.0, PREVIEW_SECONDS),
    }
}

/// Write both previews of `input` into `dir` (`preview_aac_128.m4a`, `preview_opus_96.ogg`).
pub(crate) async fn encode(
    input: &Path,
    dir: &Path,
    audio: &AudioInfo,
    window: Window,
) -> Result<Vec<Encoded>, MediaError> {
    let mut command = ffmpeg();
    command.args(["-v", "error"]);
    // Input options: seek (decoding from the previous key point, so the cut is exact) and read
    // no more than the preview holds.
    command.args([
        "-ss",
        &format!("{:.3}", window.start_s),
        "-t",
        &format!("{:.3}", window.length_s),
    ]);
    pinned_ffmpeg_input(&mut command, Input::Audio, input);
    let mut paths = Vec::with_capacity(PREVIEWS.len());
    for rendition in &PREVIEWS {
        let length_s = if rendition.codec == "opus" {
            window.length_s.min(PREVIEW_SECONDS - OPUS_PRE_SKIP_S)
        } else {
            window.length_s
        };
        let path = dir.join(format!("{}.{}", rendition.name, rendition.extension));
        command
            .args(["-map", "0:a:0", "-vn", "-sn", "-dn"])
            .args(["-t", &format!("{length_s:.6}")])
            .args(output_options(audio, rendition))
            .arg(&path);
        paths.push(path);
    }
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let output = watched(watchdog(audio), "previews", command.output())
        .await?
        .map_err(|e| MediaError::Tool(format!("ffmpeg could not start: {e}")))?;
    if !output.status.success() {
        return Err(failed("previews", &output.stderr));
    }
    let mut encoded = Vec::with_capacity(PREVIEWS.len());
    for (rendition, path) in PREVIEWS.iter().zip(&paths) {
        encoded.push(Encoded::written(rendition, path).await?);
    }
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_of(duration_s: f64, start_ms: u64) -> (f64, f64) {
        let w = window(duration_s, Duration::from_millis(start_ms));
        (w.start_s, w.length_s)
    }

    #[test]
    fn a_preview_is_30_seconds_from_the_start_asked_for() {
        assert_eq!(window_of(180.0, 0), (0.0, 30.0));
        assert_eq!(window_of(180.0, 45_500), (45.5, 30.0));
    }

    #[test]
    fn a_start_too_late_moves_back_to_the_last_30_seconds() {
        assert_eq!(window_of(180.0, 170_000), (150.0, 30.0));
        assert_eq!(window_of(180.0, 600_000), (150.0, 30.0));
    }

    #[test]
    fn a_master_shorter_than_30_seconds_is_its_own_preview() {
        assert_eq!(window_of(12.5, 0), (0.0, 12.5));
        assert_eq!(window_of(12.5, 5_000), (0.0, 12.5));
    }
}
