//! Running ffmpeg and ffprobe: where they are, and what they said when they failed.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use tokio::process::Command;

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

/// What an upload may be read as: only the containers API.md names, only from a local file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input {
    /// WAV, FLAC, AIFF, MP3, ALAC/AAC in MP4/M4A.
    Audio,
    /// JPEG or PNG.
    Picture,
}

impl Input {
    fn formats(self) -> &'static str {
        match self {
            Input::Audio => "wav,flac,aiff,mp3,mov",
            Input::Picture => "image2,png_pipe,jpeg_pipe",
        }
    }
}

/// Read `path` as `input` and nothing else: the `file` protocol only (a playlist or manifest
/// naming URLs cannot make ffmpeg connect anywhere), and only the allowed demuxers (a DASH, HLS
/// or concat manifest, or any other container, is refused at open).
/// For ffprobe, whose input is its last argument.
pub(crate) fn pinned_input(command: &mut Command, input: Input, path: &Path) {
    whitelist(command, input).arg(file_url(path));
}

/// For ffmpeg: the same options, then `-i` and the input.
pub(crate) fn pinned_ffmpeg_input(command: &mut Command, input: Input, path: &Path) {
    whitelist(command, input).arg("-i").arg(file_url(path));
}

fn whitelist(command: &mut Command, input: Input) -> &mut Command {
    command.args([
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        input.formats(),
    ])
}

/// `file:` + the path: never read as another protocol's URL, whatever the name.
fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path);
    url
}

/// The last lines of a tool's stderr, for error messages.
pub(crate) fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}
