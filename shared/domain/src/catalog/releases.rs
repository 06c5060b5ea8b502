//! Releases as their artist sees them: create, list, read, edit and delete (drafts only).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deadpool_postgres::GenericClient;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::error::StudioError;
use super::locks::lock_draft;
use super::tracks::{Track, list_tracks};
use super::types::{Access, Credits, ReleaseKind, ReleaseStatus, Title, Upc};
use crate::assets::AssetState;
use crate::fields::{FieldErrors, patch};
use crate::ids::{ArtistId, AssetId, ReleaseId};
use crate::paging::{Page, PageRequest};

/// A release as its artist sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Release {
    pub id: ReleaseId,
    pub artist_id: ArtistId,
    pub title: Title,
    pub kind: ReleaseKind,
    pub status: ReleaseStatus,
    pub access: Access,
    pub share_token: String,
    pub price_credits: Option<Credits>,
    pub genre: Option<String>,
    pub release_date: Option<Date>,
    pub upc: Option<Upc>,
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoverRef {
    pub asset_id: AssetId,
    pub state: Option<AssetState>,
}

/// The editable fields of a release. On create, absent means default; on PATCH, absent means
/// unchanged and `null` clears.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ReleaseFields {
    /// 1–200 characters once trimmed; required on create.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// Required on create.
    pub kind: Option<ReleaseKind>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(max_length = 50)]
    pub genre: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    pub release_date: Option<Option<Date>>,
    /// 12 or 13 digits (UPC-A or EAN-13).
    #[serde(default, deserialize_with = "patch")]
    #[schema(pattern = r"^\s*[0-9]{12,13}\s*$")]
    pub upc: Option<Option<String>>,
    pub explicit: Option<bool>,
    pub access: Option<Access>,
    /// Required for, and only for, `access: paid`.
    #[serde(default, deserialize_with = "patch")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub price_credits: Option<Option<i32>>,
}

/// A release's metadata after a create or an edit, checked as a whole.
struct Metadata {
    title: Title,
    kind: ReleaseKind,
    genre: Option<String>,
    release_date: Option<Date>,
    upc: Option<Upc>,
    explicit: bool,
    access: Access,
    price_credits: Option<Credits>,
}

impl Metadata {
    /// Apply `edit` to `base` (`None`: a new release, where title and kind are required).
    fn merge(base: Option<Metadata>, edit: ReleaseFields) -> Result<Metadata, StudioError> {
        let mut fields = FieldErrors::new();
        let title = match (edit.title, &base) {
            (Some(raw), _) => Title::parse(&raw)
                .map_err(|e| fields.insert("title", e))
                .ok(),
            (None, Some(base)) => Some(base.title.clone()),
            (None, None) => {
                fields.insert("title", "is required".into());
                None
            }
        };
        let kind = edit.kind.or(base.as_ref().map(|b| b.kind));
        if kind.is_none() {
            fields.insert("kind", "is required".into());
        }
        let base_genre = base.as_ref().and_then(|b| b.genre.clone());
        let genre = edit
            .genre
            .unwrap_or(base_genre)
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty());
        if genre.as_ref().is_some_and(|g| g.chars().count() > 50) {
            fields.insert("genre", "must be at most 50 characters".into());
        }
        let upc = match edit.upc {
            Some(Some(raw)) => Upc::parse(&raw).map_err(|e| fields.insert("upc", e)).ok(),
            Some(None) => None,
            None => base.as_ref().and_then(|b| b.upc.clone()),
        };
        let access = edit
            .access
            .or(base.as_ref().map(|b| b.access))
            .unwrap_or_default();
        let price = match edit.price_credits {
            Some(edited) => edited,
            None => base
                .as_ref()
                .and_then(|b| b.price_credits)
                .map(Credits::amount),
        };
        let price_credits = match (access, price) {
            (Access::Paid, None) => {
                fields.insert("price_credits", "is required when access is paid".into());
                None
            }
            (Access::Paid, Some(p)) => Credits::price(p)
                .map_err(|e| fields.insert("price_credits", e))
                .ok(),
            (_, Some(_)) => {
                fields.insert("price_credits", "is only for paid releases".into());
                None
            }
            (_, None) => None,
        };
        let (Some(title), Some(kind), true) = (title, kind, fields.is_empty()) else {
            return Err(StudioError::Invalid(fields));
        };
        Ok(Metadata {
            title,
            kind,
            genre,
            release_date: edit
                .release_date
                .unwrap_or(base.as_ref().and_then(|b| b.release_date)),
            upc,
            explicit: edit
                .explicit
                .or(base.as_ref().map(|b| b.explicit))
                .unwrap_or(false),
            access,
            price_credits,
        })
    }
}

/// The columns of the studio's release view (`r`: the release, `c`: its cover asset).
macro_rules! release_select {
    () => {
        "SELECT r.id, r.artist_id, r.title, r.kind,
                release_effective_status(r.status, r.publish_at) AS status, r.access,
                r.share_token, r.price_credits, r.genre, r.release_date, r.upc, r.explicit,
                r.cover_asset_id, c.state AS cover_state, r.publish_at, r.submitted_at,
                CASE WHEN release_effective_status(r.status, r.publish_at) = 'published'
                     THEN coalesce(r.published_at, r.publish_at) END AS published_at,
                r.created_at, r.updated_at,
                (SELECT count(*) FROM tracks t WHERE t.release_id = r.id) AS track_count
           FROM releases r LEFT JOIN assets c ON c.id = r.cover_asset_id"
    };
}

const SELECT_RELEASE: &str = concat!(release_select!(), " WHERE r.id = $1 AND r.artist_id = $2");

const LIST_RELEASES: &str = concat!(
    release_select!(),
    " WHERE r.artist_id = $1
        AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2, $3))
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT $4"
);

const INSERT_RELEASE: &str = "\
    INSERT INTO releases (id, artist_id, title, kind, genre, release_date, upc, explicit, access,
                          price_credits, share_token)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const UPDATE_RELEASE: &str = "\
    UPDATE releases SET title = $2, kind = $3, genre = $4, release_date = $5, upc = $6,
           explicit = $7, access = $8, price_credits = $9
     WHERE id = $1";

const DELETE_RELEASE: &str = "DELETE FROM releases WHERE id = $1";

const RELEASE_BY_TITLE: &str =
    "SELECT id FROM releases WHERE artist_id = $1 AND title = $2 ORDER BY created_at LIMIT 1";

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
            .get::<_, Option<AssetId>>("cover_asset_id")
            .map(|asset_id| CoverRef {
                asset_id,
                state: row.get("cover_state"),
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
    let m = Metadata::merge(None, fields)?;
    let id = ReleaseId::generate();
    let statement = db.prepare_cached(INSERT_RELEASE).await?;
    db.execute(
        &statement,
        &[
            &id,
            &artist,
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
    id: ReleaseId,
) -> Result<Release, StudioError> {
    let statement = db.prepare_cached(SELECT_RELEASE).await?;
    let row = db
        .query_opt(&statement, &[&id, &artist])
        .await?
        .ok_or(StudioError::NotFound)?;
    let mut release = release_from_row(&row);
    release.tracks = Some(list_tracks(db, id).await?);
    Ok(release)
}

/// The artist's first release with exactly this title, if any (the demo seed's idempotence).
pub async fn release_titled(
    db: &impl GenericClient,
    artist: ArtistId,
    title: &str,
) -> Result<Option<ReleaseId>, StudioError> {
    let statement = db.prepare_cached(RELEASE_BY_TITLE).await?;
    Ok(db
        .query_opt(&statement, &[&artist, &title])
        .await?
        .map(|row| row.get(0)))
}

/// The artist's releases, newest first, by opaque cursor (`limit` 1–100, default 20).
pub async fn list_releases(
    db: &impl GenericClient,
    artist: ArtistId,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<Release>, StudioError> {
    let request = PageRequest::parse(cursor, limit, 20)?;
    let statement = db.prepare_cached(LIST_RELEASES).await?;
    let rows = db
        .query(
            &statement,
            &[
                &artist,
                &request.after_at(),
                &request.after_id(),
                &request.fetch(),
            ],
        )
        .await?;
    let items = rows.iter().map(release_from_row).collect();
    Ok(request.page(items, |r| (r.created_at, *r.id.as_uuid())))
}

/// Edit a draft's metadata.
#[tracing::instrument(skip_all)]
pub async fn update_release(
    tx: &crate::db::Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
    edit: ReleaseFields,
) -> Result<Release, StudioError> {
    let row = lock_draft(
        tx,
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
    let m = Metadata::merge(Some(base), edit)?;
    let statement = tx.prepare_cached(UPDATE_RELEASE).await?;
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
    get_release(tx, artist, id).await
}

/// Delete a draft (with its tracks and assets).
#[tracing::instrument(skip_all)]
pub async fn delete_release(
    tx: &crate::db::Tx<'_>,
    artist: ArtistId,
    id: ReleaseId,
) -> Result<(), StudioError> {
    lock_draft(
        tx,
        artist,
        id,
        StudioError::Conflict {
            code: "release_locked",
            message: "Only a draft release can be deleted.",
        },
    )
    .await?;
    let statement = tx.prepare_cached(DELETE_RELEASE).await?;
    tx.execute(&statement, &[&id]).await?;
    Ok(())
}

const ROTATE_SHARE_TOKEN: &str = "\
    UPDATE releases SET share_token = $3
     WHERE id = $1 AND artist_id = $2
    RETURNING share_token";

/// The new share token of a rotated release.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShareToken {
    pub share_token: String,
}

/// Give the artist's release a new share token: links carrying the old one stop opening it
/// (release_reach compares the presented token with the stored one, so nothing else holds it).
#[tracing::instrument(skip_all)]
pub async fn rotate_share_token(
    db: &impl GenericClient,
    artist: ArtistId,
    id: ReleaseId,
) -> Result<ShareToken, StudioError> {
    let statement = db.prepare_cached(ROTATE_SHARE_TOKEN).await?;
    let row = db
        .query_opt(&statement, &[&id, &artist, &share_token()])
        .await?
        .ok_or(StudioError::NotFound)?;
    Ok(ShareToken {
        share_token: row.get("share_token"),
    })
}
