//! Who is asking and how far they reach: the viewer (an account or nobody, and the share token
//! they presented), the answer of `release_reach()` in SQL, and the artist on a card.

use postgres_types::FromSql;
use serde::{Deserialize, Serialize};

use crate::ids::{ArtistId, UserId};

/// How far a caller reaches into a release (SQL `release_reach`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSql)]
#[postgres(name = "release_reach", rename_all = "snake_case")]
pub enum Reach {
    /// 404: not published (and not theirs), or unlisted without the token.
    Hidden,
    /// The album page shows; streams answer 403 `gated`.
    Page,
    /// Everything.
    Stream,
}

/// Who is asking: an account (or nobody) and the share token they presented, if any.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user_id: Option<UserId>,
    pub share_token: Option<String>,
}

impl Viewer {
    pub fn new(user_id: Option<UserId>, share_token: Option<String>) -> Self {
        Self {
            user_id,
            share_token: share_token.filter(|t| !t.is_empty()),
        }
    }
}

/// The artist on a card or an album page.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtistCard {
    pub id: ArtistId,
    pub name: String,
    pub slug: String,
}
