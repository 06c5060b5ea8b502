//! Media work with ffmpeg and ffprobe (Debian's packages locally, static builds in the worker
//! image): probing uploads, encoding renditions and previews, measuring loudness, drawing the
//! waveform, resizing covers, and the audio embedding computed in Rust from the decoded PCM.
//! Only the worker, the CLI and the benches link this crate.

pub mod embedding;
pub mod encode;
mod error;
pub mod loudness;
pub mod preview;
pub mod probe;
mod tool;
pub mod waveform;

pub use error::{MediaError, Refusal};
