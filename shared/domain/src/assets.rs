//! Uploaded files (`assets`): a master of a track or the cover of a release, their closed sets
//! of kinds and states, and the asset as the studio shows it. Uploads create them; jobs process
//! them.

use deadpool_postgres::GenericClient;
use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};

use crate::db::DbError;
use crate::ids::{AssetId, ReleaseId, TrackId};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "asset_kind", rename_all = "snake_case")]
pub enum AssetKind {
    Master,
    Cover,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "asset_state", rename_all = "snake_case")]
pub enum AssetState {
    PendingUpload,
    Uploaded,
    Ready,
    Failed,
    Superseded,
    /// An upload intent never completed: given up by the janitors, its object deleted.
    Abandoned,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Asset {
    pub id: AssetId,
    pub kind: AssetKind,
    pub state: AssetState,
    pub release_id: ReleaseId,
    pub track_id: Option<TrackId>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

const SELECT_ASSET: &str = "\
    SELECT id, kind, state, release_id, track_id, filename, content_type, size_bytes
      FROM assets WHERE id = $1";

const SELECT_LOCATION: &str = "SELECT bucket, key FROM assets WHERE id = $1";

/// Where an asset's object is stored: `(bucket, key)`.
pub async fn location(
    db: &impl GenericClient,
    id: AssetId,
) -> Result<Option<(String, String)>, DbError> {
    let statement = db.prepare_cached(SELECT_LOCATION).await?;
    Ok(db
        .query_opt(&statement, &[&id])
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

/// An asset by id (`None` when there is none).
pub async fn read(db: &impl GenericClient, id: AssetId) -> Result<Option<Asset>, DbError> {
    let statement = db.prepare_cached(SELECT_ASSET).await?;
    Ok(db.query_opt(&statement, &[&id]).await?.map(|row| Asset {
        id: row.get("id"),
        kind: row.get("kind"),
        state: row.get("state"),
        release_id: row.get("release_id"),
        track_id: row.get("track_id"),
        filename: row.get("filename"),
        content_type: row.get("content_type"),
        size_bytes: row.get("size_bytes"),
    }))
}
