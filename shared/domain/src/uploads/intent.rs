//! Upload intents: the client says what it is about to upload; a refused type or size never
//! gets a URL; an accepted one becomes a pending asset and a presigned PUT straight to S3.

use serde::{Deserialize, Serialize};

use crate::assets::AssetKind;
use crate::aws::{PresignedUpload, Storage};
use crate::catalog::{StudioError, lock_draft};
use crate::db::Tx;
use crate::fields::FieldErrors;
use crate::ids::{ArtistId, AssetId, ReleaseId, TrackId};

pub const MAX_MASTER_BYTES: i64 = 1024 * 1024 * 1024;
pub const MAX_COVER_BYTES: i64 = 20 * 1024 * 1024;

const MASTER_TYPES: &[&str] = &[
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "audio/flac",
    "audio/x-flac",
    "audio/aiff",
    "audio/x-aiff",
    "audio/mpeg",
    "audio/mp3",
    "audio/mp4",
    "audio/x-m4a",
    "audio/m4a",
];
const COVER_TYPES: &[&str] = &["image/jpeg", "image/png"];

const TRACK_OF_RELEASE: &str = "SELECT 1 FROM tracks WHERE id = $1 AND release_id = $2";

const INSERT_ASSET: &str = "\
    INSERT INTO assets (id, artist_id, release_id, track_id, kind, bucket, key, filename,
                        content_type, size_bytes)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// What the client says it is about to upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UploadIntent {
    /// The track a master is for (masters only).
    pub track_id: Option<TrackId>,
    #[schema(min_length = 1, max_length = 255)]
    pub filename: String,
    /// Masters: `audio/wav`, `audio/flac`, `audio/aiff`, `audio/mpeg`, `audio/mp4` and their
    /// aliases; covers: `image/jpeg`, `image/png`.
    pub content_type: String,
    /// Masters up to 1 GiB, covers up to 20 MB.
    #[schema(minimum = 1)]
    pub size_bytes: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntentResponse {
    pub asset_id: AssetId,
    pub upload: PresignedUpload,
}

/// Keep a filename safe as the last part of an S3 key.
fn sanitise_filename(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
        if out.len() >= 100 {
            break;
        }
    }
    let out = out.trim_matches(|c| c == '.' || c == '_').to_owned();
    if out.is_empty() {
        "upload".to_owned()
    } else {
        out
    }
}

/// The intent's content type (lower-cased), filename (trimmed) and, for a master, its track.
fn check_intent(
    kind: AssetKind,
    intent: &UploadIntent,
) -> Result<(String, String, Option<TrackId>), StudioError> {
    let mut fields = FieldErrors::new();
    let content_type = intent.content_type.trim().to_ascii_lowercase();
    let (types, max) = match kind {
        AssetKind::Master => (MASTER_TYPES, MAX_MASTER_BYTES),
        AssetKind::Cover => (COVER_TYPES, MAX_COVER_BYTES),
    };
    if !types.contains(&content_type.as_str()) {
        fields.insert(
            "content_type",
            format!("must be one of {}", types.join(", ")),
        );
    }
    if !(1..=max).contains(&intent.size_bytes) {
        fields.insert("size_bytes", format!("must be 1–{max} bytes"));
    }
    let filename = intent.filename.trim();
    if filename.is_empty() || filename.chars().count() > 255 {
        fields.insert("filename", "must be 1–255 characters".into());
    }
    if kind == AssetKind::Master && intent.track_id.is_none() {
        fields.insert("track_id", "is required".into());
    }
    if fields.is_empty() {
        let track_id = match kind {
            AssetKind::Master => intent.track_id,
            AssetKind::Cover => None,
        };
        Ok((content_type, filename.to_owned(), track_id))
    } else {
        Err(StudioError::Invalid(fields))
    }
}

/// Register an upload and hand out its presigned PUT. Refused types and sizes never get a URL.
#[tracing::instrument(skip_all, fields(kind = ?kind))]
pub async fn create_intent(
    tx: &Tx<'_>,
    storage: &Storage,
    artist: ArtistId,
    release_id: ReleaseId,
    kind: AssetKind,
    intent: UploadIntent,
) -> Result<IntentResponse, StudioError> {
    let (content_type, filename, track_id) = check_intent(kind, &intent)?;
    lock_draft(tx, artist, release_id, StudioError::locked()).await?;
    let track_id = match track_id {
        Some(id) => {
            let statement = tx.prepare_cached(TRACK_OF_RELEASE).await?;
            let exists = tx
                .query_opt(&statement, &[&id, &release_id])
                .await?
                .is_some();
            if !exists {
                return Err(StudioError::field(
                    "track_id",
                    "is not a track of this release",
                ));
            }
            Some(id)
        }
        None => None,
    };
    let asset_id = AssetId::generate();
    let bucket = match kind {
        AssetKind::Master => storage.masters_bucket.clone(),
        AssetKind::Cover => storage.covers_bucket.clone(),
    };
    let key = format!("{artist}/{asset_id}/{}", sanitise_filename(&filename));
    let insert = tx.prepare_cached(INSERT_ASSET).await?;
    tx.execute(
        &insert,
        &[
            &asset_id,
            &artist,
            &release_id,
            &track_id,
            &kind,
            &bucket,
            &key,
            &filename,
            &content_type,
            &intent.size_bytes,
        ],
    )
    .await?;
    let upload = storage
        .presign_put(&bucket, &key, &content_type, intent.size_bytes)
        .await?;
    Ok(IntentResponse { asset_id, upload })
}

#[cfg(test)]
mod tests {
    use super::sanitise_filename;

    #[test]
    fn filenames_become_safe_key_parts() {
        assert_eq!(
            sanitise_filename("My Song (final).wav"),
            "My_Song_final_.wav"
        );
        assert_eq!(sanitise_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_filename("C:\\music\\take 1.flac"), "take_1.flac");
        assert_eq!(sanitise_filename("…"), "upload");
        assert!(sanitise_filename(&"a".repeat(300)).len() <= 100);
    }
}
