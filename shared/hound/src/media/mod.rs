//! Media work with ffmpeg and ffprobe (Debian's packages locally, static builds in the worker
//! image): probing uploads, encoding renditions, measuring loudness, drawing the waveform,
//! resizing covers, and the audio embedding computed in Rust from the decoded PCM.

pub mod embedding;
pub mod encode;
pub mod loudness;
pub mod probe;
pub mod waveform;

use std::ffi::OsStr;

use tokio::process::Command;

/// Why an upload is refused for good: retrying cannot help. The code is what the studio shows
/// on the job (`error.code`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    NotAudio(String),
    #[error("{0}")]
    TooLong(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Silent(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    NotImage(String),
    #[error("{0}")]
    CoverNotSquare(String),
    #[error("{0}")]
    CoverTooSmall(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAudio(_) => "not_audio",
            Refusal::TooLong(_) => "too_long",
            Refusal::Corrupt(_) => "corrupt",
            Refusal::Silent(_) => "silent",
            Refusal::Unsupported(_) => "unsupported_audio",
            Refusal::NotImage(_) => "not_image",
            Refusal::CoverNotSquare(_) => "cover_not_square",
            Refusal::CoverTooSmall(_) => "cover_too_small",
        }
    }
}

/// A media step failed: either the file is refused, or a tool failed in a way a retry may fix.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Tool(String),
}

/// `ffmpeg` / `ffprobe`, overridable with `FFMPEG` / `FFPROBE` (a path). The child dies with
/// its handle, so an aborted job never leaves encoders running.
pub(crate) fn tool(name: &str) -> Command {
    let var = name.to_ascii_uppercase();
    let program = std::env::var_os(&var).unwrap_or_else(|| OsStr::new(name).to_owned());
    let mut command = Command::new(program);
    command
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    command
}

/// The last lines of a tool's stderr, for error messages.
pub(crate) fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}
