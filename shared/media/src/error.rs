//! Why media work stops: a refused file (for good, with the code the studio shows) or a tool
//! failure a retry may fix.

/// Why an upload is refused for good: retrying cannot help. The code is what the studio shows
/// on the job (`error.code`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    NotAudio(String),
    #[error("{0}")]
    TooLong(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Silent(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    NotImage(String),
    #[error("{0}")]
    CoverNotSquare(String),
    #[error("{0}")]
    CoverTooSmall(String),
    #[error("{0}")]
    CoverTooLarge(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAudio(_) => "not_audio",
            Refusal::TooLong(_) => "too_long",
            Refusal::Corrupt(_) => "corrupt",
            Refusal::Silent(_) => "silent",
            Refusal::Unsupported(_) => "unsupported_audio",
            Refusal::NotImage(_) => "not_image",
            Refusal::CoverNotSquare(_) => "cover_not_square",
            Refusal::CoverTooSmall(_) => "cover_too_small",
            Refusal::CoverTooLarge(_) => "cover_too_large",
        }
    }
}

/// A media step failed: either the file is refused, or a tool failed in a way a retry may fix.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Tool(String),
}
