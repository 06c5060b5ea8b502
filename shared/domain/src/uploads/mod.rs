//! Direct-to-S3 uploads: an intent makes a pending asset and a presigned PUT; `complete` checks
//! the stored object, creates the asset's transcode job and enqueues it exactly once; intents
//! never completed are given up by the janitors.

mod complete;
mod intent;
mod janitor;

pub use complete::{Completed, complete, complete_from_storage, enqueue};
pub use intent::{IntentResponse, MAX_COVER_BYTES, MAX_MASTER_BYTES, UploadIntent, create_intent};
pub use janitor::{ABANDON_AFTER_HOURS, abandon_stale_uploads};
