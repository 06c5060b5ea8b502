//! Encoding a master into its streamable renditions while measuring it, and resizing covers.
//!
//! ffmpeg 5.1 runs the encoders of one process one after another on one core, so each
//! rendition gets its own single-threaded process and the three run at once, spread over the
//! cores the OS gives us. The Opus process (the cheapest encoder) also carries the analysis:
//! it splits the decoded audio into the `ebur128` loudness meter and a mono 22 050 Hz f32 pipe
//! that the embedding and the waveform read, so the master is decoded once per process and the
//! analysis costs no extra decode. A fourth process cuts the 30-second previews (`preview`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::embedding::{self, ANALYSIS_SAMPLE_RATE, Embedding};
use crate::error::{MediaError, Refusal};
use crate::loudness::{self, Loudness, SILENCE_LUFS};
use crate::preview;
use crate::probe::AudioInfo;
use crate::tool::{Input, pinned_ffmpeg_input, tail, tool};
use crate::waveform::{self, Waveform};

/// An audio rendition listeners stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendition {
    pub name: &'static str,
    pub codec: &'static str,
    pub bitrate_kbps: i32,
    pub mime: &'static str,
    pub extension: &'static str,
    /// ffmpeg output options (codec, bitrate, container).
    pub(crate) args: &'static [&'static str],
}

pub const AAC_256: Rendition = Rendition {
    name: "aac_256",
    codec: "aac",
    bitrate_kbps: 256,
    mime: "audio/mp4",
    extension: "m4a",
    args: &[
        "-c:a",
        "aac",
        "-profile:a",
        "aac_low",
        "-b:a",
        "256k",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
    ],
};
pub const AAC_128: Rendition = Rendition {
    name: "aac_128",
    codec: "aac",
    bitrate_kbps: 128,
    mime: "audio/mp4",
    extension: "m4a",
    args: &[
        "-c:a",
        "aac",
        "-profile:a",
        "aac_low",
        "-b:a",
        "128k",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
    ],
};
pub const OPUS_96: Rendition = Rendition {
    name: "opus_96",
    codec: "opus",
    bitrate_kbps: 96,
    mime: "audio/ogg",
    extension: "ogg",
    // Constrained VBR: the bitrate stays at the target, as streaming plans for.
    args: &[
        "-c:a",
        "libopus",
        "-b:a",
        "96k",
        "-vbr",
        "constrained",
        "-f",
        "ogg",
    ],
};

/// Every full-length audio rendition, the analysis-carrying one last (the previews are
/// `preview::PREVIEWS`).
pub const RENDITIONS: [Rendition; 3] = [AAC_256, AAC_128, OPUS_96];

/// A silent master: ebur128 measured nothing above its absolute gate, or no sample reaches
/// −60 dBFS.
pub const SILENCE_PEAK: f32 = 0.001;

/// Attenuation before the true-peak meter, added back to its reading.
const TRUE_PEAK_HEADROOM_DB: f64 = 6.0;

/// What the analysis learned about a master.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub loudness: Loudness,
    pub embedding: Embedding,
    pub waveform: Waveform,
}

/// A finished rendition file.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub rendition: Rendition,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// How far each encoder has got, in microseconds of audio, for live progress.
#[derive(Debug, Default)]
pub struct Progress {
    done_us: [AtomicU64; 3],
}

impl Progress {
    /// The slowest encoder's share of `duration_s`, 0..=1.
    pub fn fraction(&self, duration_s: f64) -> f64 {
        let slowest = self
            .done_us
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        (slowest as f64 / 1e6 / duration_s.max(1e-3)).clamp(0.0, 1.0)
    }
}

/// The ffmpeg output options of a rendition for this master (also what `make bench` compares with).
pub fn output_options(audio: &AudioInfo, rendition: &Rendition) -> Vec<String> {
    let mut args: Vec<String> = vec!["-map_metadata".into(), "-1".into()];
    if audio.channels > 2 {
        args.extend(["-ac".into(), "2".into()]);
    }
    // Opus always runs at 48 kHz; AAC keeps the master's rate up to 48 kHz.
    if rendition.codec == "opus" || audio.sample_rate > 48_000 {
        args.extend(["-ar".into(), "48000".into()]);
    }
    args.extend(rendition.args.iter().map(|a| (*a).to_owned()));
    args
}

/// The most audio a master's encoders read: what its header declares, plus room for an
/// estimate (a VBR MP3 without an index) — never hours because a header lied.
pub fn decode_cap_s(audio: &AudioInfo) -> f64 {
    audio.duration_s + (audio.duration_s * 0.02).max(5.0)
}

/// How long one ffmpeg process may run before it is killed: as long as the capped audio plays
/// (encoding runs tens of times faster than that), and never less than two minutes.
pub fn watchdog(audio: &AudioInfo) -> Duration {
    Duration::from_secs_f64(decode_cap_s(audio).max(120.0))
}

/// ffmpeg, single-threaded and quiet about progress, before its input options.
pub(crate) fn ffmpeg() -> tokio::process::Command {
    let mut command = tool("ffmpeg");
    command.args([
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-y",
        "-threads",
        "1",
    ]);
    command
}

fn base_command(input: &Path, audio: &AudioInfo) -> tokio::process::Command {
    let mut command = ffmpeg();
    // An input option: no output of this process reads past the cap.
    command.args(["-t", &format!("{:.3}", decode_cap_s(audio))]);
    pinned_ffmpeg_input(&mut command, Input::Audio, input);
    command
}

/// Wait for an ffmpeg process, killing it (it dies with its handle) past the watchdog.
pub(crate) async fn watched<T>(
    limit: Duration,
    what: &str,
    work: impl std::future::Future<Output = T>,
) -> Result<T, MediaError> {
    tokio::time::timeout(limit, work).await.map_err(|_| {
        MediaError::Tool(format!(
            "ffmpeg ran past its watchdog ({} s) on {what}",
            limit.as_secs()
        ))
    })
}

/// Encode one rendition, reporting progress through `done_us`.
async fn encode_one(
    input: &Path,
    output: &Path,
    audio: &AudioInfo,
    rendition: &Rendition,
    done_us: &AtomicU64,
) -> Result<Encoded, MediaError> {
    let mut command = base_command(input, audio);
    command
        .args(["-v", "error", "-map", "0:a:0", "-vn", "-sn", "-dn"])
        .args(output_options(audio, rendition))
        .arg(output)
        .args(["-progress", "pipe:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| MediaError::Tool(format!("ffmpeg could not start: {e}")))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let read_progress = async {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(us) = line
                .strip_prefix("out_time_us=")
                .and_then(|v| v.parse::<u64>().ok())
            {
                done_us.store(us, Ordering::Relaxed);
            }
        }
    };
    let mut err = Vec::new();
    let (_, _, status) = watched(watchdog(audio), rendition.name, async {
        tokio::join!(read_progress, stderr.read_to_end(&mut err), child.wait())
    })
    .await?;
    let status = status.map_err(|e| MediaError::Tool(format!("waiting for ffmpeg: {e}")))?;
    if !status.success() {
        return Err(failed(rendition.name, &err));
    }
    done_us.store(u64::MAX / 2, Ordering::Relaxed);
    Encoded::written(rendition, output).await
}

impl Encoded {
    /// The rendition ffmpeg wrote at `path`, with its size.
    pub(crate) async fn written(rendition: &Rendition, path: &Path) -> Result<Self, MediaError> {
        let size_bytes = tokio::fs::metadata(path)
            .await
            .map_err(|e| MediaError::Tool(format!("reading {}: {e}", path.display())))?
            .len();
        Ok(Self {
            rendition: *rendition,
            path: path.to_owned(),
            size_bytes,
        })
    }
}

/// ffmpeg gave up on a file ffprobe accepted: damaged data is the file's fault; anything else
/// (killed, out of space) may pass on a retry.
pub(crate) fn failed(what: &str, stderr: &[u8]) -> MediaError {
    let text = String::from_utf8_lossy(stderr);
    if text.contains("Invalid data found") || text.contains("corrupt") {
        let content = if what == "cover" { "picture" } else { "audio" };
        Refusal::Corrupt(format!(
            "The {content} could not be decoded ({}).",
            tail(stderr)
        ))
        .into()
    } else {
        MediaError::Tool(format!("ffmpeg failed on {what}: {}", tail(stderr)))
    }
}

/// Encode the rendition that carries the analysis, measuring loudness and reading the mono PCM
/// into the embedding extractor and the waveform builder.
async fn encode_analysed(
    input: &Path,
    output: &Path,
    audio: &AudioInfo,
    rendition: &Rendition,
    done_us: &AtomicU64,
) -> Result<(Encoded, Analysis), MediaError> {
    // True peak: the signal oversampled to at least 176.4 kHz (BS.1770 asks for 4× at 48 kHz)
    // with a short 12-tap-per-phase filter, its largest sample read by `volumedetect` (16-bit,
    // hence the 6 dB of headroom so inter-sample overs up to +6 dBTP are not clipped). ebur128's
    // own `peak=true` upsamples with a far longer filter and costs twice the whole analysis.
    let factor = (192_000 / audio.sample_rate.max(1)).clamp(1, 4);
    let oversampled = audio.sample_rate * factor;
    let graph = format!(
        "[0:a:0]asplit=4[enc][lufs][tp][pcm];\
         [lufs]ebur128=framelog=verbose,anullsink;\
         [tp]volume=-{TRUE_PEAK_HEADROOM_DB}dB,\
             aresample={oversampled}:filter_size=12:phase_shift=8,volumedetect,anullsink;\
         [pcm]aresample={ANALYSIS_SAMPLE_RATE},aformat=sample_fmts=flt:channel_layouts=mono[mono]"
    );
    let mut command = base_command(input, audio);
    command
        .args(["-v", "info", "-filter_complex", &graph, "-map", "[enc]"])
        .args(output_options(audio, rendition))
        .arg(output)
        .args(["-map", "[mono]", "-f", "f32le", "pipe:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| MediaError::Tool(format!("ffmpeg could not start: {e}")))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let expected = (audio.duration_s * f64::from(ANALYSIS_SAMPLE_RATE)).ceil() as usize;
    let read_pcm = async {
        let mut extractor = embedding::Extractor::new(ANALYSIS_SAMPLE_RATE);
        let mut peaks = waveform::Builder::new(ANALYSIS_SAMPLE_RATE, expected);
        let mut peak = 0.0f32;
        let mut samples = Vec::with_capacity(16 * 1024);
        let mut buf = vec![0u8; 64 * 1024];
        let mut carry = 0usize;
        let mut total = 0u64;
        loop {
            let n = match stdout.read(&mut buf[carry..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let filled = carry + n;
            let whole = filled - filled % 4;
            samples.clear();
            samples.extend(
                buf[..whole]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            for s in &samples {
                peak = peak.max(s.abs());
            }
            extractor.push(&samples);
            peaks.push(&samples);
            total += samples.len() as u64;
            done_us.store(
                total * 1_000_000 / u64::from(ANALYSIS_SAMPLE_RATE),
                Ordering::Relaxed,
            );
            buf.copy_within(whole..filled, 0);
            carry = filled - whole;
        }
        (extractor.finish(), peaks.finish(), peak, total)
    };
    let mut err = Vec::new();
    let ((embedding, waveform, peak, decoded), _, status) =
        watched(watchdog(audio), rendition.name, async {
            tokio::join!(read_pcm, stderr.read_to_end(&mut err), child.wait())
        })
        .await?;
    let status = status.map_err(|e| MediaError::Tool(format!("waiting for ffmpeg: {e}")))?;
    if !status.success() {
        return Err(failed(rendition.name, &err));
    }
    // Decoding stopped at the cap: the file holds more audio than its header declares.
    let decoded_s = decoded as f64 / f64::from(ANALYSIS_SAMPLE_RATE);
    if decoded_s >= decode_cap_s(audio) - 0.5 {
        return Err(Refusal::Corrupt(format!(
            "The file holds more audio than its header declares ({:.0} s).",
            audio.duration_s
        ))
        .into());
    }
    let log = String::from_utf8_lossy(&err);
    let true_peak = loudness::parse_max_volume(&log).map(|v| v + TRUE_PEAK_HEADROOM_DB);
    let loudness = loudness::parse_summary_with_peak(&log, true_peak)
        .filter(|_| true_peak.is_some())
        .ok_or_else(|| MediaError::Tool("ffmpeg printed no loudness summary".into()))?;
    if peak < SILENCE_PEAK || loudness.integrated_lufs <= SILENCE_LUFS {
        return Err(Refusal::Silent("The track is silent.".into()).into());
    }
    let embedding =
        embedding.ok_or_else(|| Refusal::Corrupt("No audio could be decoded.".into()))?;
    done_us.store(u64::MAX / 2, Ordering::Relaxed);
    Ok((
        Encoded::written(rendition, output).await?,
        Analysis {
            loudness,
            embedding,
            waveform,
        },
    ))
}

/// Make every rendition of `input` in `dir` — the full ones, then the previews from
/// `preview_start` — and analyse it. All encoders run at once; the first failure (a silent
/// master, say) stops the others. Progress follows the full renditions (a preview is done long
/// before them).
pub async fn transcode(
    input: &Path,
    dir: &Path,
    audio: &AudioInfo,
    preview_start: Duration,
    progress: Arc<Progress>,
) -> Result<(Vec<Encoded>, Analysis), MediaError> {
    let path = |r: &Rendition| dir.join(format!("{}.{}", r.name, r.extension));
    let [first, second, analysed] = &RENDITIONS;
    let paths = [path(first), path(second), path(analysed)];
    let window = preview::window(audio.duration_s, preview_start);
    let (a, b, (c, analysis), previews) = tokio::try_join!(
        encode_one(input, &paths[0], audio, first, &progress.done_us[0]),
        encode_one(input, &paths[1], audio, second, &progress.done_us[1]),
        encode_analysed(input, &paths[2], audio, analysed, &progress.done_us[2]),
        preview::encode(input, dir, audio, window),
    )?;
    let mut encoded = vec![a, b, c];
    encoded.extend(previews);
    Ok((encoded, analysis))
}

/// A cover size listeners get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverSize {
    pub name: String,
    pub width_px: i32,
    pub mime: &'static str,
    pub extension: &'static str,
    pub path: PathBuf,
    pub size_bytes: u64,
}

pub const COVER_WIDTHS: [u32; 3] = [1200, 600, 300];

/// Centre-crop to exactly square and write 1200, 600 and 300 px JPEG and WebP, in one ffmpeg.
pub async fn cover_sizes(input: &Path, dir: &Path) -> Result<Vec<CoverSize>, MediaError> {
    let mut graph = format!(
        "[0:v:0]crop='min(iw,ih)':'min(iw,ih)',format=rgb24,split={}",
        COVER_WIDTHS.len() * 2
    );
    let mut outputs = Vec::new();
    for width in COVER_WIDTHS {
        for (format, mime, extension) in [
            ("jpeg", "image/jpeg", "jpg"),
            ("webp", "image/webp", "webp"),
        ] {
            graph.push_str(&format!("[s{width}{format}]"));
            outputs.push(CoverSize {
                name: format!("cover_{width}_{format}"),
                width_px: width as i32,
                mime,
                extension,
                path: dir.join(format!("cover_{width}.{extension}")),
                size_bytes: 0,
            });
        }
    }
    graph.push(';');
    for width in COVER_WIDTHS {
        for format in ["jpeg", "webp"] {
            let pix = if format == "jpeg" {
                "yuvj420p"
            } else {
                "yuv420p"
            };
            graph.push_str(&format!(
                "[s{width}{format}]scale={width}:{width}:flags=lanczos,format={pix}[o{width}{format}];"
            ));
        }
    }
    graph.pop();
    let mut command = tool("ffmpeg");
    command.args(["-nostdin", "-hide_banner", "-nostats", "-v", "error", "-y"]);
    // A picture cut short decodes to a grey remainder unless a decode error is fatal.
    command.args(["-err_detect", "explode"]);
    pinned_ffmpeg_input(&mut command, Input::Picture, input);
    command.args(["-filter_complex", &graph]);
    for out in &outputs {
        let format = if out.mime == "image/jpeg" {
            "jpeg"
        } else {
            "webp"
        };
        command.args([
            "-map",
            &format!("[o{}{format}]", out.width_px),
            "-frames:v",
            "1",
        ]);
        if format == "jpeg" {
            command.args(["-c:v", "mjpeg", "-q:v", "3", "-f", "image2"]);
        } else {
            command.args(["-c:v", "libwebp", "-quality", "82", "-f", "webp"]);
        }
        command.arg(&out.path);
    }
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| MediaError::Tool(format!("ffmpeg could not start: {e}")))?;
    if !output.status.success() {
        return Err(failed("cover", &output.stderr));
    }
    for out in &mut outputs {
        out.size_bytes = tokio::fs::metadata(&out.path)
            .await
            .map_err(|e| MediaError::Tool(format!("reading {}: {e}", out.path.display())))?
            .len();
    }
    Ok(outputs)
}
