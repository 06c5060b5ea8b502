//! What ffprobe says about an uploaded file, and the checks a master or a cover must pass.

use std::path::Path;

use serde::Deserialize;

use crate::error::{MediaError, Refusal};
use crate::tool::{Input, pinned_input, tool};

/// Masters longer than this are refused (`too_long`).
pub const MAX_MASTER_SECONDS: f64 = 30.0 * 60.0;
/// Sample rates a master may have.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8_000..=384_000;
/// Channel counts a master may have (stereo renditions are made from up to 7.1).
pub const CHANNELS: std::ops::RangeInclusive<u32> = 1..=8;
/// Covers must be at least this many pixels on their shorter side.
pub const MIN_COVER_PX: u32 = 1000;
/// Largest cover side: a bigger picture is refused from its header, before anything decodes it
/// (a 16000×16000 PNG is ~1 MB on disk and gigabytes decoded).
pub const MAX_COVER_PX: usize = 6000;
/// Covers may differ from square by this fraction of their longer side.
pub const SQUARE_TOLERANCE: f64 = 0.01;

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default)]
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Debug, Deserialize)]
struct RawStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

/// An audio master that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub format: String,
    pub duration_s: f64,
    pub sample_rate: u32,
    pub channels: u32,
}

/// A cover image that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
}

/// Why ffprobe gave nothing.
enum Unread {
    /// It is some container, just not one of those allowed (a manifest, a picture as a master).
    NotAllowed,
    /// Nothing could make sense of it.
    Unreadable,
}

async fn run(path: &Path, input: Input) -> Result<Result<Raw, Unread>, MediaError> {
    let mut command = tool("ffprobe");
    command.args([
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ]);
    pinned_input(&mut command, input, path);
    let output = command
        .output()
        .await
        .map_err(|e| MediaError::Tool(format!("ffprobe could not run: {e}")))?;
    if !output.status.success() {
        // ffprobe exits 1 on data it cannot parse, or on a container it may not open: the
        // file's fault, not ours.
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Ok(Err(if stderr.contains("not on whitelist") {
            Unread::NotAllowed
        } else {
            Unread::Unreadable
        }));
    }
    Ok(serde_json::from_slice(&output.stdout).map_err(|_| Unread::Unreadable))
}

fn parse_f64(s: Option<&String>) -> Option<f64> {
    s.and_then(|s| s.parse::<f64>().ok())
        .filter(|d| d.is_finite())
}

/// Probe a master: audio, at most 30 minutes, a sane sample rate and channel count.
pub async fn audio(path: &Path) -> Result<AudioInfo, MediaError> {
    if tokio::fs::metadata(path)
        .await
        .map_err(|e| MediaError::Tool(format!("reading the download: {e}")))?
        .len()
        == 0
    {
        return Err(Refusal::Corrupt("The file is empty.".into()).into());
    }
    let raw = match run(path, Input::Audio).await? {
        Ok(raw) => raw,
        Err(Unread::NotAllowed) => {
            return Err(Refusal::NotAudio(
                "The file is not WAV, FLAC, AIFF, MP3 or ALAC/AAC in MP4.".into(),
            )
            .into());
        }
        Err(Unread::Unreadable) => {
            return Err(Refusal::Corrupt(
                "The file could not be read as audio or any other media.".into(),
            )
            .into());
        }
    };
    let format = raw.format.as_ref();
    let format_name = format
        .and_then(|f| f.format_name.clone())
        .unwrap_or_default();
    // A picture (JPEG, PNG; also a cover embedded in an MP3) is a video stream, never audio.
    let Some(stream) = raw
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"))
    else {
        return Err(Refusal::NotAudio(format!(
            "The file has no audio stream (it reads as {}).",
            if format_name.is_empty() {
                "unknown media"
            } else {
                &format_name
            }
        ))
        .into());
    };
    let sample_rate = stream
        .sample_rate
        .as_deref()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    let channels = stream.channels.unwrap_or(0);
    if !SAMPLE_RATES.contains(&sample_rate) || !CHANNELS.contains(&channels) {
        return Err(Refusal::Unsupported(format!(
            "{sample_rate} Hz with {channels} channels is not supported (8–384 kHz, 1–8 channels)."
        ))
        .into());
    }
    let duration_s = parse_f64(stream.duration.as_ref())
        .or_else(|| parse_f64(format.and_then(|f| f.duration.as_ref())))
        .ok_or_else(|| Refusal::Corrupt("The file's duration cannot be read.".into()))?;
    if duration_s > MAX_MASTER_SECONDS {
        return Err(Refusal::TooLong(format!(
            "The track is {:.0} minutes long; the limit is 30.",
            (duration_s / 60.0).ceil()
        ))
        .into());
    }
    if duration_s <= 0.0 {
        return Err(Refusal::Corrupt("The file holds no audio.".into()).into());
    }
    Ok(AudioInfo {
        codec: stream.codec_name.clone().unwrap_or_default(),
        format: format_name,
        duration_s,
        sample_rate,
        channels,
    })
}

/// Probe a cover: one still JPEG or PNG picture, square within 1 %, 1000–6000 px a side.
pub async fn image(path: &Path) -> Result<ImageInfo, MediaError> {
    let not_image = || Refusal::NotImage("The file is not a JPEG or PNG picture.".into());
    // The header alone says how big it would be decoded: refuse a bomb before ffprobe reads it.
    if let Ok(size) = imagesize::size(path)
        && size.width.max(size.height) > MAX_COVER_PX
    {
        return Err(Refusal::CoverTooLarge(format!(
            "The cover is {}×{}; it must be at most {MAX_COVER_PX}×{MAX_COVER_PX}.",
            size.width, size.height
        ))
        .into());
    }
    let raw = run(path, Input::Picture).await?.map_err(|_| not_image())?;
    let format_name = raw
        .format
        .as_ref()
        .and_then(|f| f.format_name.clone())
        .unwrap_or_default();
    // Still images come through the image2 / *_pipe demuxers; an audio file with embedded art
    // (mp3, flac) has a picture stream too, but is not a cover.
    let still = format_name == "image2" || format_name.ends_with("_pipe");
    let stream = raw
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video"))
        .filter(|_| still)
        .filter(|s| matches!(s.codec_name.as_deref(), Some("mjpeg" | "png")))
        .ok_or_else(not_image)?;
    let (width, height) = (stream.width.unwrap_or(0), stream.height.unwrap_or(0));
    if width == 0 || height == 0 {
        return Err(not_image().into());
    }
    let longer = f64::from(width.max(height));
    if f64::from(width.abs_diff(height)) > SQUARE_TOLERANCE * longer {
        return Err(Refusal::CoverNotSquare(format!(
            "The cover is {width}×{height}; it must be square."
        ))
        .into());
    }
    if width.min(height) < MIN_COVER_PX {
        return Err(Refusal::CoverTooSmall(format!(
            "The cover is {width}×{height}; it must be at least {MIN_COVER_PX}×{MIN_COVER_PX}."
        ))
        .into());
    }
    Ok(ImageInfo {
        codec: stream.codec_name.clone().unwrap_or_default(),
        width,
        height,
    })
}
