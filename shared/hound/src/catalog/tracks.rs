//! Tracks of a release: appended, edited, removed and reordered while the release is a draft.

use deadpool_postgres::{GenericClient, Pool};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ArtistId, StudioError, patch_field};
use crate::error::FieldErrors;

/// Most tracks one release may hold.
pub const MAX_TRACKS: i64 = 100;

#[derive(Debug, Serialize)]
pub struct Track {
    pub id: Uuid,
    pub release_id: Uuid,
    pub position: i32,
    pub title: String,
    pub isrc: Option<String>,
    pub explicit: bool,
    pub duration_ms: Option<i32>,
    pub master: Option<MasterRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
pub struct MasterRef {
    pub asset_id: Uuid,
    pub state: String,
    pub job_id: Option<Uuid>,
    pub job_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TrackFields {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    pub isrc: Option<Option<String>>,
    pub explicit: Option<bool>,
}

const TRACK_COLUMNS: &str = "\
    t.id, t.release_id, t.position, t.title, t.isrc, t.explicit, t.duration_ms,
    t.master_asset_id, a.state::text AS master_state, j.id AS job_id, j.status::text AS job_status,
    t.created_at, t.updated_at";

fn track_from_row(row: &tokio_postgres::Row) -> Track {
    Track {
        id: row.get("id"),
        release_id: row.get("release_id"),
        position: row.get("position"),
        title: row.get("title"),
        isrc: row.get("isrc"),
        explicit: row.get("explicit"),
        duration_ms: row.get("duration_ms"),
        master: row
            .get::<_, Option<Uuid>>("master_asset_id")
            .map(|asset_id| MasterRef {
                asset_id,
                state: row
                    .get::<_, Option<String>>("master_state")
                    .unwrap_or_default(),
                job_id: row.get("job_id"),
                job_status: row.get("job_status"),
            }),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

pub async fn list_tracks(
    db: &impl GenericClient,
    release_id: Uuid,
) -> Result<Vec<Track>, StudioError> {
    let statement = db
        .prepare_cached(&format!(
            "SELECT {TRACK_COLUMNS} FROM tracks t
             LEFT JOIN assets a ON a.id = t.master_asset_id
             LEFT JOIN transcode_jobs j ON j.asset_id = t.master_asset_id
             WHERE t.release_id = $1 ORDER BY t.position"
        ))
        .await?;
    Ok(db
        .query(&statement, &[&release_id])
        .await?
        .iter()
        .map(track_from_row)
        .collect())
}

async fn get_track(
    db: &impl GenericClient,
    release_id: Uuid,
    id: Uuid,
) -> Result<Track, StudioError> {
    let statement = db
        .prepare_cached(&format!(
            "SELECT {TRACK_COLUMNS} FROM tracks t
             LEFT JOIN assets a ON a.id = t.master_asset_id
             LEFT JOIN transcode_jobs j ON j.asset_id = t.master_asset_id
             WHERE t.release_id = $1 AND t.id = $2"
        ))
        .await?;
    db.query_opt(&statement, &[&release_id, &id])
        .await?
        .map(|row| track_from_row(&row))
        .ok_or(StudioError::NotFound)
}

/// ISRC: 12 characters, CC-XXX-YY-NNNNN; hyphens and spaces are dropped, letters upper-cased.
fn parse_isrc(raw: &str) -> Result<String, String> {
    let isrc: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    let b = isrc.as_bytes();
    let ok = b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..5].iter().all(u8::is_ascii_alphanumeric)
        && b[5..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(isrc)
    } else {
        Err("is not a valid ISRC (CC-XXX-YY-NNNNN)".into())
    }
}

fn parse_title(raw: &str, fields: &mut FieldErrors) -> String {
    let title = raw.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        fields.insert("title", "must be 1–200 characters".into());
    }
    title
}

/// Lock a draft release of the artist for a track change.
async fn lock_for_tracks(
    db: &impl GenericClient,
    artist: ArtistId,
    release_id: Uuid,
) -> Result<(), StudioError> {
    super::lock_draft(db, artist, release_id, StudioError::locked())
        .await
        .map(drop)
}

/// Append a track at the end of a draft release.
#[tracing::instrument(skip_all)]
pub async fn add_track(
    pool: &Pool,
    artist: ArtistId,
    release_id: Uuid,
    fields: TrackFields,
) -> Result<Track, StudioError> {
    let mut problems = FieldErrors::new();
    let title = match fields.title.as_deref() {
        Some(raw) => parse_title(raw, &mut problems),
        None => {
            problems.insert("title", "is required".into());
            String::new()
        }
    };
    let isrc = match fields.isrc.flatten() {
        Some(raw) => parse_isrc(&raw)
            .map_err(|e| problems.insert("isrc", e))
            .ok(),
        None => None,
    };
    if !problems.is_empty() {
        return Err(StudioError::Invalid(problems));
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // The release row lock serialises appends, so two at once get consecutive positions.
    lock_for_tracks(&tx, artist, release_id).await?;
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM tracks WHERE release_id = $1",
            &[&release_id],
        )
        .await?
        .get(0);
    if count >= MAX_TRACKS {
        return Err(StudioError::Conflict {
            code: "limit_reached",
            message: "A release holds at most 100 tracks.",
        });
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO tracks (id, release_id, position, title, isrc, explicit)
         VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM tracks WHERE release_id = $2),
                 $3, $4, $5)",
        &[
            &id,
            &release_id,
            &title,
            &isrc,
            &fields.explicit.unwrap_or(false),
        ],
    )
    .await?;
    let track = get_track(&tx, release_id, id).await?;
    tx.commit().await?;
    Ok(track)
}

#[tracing::instrument(skip_all)]
pub async fn update_track(
    pool: &Pool,
    artist: ArtistId,
    release_id: Uuid,
    id: Uuid,
    fields: TrackFields,
) -> Result<Track, StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_for_tracks(&tx, artist, release_id).await?;
    let current = get_track(&tx, release_id, id).await?;
    let mut problems = FieldErrors::new();
    let title = fields
        .title
        .as_deref()
        .map_or(current.title, |raw| parse_title(raw, &mut problems));
    let isrc = match fields.isrc {
        Some(Some(raw)) => parse_isrc(&raw)
            .map_err(|e| problems.insert("isrc", e))
            .ok(),
        Some(None) => None,
        None => current.isrc,
    };
    if !problems.is_empty() {
        return Err(StudioError::Invalid(problems));
    }
    tx.execute(
        "UPDATE tracks SET title = $2, isrc = $3, explicit = $4 WHERE id = $1",
        &[
            &id,
            &title,
            &isrc,
            &fields.explicit.unwrap_or(current.explicit),
        ],
    )
    .await?;
    let track = get_track(&tx, release_id, id).await?;
    tx.commit().await?;
    Ok(track)
}

/// Remove a track; the ones after it move up.
#[tracing::instrument(skip_all)]
pub async fn delete_track(
    pool: &Pool,
    artist: ArtistId,
    release_id: Uuid,
    id: Uuid,
) -> Result<(), StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_for_tracks(&tx, artist, release_id).await?;
    let position: i32 = tx
        .query_opt(
            "DELETE FROM tracks WHERE id = $1 AND release_id = $2 RETURNING position",
            &[&id, &release_id],
        )
        .await?
        .ok_or(StudioError::NotFound)?
        .get(0);
    tx.execute(
        "UPDATE tracks SET position = position - 1 WHERE release_id = $1 AND position > $2",
        &[&release_id, &position],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Put the tracks in the given order; `track_ids` must be a permutation of the release's tracks.
#[tracing::instrument(skip_all)]
pub async fn reorder_tracks(
    pool: &Pool,
    artist: ArtistId,
    release_id: Uuid,
    track_ids: &[Uuid],
) -> Result<(), StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_for_tracks(&tx, artist, release_id).await?;
    let mut current: Vec<Uuid> = tx
        .query(
            "SELECT id FROM tracks WHERE release_id = $1",
            &[&release_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut wanted = track_ids.to_vec();
    current.sort();
    wanted.sort();
    if current != wanted {
        return Err(StudioError::field(
            "track_ids",
            "must list every track of the release exactly once",
        ));
    }
    // Positions are unique per release but checked at commit, so one statement can permute them.
    tx.execute(
        "UPDATE tracks t SET position = o.ord
         FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, ord)
         WHERE t.id = o.id AND t.release_id = $1",
        &[&release_id, &track_ids],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_isrc;

    #[test]
    fn isrcs_are_normalised_and_checked() {
        assert_eq!(parse_isrc("us-s1z-99-00001").unwrap(), "USS1Z9900001");
        assert!(parse_isrc("USS1Z990000").is_err());
        assert!(parse_isrc("1SS1Z9900001").is_err());
        assert!(parse_isrc("USS1Z99000A1").is_err());
    }
}
