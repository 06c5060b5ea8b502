//! Running ffmpeg and ffprobe: where they are, and what they said when they failed.

use std::ffi::OsStr;

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

/// The last lines of a tool's stderr, for error messages.
pub(crate) fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}
