//! The closed sets of a transcode job: its status, its steps' states and names, and the state
//! of each output (variant), mirrored by Postgres enums.

use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};

use crate::assets::AssetKind;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "job_status", rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Probing,
    Transcoding,
    Analysing,
    Uploading,
    Ready,
    Failed,
}

impl JobStatus {
    /// `ready` and `failed` are final: a redelivered message for such a job is a no-op.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Ready | JobStatus::Failed)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "step_state", rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "variant_status", rename_all = "snake_case")]
pub enum VariantStatus {
    Pending,
    Generating,
    Complete,
    Failed,
}

/// A processing step of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    Probe,
    Transcode,
    Analyse,
    Resize,
    Upload,
}

impl StepName {
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Probe => "probe",
            StepName::Transcode => "transcode",
            StepName::Analyse => "analyse",
            StepName::Resize => "resize",
            StepName::Upload => "upload",
        }
    }

    /// The steps a job of this kind goes through, in order.
    pub fn of(kind: AssetKind) -> &'static [StepName] {
        match kind {
            AssetKind::Master => &[
                StepName::Probe,
                StepName::Transcode,
                StepName::Analyse,
                StepName::Upload,
            ],
            AssetKind::Cover => &[StepName::Probe, StepName::Resize, StepName::Upload],
        }
    }
}
