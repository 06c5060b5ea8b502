//! What listeners see and do: home, album pages, streams, telemetry, saves and the library,
//! votes and suggestions.
//! Who sees what is one rule, `release_reach()` in SQL (migrations/V4__listener.sql), used by
//! every query here; this area turns its answer into 404 / 403 `gated` / 200.

mod album;
mod colisten;
mod drafts;
mod error;
mod home;
mod library;
mod media;
mod mixes;
mod playlists;
mod smart;
mod stream;
mod suggest;
mod taste;
mod telemetry;
mod telemetry_rules;
mod viewer;

pub use album::{Album, AlbumTrack, AlbumTracks, TrackLoudness, album};
pub use colisten::{
    CoListenRun, MIN_PAIR_LISTENERS, SESSION_GAP_SECS, SETTLE_SECS, refresh_co_listening,
};
pub use drafts::{
    DRAFT_DAYS, DraftFields, DraftKind, DraftSaved, DraftsClaimed, MAX_DRAFTS, claim_drafts,
    draft_token_hash, purge_drafts, save_draft,
};
pub use error::ListenerError;
pub use home::{HOME_CARDS, Home, ReleaseCard, home};
pub use library::{LibraryItem, LibraryRelease, LibraryTrack, library, save_track, unsave_track};
pub use media::{Cover, CoverFormats, Media};
pub use mixes::{
    Layer, LayerFields, MAX_DELAY_MS, MAX_LAYERS, Mix, MixFields, create_mix, delete_mix, get_mix,
    list_mixes, replace_mix,
};
pub use playlists::{
    MAX_PLAYLIST_TRACKS, MAX_PLAYLISTS, Playlist, PlaylistFields, PlaylistItem, PlaylistTrack,
    RESTORE_DAYS, add_to_playlist, create_playlist, delete_playlist, get_playlist, list_playlists,
    remove_from_playlist, reorder_playlist, restore_playlist, update_playlist,
};
pub use smart::{MAX_SMART_TRACKS, Match, Rule, Rules, SOUNDS_LIKE_MIN_SIMILARITY, compile};
pub use stream::{
    Gated, PEAK_CEILING_DBTP, Rendition, Stream, StreamLoudness, TARGET_LUFS, album_gain_db, stream,
};
pub use suggest::{
    CANDIDATES, COLLECTIVE_MIN_LISTENERS, Collective, PER_ARTIST, Reason, SUGGESTIONS,
    SuggestedRelease, SuggestedTrack, Suggestions, TASTE_WEIGHT, collective, for_you,
    rebuild_taste_index, suggested_after_album, suggested_after_track,
};
pub use taste::{
    ACTIVE_FOR_SECS, LEARNING_RATE, NORM_BOUND, TASTE_DIMS, TasteVector, heartbeat, held,
    preference, prune_listening_sessions, vote,
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
