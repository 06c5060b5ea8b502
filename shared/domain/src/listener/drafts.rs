//! Drafts kept before signup: a client keeps draft playlists and mixes under a random token of
//! its own (stored only as its SHA-256), at most `MAX_DRAFTS` live ones per token, each for
//! `DRAFT_DAYS`; signup or login with the token claims them into the account, once, in the
//! same transaction (`claim_drafts()` in SQL, migration V15).

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::ListenerError;
use super::mixes::{MixFields, check};
use super::playlists::{MAX_PLAYLIST_TRACKS, playlist_name};
use crate::fields;
use crate::ids::TrackId;

pub const MAX_DRAFTS: i32 = 20;
pub const DRAFT_DAYS: i32 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    Playlist,
    Mix,
}

/// `{draft_token, kind, body}`: body is a playlist `{name, is_public?, track_ids?}` or a mix
/// `{name, is_public?, layers}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DraftFields {
    /// The client's own random token, 32–128 characters of `A–Z a–z 0–9 - _`.
    #[schema(min_length = 32, max_length = 128)]
    pub draft_token: String,
    pub kind: DraftKind,
    #[schema(value_type = Object)]
    pub body: Value,
}

#[derive(Debug, Deserialize, Serialize)]
struct PlaylistDraft {
    name: String,
    /// Checked here so that the claim can rely on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_public: Option<bool>,
    #[serde(default)]
    track_ids: Vec<TrackId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftSaved {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a signup or login claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DraftsClaimed {
    pub playlists: i32,
    pub mixes: i32,
}

/// The stored form of a client's token, after checking its shape.
pub fn draft_token_hash(token: &str) -> Result<Vec<u8>, fields::FieldErrors> {
    let ok = (32..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(fields::one(
            "draft_token",
            "must be 32–128 characters of A–Z, a–z, 0–9, - and _",
        ));
    }
    Ok(Sha256::digest(token.as_bytes()).to_vec())
}

/// Check a draft's body with the same rules as the playlist or mix it will become, and answer
/// the checked form to store (unknown keys dropped), so that the claim can rely on it.
fn check_body(kind: DraftKind, body: Value) -> Result<Value, ListenerError> {
    let invalid =
        |e: serde_json::Error| -> ListenerError { fields::one("body", e.to_string()).into() };
    let checked = match kind {
        DraftKind::Playlist => {
            let mut draft: PlaylistDraft = serde_json::from_value(body).map_err(invalid)?;
            draft.name = playlist_name(&draft.name)?;
            if draft.track_ids.len() > MAX_PLAYLIST_TRACKS as usize {
                return Err(fields::one(
                    "body",
                    format!("at most {MAX_PLAYLIST_TRACKS} track_ids"),
                )
                .into());
            }
            serde_json::to_value(draft).map_err(invalid)?
        }
        DraftKind::Mix => {
            let mix: MixFields = serde_json::from_value(body).map_err(invalid)?;
            check(&mix)?;
            serde_json::to_value(mix).map_err(invalid)?
        }
    };
    Ok(checked)
}

#[tracing::instrument(skip_all)]
pub async fn save_draft(
    db: &impl GenericClient,
    fields: DraftFields,
) -> Result<DraftSaved, ListenerError> {
    let hash = draft_token_hash(&fields.draft_token)?;
    let body = check_body(fields.kind, fields.body)?;
    let kind = match fields.kind {
        DraftKind::Playlist => "playlist",
        DraftKind::Mix => "mix",
    };
    let row = db
        .query_opt(
            "SELECT id, expires_at FROM save_draft($1, $2, $3) WHERE id IS NOT NULL",
            &[&hash, &kind, &body],
        )
        .await?
        .ok_or(ListenerError::Conflict {
            code: "limit_reached",
            message: "This draft token holds as many drafts as it may.",
        })?;
    Ok(DraftSaved {
        id: row.get("id"),
        expires_at: row.get("expires_at"),
    })
}

/// Claim every live draft of `token` into the transaction's account (`hound.user_id`, which
/// signup and login set; the SQL function takes no account from its caller). The limits in SQL
/// are `MAX_DRAFTS`, `DRAFT_DAYS`, `MAX_PLAYLISTS`, `MAX_PLAYLIST_TRACKS` and `MAX_LAYERS`.
#[tracing::instrument(skip(db, token))]
pub async fn claim_drafts(
    db: &impl GenericClient,
    token: &str,
) -> Result<DraftsClaimed, ListenerError> {
    let hash = draft_token_hash(token)?;
    let row = db
        .query_one(
            "SELECT claimed_playlists, claimed_mixes FROM claim_drafts($1)",
            &[&hash],
        )
        .await?;
    Ok(DraftsClaimed {
        playlists: row.get("claimed_playlists"),
        mixes: row.get("claimed_mixes"),
    })
}

/// Remove expired drafts, at most `limit` a run (the schedule, as the maintenance role).
pub async fn purge_drafts(db: &impl GenericClient, limit: i32) -> Result<i32, crate::db::DbError> {
    let row = db.query_one("SELECT purge_drafts($1)", &[&limit]).await?;
    Ok(row.get(0))
}
