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
use super::mixes::{MAX_LAYERS, MixFields};
use super::playlists::{MAX_PLAYLIST_TRACKS, MAX_PLAYLISTS};
use crate::fields;
use crate::ids::{TrackId, UserId};

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

#[derive(Debug, Deserialize)]
struct PlaylistDraft {
    name: String,
    /// Checked here so that the claim can rely on it.
    #[serde(default)]
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

fn check_body(kind: DraftKind, body: &Value) -> Result<(), ListenerError> {
    let problem = match kind {
        DraftKind::Playlist => match serde_json::from_value::<PlaylistDraft>(body.clone()) {
            Ok(d) => {
                let _public: Option<bool> = d.is_public;
                let name = d.name.trim();
                if name.is_empty() || name.chars().count() > 100 {
                    Some("name must be 1–100 characters".to_owned())
                } else if d.track_ids.len() > MAX_PLAYLIST_TRACKS as usize {
                    Some(format!("at most {MAX_PLAYLIST_TRACKS} track_ids"))
                } else {
                    None
                }
            }
            Err(e) => Some(e.to_string()),
        },
        DraftKind::Mix => match serde_json::from_value::<MixFields>(body.clone()) {
            Ok(m) if m.layers.is_empty() || m.layers.len() > MAX_LAYERS => {
                Some(format!("a mix holds 1–{MAX_LAYERS} layers"))
            }
            Ok(m) if m.name.trim().is_empty() || m.name.chars().count() > 100 => {
                Some("name must be 1–100 characters".to_owned())
            }
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        },
    };
    match problem {
        Some(problem) => Err(fields::one("body", problem).into()),
        None => Ok(()),
    }
}

#[tracing::instrument(skip_all)]
pub async fn save_draft(
    db: &impl GenericClient,
    fields: DraftFields,
) -> Result<DraftSaved, ListenerError> {
    let hash = draft_token_hash(&fields.draft_token)?;
    check_body(fields.kind, &fields.body)?;
    let kind = match fields.kind {
        DraftKind::Playlist => "playlist",
        DraftKind::Mix => "mix",
    };
    let row = db
        .query_opt(
            "SELECT id, expires_at FROM save_draft($1, $2, $3, $4, make_interval(days => $5))
              WHERE id IS NOT NULL",
            &[&hash, &kind, &fields.body, &MAX_DRAFTS, &DRAFT_DAYS],
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

/// Claim every live draft of `token` into `account`, in the caller's transaction.
#[tracing::instrument(skip(db, token))]
pub async fn claim_drafts(
    db: &impl GenericClient,
    account: UserId,
    token: &str,
) -> Result<DraftsClaimed, ListenerError> {
    let hash = draft_token_hash(token)?;
    let row = db
        .query_one(
            "SELECT claimed_playlists, claimed_mixes FROM claim_drafts($1, $2, $3, $4, $5)",
            &[
                &hash,
                &account,
                &MAX_PLAYLISTS,
                &MAX_PLAYLIST_TRACKS,
                &(MAX_LAYERS as i32),
            ],
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
