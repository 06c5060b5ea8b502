//! Releases: create, list, read, edit, delete, submit and publish.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deadpool_postgres::{GenericClient, Pool};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{
    Access, ArtistId, Problem, ReleaseKind, ReleaseStatus, StudioError, Track, patch_field,
};
use crate::error::FieldErrors;

/// A release as its artist sees it.
#[derive(Debug, Serialize)]
pub struct Release {
    pub id: Uuid,
    pub artist_id: Uuid,
    pub title: String,
    pub kind: ReleaseKind,
    pub status: ReleaseStatus,
    pub access: Access,
    pub share_token: String,
    pub price_credits: Option<i32>,
    pub genre: Option<String>,
    pub release_date: Option<Date>,
    pub upc: Option<String>,
    pub explicit: bool,
    pub cover: Option<CoverRef>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub publish_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub track_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracks: Option<Vec<Track>>,
}

#[derive(Debug, Serialize)]
pub struct CoverRef {
    pub asset_id: Uuid,
    pub state: String,
}

/// A page of releases, newest first.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The editable fields of a release. On create, absent means default; on PATCH, absent means
/// unchanged and `null` clears.
#[derive(Debug, Default, Deserialize)]
pub struct ReleaseFields {
    pub title: Option<String>,
    pub kind: Option<ReleaseKind>,
    #[serde(default, deserialize_with = "patch_field")]
    pub genre: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    pub release_date: Option<Option<Date>>,
    #[serde(default, deserialize_with = "patch_field")]
    pub upc: Option<Option<String>>,
    pub explicit: Option<bool>,
    pub access: Option<Access>,
    #[serde(default, deserialize_with = "patch_field")]
    pub price_credits: Option<Option<i32>>,
}

/// A release's metadata after a create or an edit, checked as a whole.
struct Metadata {
    title: String,
    kind: ReleaseKind,
    genre: Option<String>,
    release_date: Option<Date>,
    upc: Option<String>,
    explicit: bool,
    access: Access,
    price_credits: Option<i32>,
}

impl Metadata {
    fn merge(base: Metadata, edit: ReleaseFields) -> Result<Metadata, StudioError> {
        let mut fields = FieldErrors::new();
        let title = edit.title.map_or(base.title, |t| t.trim().to_owned());
        if title.is_empty() || title.chars().count() > 200 {
            fields.insert("title", "must be 1–200 characters".into());
        }
        let genre = edit
            .genre
            .unwrap_or(base.genre)
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty());
        if genre.as_ref().is_some_and(|g| g.chars().count() > 50) {
            fields.insert("genre", "must be at most 50 characters".into());
        }
        let upc = edit.upc.unwrap_or(base.upc).map(|u| u.trim().to_owned());
        if upc.as_ref().is_some_and(|u| {
            !(12..=13).contains(&u.len()) || !u.bytes().all(|b| b.is_ascii_digit())
        }) {
            fields.insert("upc", "must be 12 or 13 digits".into());
        }
        let access = edit.access.unwrap_or(base.access);
        let price_credits = edit.price_credits.unwrap_or(base.price_credits);
        match (access, price_credits) {
            (Access::Paid, None) => {
                fields.insert("price_credits", "is required when access is paid".into());
            }
            (Access::Paid, Some(p)) if !(1..=100_000).contains(&p) => {
                fields.insert("price_credits", "must be 1–100000".into());
            }
            (Access::Paid, Some(_)) => {}
            (_, Some(_)) => {
                fields.insert("price_credits", "is only for paid releases".into());
            }
            (_, None) => {}
        }
        if !fields.is_empty() {
            return Err(StudioError::Invalid(fields));
        }
        Ok(Metadata {
            title,
            kind: edit.kind.unwrap_or(base.kind),
            genre,
            release_date: edit.release_date.unwrap_or(base.release_date),
            upc,
            explicit: edit.explicit.unwrap_or(base.explicit),
            access,
            price_credits,
        })
    }
}

const RELEASE_COLUMNS: &str = "\
    r.id, r.artist_id, r.title, r.kind, release_effective_status(r.status, r.publish_at) AS status,
    r.access, r.share_token, r.price_credits, r.genre, r.release_date, r.upc, r.explicit,
    r.cover_asset_id, c.state::text AS cover_state, r.publish_at, r.submitted_at,
    CASE WHEN release_effective_status(r.status, r.publish_at) = 'published'
         THEN coalesce(r.published_at, r.publish_at) END AS published_at,
    r.created_at, r.updated_at,
    (SELECT count(*) FROM tracks t WHERE t.release_id = r.id) AS track_count";

fn release_from_row(row: &tokio_postgres::Row) -> Release {
    Release {
        id: row.get("id"),
        artist_id: row.get("artist_id"),
        title: row.get("title"),
        kind: row.get("kind"),
        status: row.get("status"),
        access: row.get("access"),
        share_token: row.get("share_token"),
        price_credits: row.get("price_credits"),
        genre: row.get("genre"),
        release_date: row.get("release_date"),
        upc: row.get("upc"),
        explicit: row.get("explicit"),
        cover: row
            .get::<_, Option<Uuid>>("cover_asset_id")
            .map(|asset_id| CoverRef {
                asset_id,
                state: row
                    .get::<_, Option<String>>("cover_state")
                    .unwrap_or_default(),
            }),
        publish_at: row.get("publish_at"),
        submitted_at: row.get("submitted_at"),
        published_at: row.get("published_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        track_count: row.get("track_count"),
        tracks: None,
    }
}

fn share_token() -> String {
    let mut bytes = [0_u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tracing::instrument(skip_all)]
pub async fn create_release(
    db: &impl GenericClient,
    artist: ArtistId,
    fields: ReleaseFields,
) -> Result<Release, StudioError> {
    let mut problems = FieldErrors::new();
    if fields.title.is_none() {
        problems.insert("title", "is required".into());
    }
    if fields.kind.is_none() {
        problems.insert("kind", "is required".into());
    }
    if !problems.is_empty() {
        return Err(StudioError::Invalid(problems));
    }
    let base = Metadata {
        title: String::new(),
        kind: ReleaseKind::Album,
        genre: None,
        release_date: None,
        upc: None,
        explicit: false,
        access: Access::Public,
        price_credits: None,
    };
    let m = Metadata::merge(base, fields)?;
    let id = Uuid::now_v7();
    let statement = db
        .prepare_cached(
            "INSERT INTO releases (id, artist_id, title, kind, genre, release_date, upc, explicit,
                                   access, price_credits, share_token)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .await?;
    db.execute(
        &statement,
        &[
            &id,
            &artist.0,
            &m.title,
            &m.kind,
            &m.genre,
            &m.release_date,
            &m.upc,
            &m.explicit,
            &m.access,
            &m.price_credits,
            &share_token(),
        ],
    )
    .await?;
    get_release(db, artist, id).await
}

/// One of the artist's releases with its tracks.
pub async fn get_release(
    db: &impl GenericClient,
    artist: ArtistId,
    id: Uuid,
) -> Result<Release, StudioError> {
    let statement = db
        .prepare_cached(&format!(
            "SELECT {RELEASE_COLUMNS} FROM releases r LEFT JOIN assets c ON c.id = r.cover_asset_id
             WHERE r.id = $1 AND r.artist_id = $2"
        ))
        .await?;
    let row = db
        .query_opt(&statement, &[&id, &artist.0])
        .await?
        .ok_or(StudioError::NotFound)?;
    let mut release = release_from_row(&row);
    release.tracks = Some(super::tracks::list_tracks(db, id).await?);
    Ok(release)
}

/// The artist's releases, newest first, by opaque cursor.
pub async fn list_releases(
    db: &impl GenericClient,
    artist: ArtistId,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<Release>, StudioError> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(StudioError::field("limit", "must be 1–100"));
    }
    let after = cursor.map(decode_cursor).transpose()?;
    let (after_at, after_id) = after.unzip();
    let statement = db
        .prepare_cached(&format!(
            "SELECT {RELEASE_COLUMNS} FROM releases r LEFT JOIN assets c ON c.id = r.cover_asset_id
             WHERE r.artist_id = $1
               AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2, $3))
             ORDER BY r.created_at DESC, r.id DESC
             LIMIT $4"
        ))
        .await?;
    let rows = db
        .query(&statement, &[&artist.0, &after_at, &after_id, &(limit + 1)])
        .await?;
    let mut items: Vec<Release> = rows.iter().map(release_from_row).collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|r| crate::cursor::encode(r.created_at, r.id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

fn decode_cursor(cursor: &str) -> Result<(OffsetDateTime, Uuid), StudioError> {
    crate::cursor::decode(cursor)
        .ok_or_else(|| StudioError::field("cursor", "is not a cursor this API returned"))
}

/// Lock one of the artist's releases for a change; returns its stored (not effective) status.
pub async fn lock_release(
    db: &impl GenericClient,
    artist: ArtistId,
    id: Uuid,
) -> Result<tokio_postgres::Row, StudioError> {
    let statement = db
        .prepare_cached(
            "SELECT r.*, release_effective_status(r.status, r.publish_at) AS effective
             FROM releases r WHERE r.id = $1 AND r.artist_id = $2 FOR UPDATE",
        )
        .await?;
    db.query_opt(&statement, &[&id, &artist.0])
        .await?
        .ok_or(StudioError::NotFound)
}

/// Lock one of the artist's releases that must still be a draft; `otherwise` is the answer when
/// it is not.
pub async fn lock_draft(
    db: &impl GenericClient,
    artist: ArtistId,
    id: Uuid,
    otherwise: StudioError,
) -> Result<tokio_postgres::Row, StudioError> {
    let row = lock_release(db, artist, id).await?;
    if row.get::<_, ReleaseStatus>("status") == ReleaseStatus::Draft {
        Ok(row)
    } else {
        Err(otherwise)
    }
}

/// Edit a draft's metadata.
#[tracing::instrument(skip_all)]
pub async fn update_release(
    pool: &Pool,
    artist: ArtistId,
    id: Uuid,
    edit: ReleaseFields,
) -> Result<Release, StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = lock_draft(
        &tx,
        artist,
        id,
        StudioError::Conflict {
            code: "release_locked",
            message: "Only a draft release can be edited.",
        },
    )
    .await?;
    let base = Metadata {
        title: row.get("title"),
        kind: row.get("kind"),
        genre: row.get("genre"),
        release_date: row.get("release_date"),
        upc: row.get("upc"),
        explicit: row.get("explicit"),
        access: row.get("access"),
        price_credits: row.get("price_credits"),
    };
    let m = Metadata::merge(base, edit)?;
    let statement = tx
        .prepare_cached(
            "UPDATE releases SET title = $2, kind = $3, genre = $4, release_date = $5, upc = $6,
                    explicit = $7, access = $8, price_credits = $9
             WHERE id = $1",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &m.title,
            &m.kind,
            &m.genre,
            &m.release_date,
            &m.upc,
            &m.explicit,
            &m.access,
            &m.price_credits,
        ],
    )
    .await?;
    let release = get_release(&tx, artist, id).await?;
    tx.commit().await?;
    Ok(release)
}

/// Delete a draft (with its tracks and assets).
#[tracing::instrument(skip_all)]
pub async fn delete_release(pool: &Pool, artist: ArtistId, id: Uuid) -> Result<(), StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_draft(
        &tx,
        artist,
        id,
        StudioError::Conflict {
            code: "release_locked",
            message: "Only a draft release can be deleted.",
        },
    )
    .await?;
    tx.execute("DELETE FROM releases WHERE id = $1", &[&id])
        .await?;
    tx.commit().await?;
    Ok(())
}

const READINESS: &str = "\
    SELECT 'cover_missing' AS code, NULL::uuid AS track_id
      FROM releases r WHERE r.id = $1 AND r.cover_asset_id IS NULL
    UNION ALL
    SELECT 'cover_not_processed', NULL
      FROM releases r JOIN assets a ON a.id = r.cover_asset_id
      LEFT JOIN transcode_jobs j ON j.asset_id = a.id
     WHERE r.id = $1 AND j.status IS DISTINCT FROM 'ready'
    UNION ALL
    SELECT 'no_tracks', NULL WHERE NOT EXISTS (SELECT 1 FROM tracks WHERE release_id = $1)
    UNION ALL
    SELECT CASE WHEN t.master_asset_id IS NULL THEN 'track_master_missing'
                ELSE 'track_master_not_ready' END, t.id
      FROM tracks t
      LEFT JOIN transcode_jobs j ON j.asset_id = t.master_asset_id
     WHERE t.release_id = $1 AND j.status IS DISTINCT FROM 'ready'";

/// Check readiness and submit: every problem is reported at once.
#[tracing::instrument(skip_all)]
pub async fn submit_release(
    pool: &Pool,
    artist: ArtistId,
    id: Uuid,
) -> Result<Release, StudioError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_draft(
        &tx,
        artist,
        id,
        StudioError::Conflict {
            code: "already_submitted",
            message: "The release has already been submitted.",
        },
    )
    .await?;
    let mut problems: Vec<Problem> = tx
        .query(READINESS, &[&id])
        .await?
        .iter()
        .map(|r| Problem {
            code: problem_code(r.get("code")),
            track_id: r.get("track_id"),
        })
        .collect();
    if !problems.is_empty() {
        problems.sort_by_key(|p| (p.code, p.track_id));
        return Err(StudioError::NotReady(problems));
    }
    tx.execute(
        "UPDATE releases SET status = 'submitted', submitted_at = now() WHERE id = $1",
        &[&id],
    )
    .await?;
    let release = get_release(&tx, artist, id).await?;
    tx.commit().await?;
    Ok(release)
}

fn problem_code(code: &str) -> &'static str {
    match code {
        "cover_missing" => "cover_missing",
        "cover_not_processed" => "cover_not_processed",
        "no_tracks" => "no_tracks",
        "track_master_missing" => "track_master_missing",
        _ => "track_master_not_ready",
    }
}

/// Publish now, or schedule for `publish_at`; a scheduled release may be rescheduled.
#[tracing::instrument(skip_all)]
pub async fn publish_release(
    pool: &Pool,
    artist: ArtistId,
    id: Uuid,
    publish_at: Option<OffsetDateTime>,
) -> Result<Release, StudioError> {
    let now = OffsetDateTime::now_utc();
    if publish_at.is_some_and(|at| at > now + time::Duration::days(730)) {
        return Err(StudioError::field("publish_at", "must be within two years"));
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = lock_release(&tx, artist, id).await?;
    match row.get::<_, ReleaseStatus>("effective") {
        ReleaseStatus::Draft => {
            return Err(StudioError::Conflict {
                code: "not_submitted",
                message: "Submit the release before publishing it.",
            });
        }
        ReleaseStatus::Published => {
            return Err(StudioError::Conflict {
                code: "already_published",
                message: "The release is already published.",
            });
        }
        ReleaseStatus::Submitted | ReleaseStatus::Scheduled => {}
    }
    match publish_at.filter(|at| *at > now) {
        Some(at) => {
            tx.execute(
                "UPDATE releases SET status = 'scheduled', publish_at = $2, published_at = NULL
                 WHERE id = $1",
                &[&id, &at],
            )
            .await?
        }
        None => {
            tx.execute(
                "UPDATE releases SET status = 'published', publish_at = now(), published_at = now()
                 WHERE id = $1",
                &[&id],
            )
            .await?
        }
    };
    let release = get_release(&tx, artist, id).await?;
    tx.commit().await?;
    Ok(release)
}
