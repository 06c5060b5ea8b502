//! Transcode jobs: the messages on the queue, the job's state machine (created by `complete`,
//! claimed and finished by the worker, failed by a refusal or the dead-letter queue, requeued by
//! a redrive), the studio's view of a job, and the dead-letter records.

pub mod dead_letter;
mod lifecycle;
mod message;
mod status;
mod view;

pub use lifecycle::{
    Claim, StepUpdate, StoredVariant, TrackAnalysis, Unclaimed, VariantSpec, claim, create,
    enqueued, fail, finish, hold, mark_enqueued, prepare_variants, progress, release, requeue,
    supersede, unmark_enqueued,
};
pub use message::{JobMessage, Work, parse_message, receive_count};
pub use status::{JobStatus, StepName, StepState, VariantStatus};
pub use view::{Job, JobError, Step, read, read_for_artist};
