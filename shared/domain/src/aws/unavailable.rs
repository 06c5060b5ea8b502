//! The one failure every AWS call shares: the service (or the scratch disk) could not do it now,
//! and the request may be retried.

/// A dependency (S3 or SQS) failed or could not be reached: the request may be retried.
#[derive(Debug, thiserror::Error)]
#[error("{service} unavailable: {message}")]
pub struct Unavailable {
    pub service: &'static str,
    pub message: String,
}

/// Flatten an SDK error and its causes into one line.
pub(crate) fn unavailable(service: &'static str, err: impl std::error::Error) -> Unavailable {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Unavailable { service, message }
}
