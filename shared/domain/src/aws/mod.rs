//! AWS through its SDK: S3 (`storage`), SQS (`queue`), SES (`mail`) and presigned GETs signed
//! directly (`presign`). In AWS the SDK finds region and credentials itself; locally `AWS_ENDPOINT_URL`
//! points every client at moto.

mod mail;
mod presign;
mod queue;
mod storage;
mod unavailable;

pub use mail::Mailer;
pub use queue::{Queue, lambda_sqs_event};
pub use storage::{ObjectInfo, PresignedUpload, Storage, URL_TTL};
pub use unavailable::Unavailable;

/// Shared SDK configuration, loaded once per cold start.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
