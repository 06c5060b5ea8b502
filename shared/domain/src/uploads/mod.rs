//! Direct-to-S3 uploads: an intent makes a pending asset and a presigned PUT; `complete` checks
//! the stored object, creates the asset's transcode job and enqueues it exactly once.

mod complete;
mod intent;

pub use complete::{Completed, complete, complete_from_storage, enqueue};
pub use intent::{IntentResponse, MAX_COVER_BYTES, MAX_MASTER_BYTES, UploadIntent, create_intent};
