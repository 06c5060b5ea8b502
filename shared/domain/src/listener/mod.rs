//! What listeners see and do: home, album pages, streams, telemetry, saves and the library.
//! Who sees what is one rule, `release_reach()` in SQL (migrations/V4__listener.sql), used by
//! every query here; this area turns its answer into 404 / 403 `gated` / 200.

mod album;
mod error;
mod home;
mod library;
mod media;
mod stream;
mod telemetry;
mod telemetry_rules;
mod viewer;

pub use album::{Album, AlbumTrack, TrackLoudness, album};
pub use error::ListenerError;
pub use home::{HOME_CARDS, Home, ReleaseCard, home};
pub use library::{LibraryItem, LibraryRelease, LibraryTrack, library, save_track, unsave_track};
pub use media::{Cover, CoverFormats, Media};
pub use stream::{
    PEAK_CEILING_DBTP, Rendition, Stream, StreamLoudness, TARGET_LUFS, album_gain_db, stream,
};
pub use telemetry::{
    COUNTED_PLAY_MS, COUNTED_PLAYS_PER_DAY, IngestDetails, Ingested, Rejected, record_events,
    record_plays,
};
pub use telemetry_rules::{
    CLOCK_SKEW, EventInput, MAX_AGE, MAX_BATCH, MAX_PROPS_BYTES, PLAY_SLACK_MS, PlayInput,
    PlaySource, TrackFacts, check_event, check_play,
};
pub use viewer::{ArtistCard, Reach, Viewer};
