//! The studio's catalogue: an artist's releases with ordered tracks, and the release lifecycle
//! draft → submitted → scheduled | published. Every query is scoped to the caller's artist id,
//! so another artist's rows are simply not found.

mod artist;
mod error;
mod lifecycle;
mod locks;
mod releases;
mod tracks;
mod types;

pub use artist::{artist_of, profile, update_profile};
pub use error::{Problem, StudioError};
pub use lifecycle::{MAX_SCHEDULE_DAYS, publish_release, submit_release, withdraw_release};
pub use locks::{lock_draft, lock_release};
pub use releases::{
    CoverRef, Release, ReleaseFields, ShareToken, create_release, delete_release, get_release,
    list_releases, release_titled, rotate_share_token, update_release,
};
pub use tracks::{
    MAX_TRACKS, MasterRef, Track, TrackFields, add_track, delete_track, list_tracks,
    reorder_tracks, update_track,
};
pub use types::{Access, Credits, Isrc, PreviewStart, ReleaseKind, ReleaseStatus, Title, Upc};
