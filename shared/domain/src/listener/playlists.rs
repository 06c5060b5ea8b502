//! Playlists: a listener's ordered lists of tracks, public or private, soft-deleted and
//! restorable for `RESTORE_DAYS`. Limits hold under concurrency: every create, delete and
//! restore locks the owner's quota row, and every change to a playlist's items locks the
//! playlist's row, so two requests that each see room for one more cannot both take it.

use deadpool_postgres::GenericClient;
use postgres_types::{Json, ToSql};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::error::ListenerError;
use super::home::ReleaseCard;
use super::media::{Media, cover_variants_sql};
use super::smart::{Rules, compile};
use super::suggest::{card_columns_sql, release_card};
use crate::db::violated_constraint;
use crate::fields::{self, FieldErrors};
use crate::ids::{PlaylistId, TrackId, UserId};
use crate::paging::{Page, PageRequest};

/// Live playlists a `free` listener may keep; a plan may raise it (`crate::plans`, the one
/// place limits live).
pub const MAX_PLAYLISTS: i32 = crate::plans::FREE_MAX_PLAYLISTS;
/// Tracks a playlist may hold.
pub const MAX_PLAYLIST_TRACKS: i32 = 100;
/// How long a deleted playlist can be restored.
pub const RESTORE_DAYS: i64 = 30;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Playlist {
    pub id: PlaylistId,
    pub name: String,
    pub is_public: bool,
    /// The caller owns it.
    pub mine: bool,
    pub track_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Set while deleted (only its owner sees it then, until `RESTORE_DAYS` have passed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// A smart playlist's rules: its items are the tracks they select, at each read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Rules>,
    /// In order; with a single playlist's read only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<PlaylistItem>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlaylistItem {
    pub position: i32,
    pub track_id: TrackId,
    /// When it was added (not for a smart playlist's items).
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub added_at: Option<OffsetDateTime>,
    /// False when the track is no longer reachable: its owner still sees the entry, with
    /// nothing more about the track.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<PlaylistTrack>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseCard>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlaylistTrack {
    pub title: String,
    pub duration_ms: Option<i32>,
    pub explicit: bool,
}

/// A create (name required) or an edit (absent fields stay).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PlaylistFields {
    /// 1–100 characters once trimmed; unique among the owner's live playlists, ignoring case.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub is_public: Option<bool>,
    /// Makes it a smart playlist (on create), or replaces a smart playlist's rules.
    pub rules: Option<Rules>,
}

pub(super) fn playlist_name(raw: &str) -> Result<String, FieldErrors> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(fields::one(
            "name",
            "must be 1–100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn conflict(code: &'static str, message: &'static str) -> ListenerError {
    ListenerError::Conflict { code, message }
}

/// A name taken by another live playlist of the owner becomes 409; other errors pass.
fn name_taken(err: tokio_postgres::Error) -> ListenerError {
    if violated_constraint(&err) == Some("playlists_live_name_key") {
        conflict("name_taken", "You already have a playlist with this name.")
    } else {
        err.into()
    }
}

const COLUMNS: &str = "p.id, p.name, p.is_public, p.item_count, p.created_at, p.updated_at,
                       p.deleted_at, p.owner_id, p.rules";

fn playlist(row: &Row, viewer: Option<UserId>) -> Playlist {
    let owner: uuid::Uuid = row.get("owner_id");
    Playlist {
        id: row.get("id"),
        name: row.get("name"),
        is_public: row.get("is_public"),
        mine: viewer.is_some_and(|v| *v.as_uuid() == owner),
        track_count: row.get("item_count"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        deleted_at: row.get("deleted_at"),
        rules: row
            .get::<_, Option<Json<Rules>>>("rules")
            .map(|Json(rules)| rules),
        items: None,
    }
}

/// Lock the owner's count of live playlists (creating it at zero), answering it.
async fn lock_quota(db: &impl GenericClient, owner: UserId) -> Result<i32, ListenerError> {
    db.execute(
        "INSERT INTO playlist_quotas (owner_id) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&owner],
    )
    .await?;
    let row = db
        .query_one(
            "SELECT live FROM playlist_quotas WHERE owner_id = $1 FOR UPDATE",
            &[&owner],
        )
        .await?;
    Ok(row.get("live"))
}

async fn max_playlists(db: &impl GenericClient, owner: UserId) -> Result<i32, ListenerError> {
    Ok(crate::plans::plan_of(db, owner).await?.max_playlists())
}

async fn add_to_quota(
    db: &impl GenericClient,
    owner: UserId,
    by: i32,
) -> Result<(), ListenerError> {
    db.execute(
        "UPDATE playlist_quotas SET live = live + $2 WHERE owner_id = $1",
        &[&owner, &by],
    )
    .await?;
    Ok(())
}

#[tracing::instrument(skip(db, fields))]
pub async fn create_playlist(
    db: &impl GenericClient,
    owner: UserId,
    fields: PlaylistFields,
) -> Result<Playlist, ListenerError> {
    let name = playlist_name(
        fields
            .name
            .as_deref()
            .ok_or_else(|| fields::one("name", "is required"))?,
    )?;
    if let Some(rules) = &fields.rules {
        compile(rules)?;
    }
    if lock_quota(db, owner).await? >= max_playlists(db, owner).await? {
        return Err(conflict(
            "limit_reached",
            "You have as many playlists as your plan allows.",
        ));
    }
    let row = db
        .query_one(
            &format!(
                "INSERT INTO playlists AS p (id, owner_id, name, is_public, rules)
                 VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
            ),
            &[
                &PlaylistId::generate(),
                &owner,
                &name,
                &fields.is_public.unwrap_or(false),
                &fields.rules.as_ref().map(Json),
            ],
        )
        .await
        .map_err(name_taken)?;
    add_to_quota(db, owner, 1).await?;
    Ok(playlist(&row, Some(owner)))
}

/// The owner's live playlists, newest first.
pub async fn list_playlists(
    db: &impl GenericClient,
    owner: UserId,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<Playlist>, ListenerError> {
    let request = PageRequest::parse(cursor, limit, 50)?;
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM playlists p
                  WHERE p.owner_id = $1 AND p.deleted_at IS NULL
                    AND ($2::timestamptz IS NULL OR (p.created_at, p.id) < ($2, $3))
                  ORDER BY p.created_at DESC, p.id DESC LIMIT $4"
            ),
            &[
                &owner,
                &request.after_at(),
                &request.after_id(),
                &request.fetch(),
            ],
        )
        .await?;
    let items: Vec<Playlist> = rows.iter().map(|r| playlist(r, Some(owner))).collect();
    Ok(request.page(items, |p| (p.created_at, *p.id.as_uuid())))
}

/// One of the owner's plain playlists, locked for a change to its items (a smart playlist's are
/// its rules': 409).
async fn own_plain_locked(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
) -> Result<Row, ListenerError> {
    let row = own_locked(db, owner, id, false).await?;
    if row.get::<_, Option<Json<Rules>>>("rules").is_some() {
        return Err(conflict(
            "smart_playlist",
            "A smart playlist's tracks follow its rules; change the rules instead.",
        ));
    }
    Ok(row)
}

/// One of the owner's playlists, locked for a change. Deleted ones only when `deleted`.
async fn own_locked(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
    deleted: bool,
) -> Result<Row, ListenerError> {
    db.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM playlists p
              WHERE p.id = $1 AND p.owner_id = $2 AND (p.deleted_at IS NOT NULL) = $3
              FOR UPDATE"
        ),
        &[&id, &owner, &deleted],
    )
    .await?
    .ok_or(ListenerError::NotFound)
}

#[tracing::instrument(skip(db, fields))]
pub async fn update_playlist(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
    fields: PlaylistFields,
) -> Result<Playlist, ListenerError> {
    let name = fields.name.as_deref().map(playlist_name).transpose()?;
    if let Some(rules) = &fields.rules {
        compile(rules)?;
    }
    let row = own_locked(db, owner, id, false).await?;
    if fields.rules.is_some() && row.get::<_, Option<Json<Rules>>>("rules").is_none() {
        return Err(conflict(
            "not_a_smart_playlist",
            "Only a smart playlist has rules; create one with them.",
        ));
    }
    let row = db
        .query_one(
            &format!(
                "UPDATE playlists p SET name = coalesce($2, name),
                        is_public = coalesce($3, is_public), rules = coalesce($4, rules),
                        updated_at = now()
                  WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[
                &id,
                &name,
                &fields.is_public,
                &fields.rules.as_ref().map(Json),
            ],
        )
        .await
        .map_err(name_taken)?;
    Ok(playlist(&row, Some(owner)))
}

/// Soft delete: the playlist and its items disappear for everyone, the owner may restore it.
#[tracing::instrument(skip(db))]
pub async fn delete_playlist(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
) -> Result<(), ListenerError> {
    lock_quota(db, owner).await?;
    own_locked(db, owner, id, false).await?;
    db.execute(
        "UPDATE playlists SET deleted_at = now(), updated_at = now() WHERE id = $1",
        &[&id],
    )
    .await?;
    add_to_quota(db, owner, -1).await
}

/// Bring back a playlist deleted less than `RESTORE_DAYS` ago, within the limits.
#[tracing::instrument(skip(db))]
pub async fn restore_playlist(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
) -> Result<Playlist, ListenerError> {
    let live = lock_quota(db, owner).await?;
    let row = own_locked(db, owner, id, true).await?;
    let deleted_at: OffsetDateTime = row.get("deleted_at");
    if OffsetDateTime::now_utc() - deleted_at > time::Duration::days(RESTORE_DAYS) {
        return Err(ListenerError::NotFound);
    }
    if live >= max_playlists(db, owner).await? {
        return Err(conflict(
            "limit_reached",
            "You have as many playlists as your plan allows.",
        ));
    }
    let row = db
        .query_one(
            &format!(
                "UPDATE playlists p SET deleted_at = NULL, updated_at = now()
                  WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id],
        )
        .await
        .map_err(name_taken)?;
    add_to_quota(db, owner, 1).await?;
    Ok(playlist(&row, Some(owner)))
}

/// Append a track the owner reaches; a track already in the playlist is 409.
#[tracing::instrument(skip(db))]
pub async fn add_to_playlist(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
    track: TrackId,
) -> Result<Playlist, ListenerError> {
    let row = own_plain_locked(db, owner, id).await?;
    let count: i32 = row.get("item_count");
    let reachable = db
        .query_opt(
            "SELECT 1 FROM tracks t JOIN releases r ON r.id = t.release_id
              WHERE t.id = $1 AND release_reach(r, $2, NULL) <> 'hidden'",
            &[&track, &owner],
        )
        .await?;
    if reachable.is_none() {
        return Err(ListenerError::NotFound);
    }
    if count >= MAX_PLAYLIST_TRACKS {
        return Err(conflict("limit_reached", "This playlist is full."));
    }
    let added = db
        .execute(
            "INSERT INTO playlist_items (playlist_id, track_id, position) VALUES ($1, $2, $3)
             ON CONFLICT (playlist_id, track_id) DO NOTHING",
            &[&id, &track, &(count + 1)],
        )
        .await?;
    if added == 0 {
        return Err(conflict(
            "already_in_playlist",
            "This track is already in the playlist.",
        ));
    }
    changed_count(db, owner, id, 1).await
}

async fn changed_count(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
    by: i32,
) -> Result<Playlist, ListenerError> {
    let row = db
        .query_one(
            &format!(
                "UPDATE playlists p SET item_count = item_count + $2, updated_at = now()
                  WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id, &by],
        )
        .await?;
    Ok(playlist(&row, Some(owner)))
}

/// Remove a track; the ones after it move up. Removing a track that is not there is a no-op.
#[tracing::instrument(skip(db))]
pub async fn remove_from_playlist(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
    track: TrackId,
) -> Result<Playlist, ListenerError> {
    let row = own_plain_locked(db, owner, id).await?;
    let removed = db
        .query_opt(
            "DELETE FROM playlist_items WHERE playlist_id = $1 AND track_id = $2
             RETURNING position",
            &[&id, &track],
        )
        .await?;
    if removed.is_none() {
        return Ok(playlist(&row, Some(owner)));
    }
    // The items' delete trigger (V16) moved the later ones up and counted the removal.
    changed_count(db, owner, id, 0).await
}

/// Put the items in the order given: a permutation of the playlist's tracks, or 400.
#[tracing::instrument(skip(db, order))]
pub async fn reorder_playlist(
    db: &impl GenericClient,
    owner: UserId,
    id: PlaylistId,
    order: &[TrackId],
) -> Result<Playlist, ListenerError> {
    own_plain_locked(db, owner, id).await?;
    let current: Vec<TrackId> = db
        .query(
            "SELECT track_id FROM playlist_items WHERE playlist_id = $1",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut given = order.to_vec();
    given.sort();
    given.dedup();
    let mut have = current.clone();
    have.sort();
    if given.len() != order.len() || given != have {
        return Err(fields::one(
            "track_ids",
            "must list every track of the playlist exactly once",
        )
        .into());
    }
    db.execute(
        "UPDATE playlist_items i SET position = o.position
           FROM unnest($2::uuid[]) WITH ORDINALITY AS o(track_id, position)
          WHERE i.playlist_id = $1 AND i.track_id = o.track_id",
        &[&id, &order],
    )
    .await?;
    changed_count(db, owner, id, 0).await
}

/// A playlist with its items: its owner's (live or deleted), or anyone's public live one.
/// Others see only the tracks they reach; the owner also sees the ones they no longer reach,
/// marked unavailable.
#[tracing::instrument(skip(db, media))]
pub async fn get_playlist(
    db: &impl GenericClient,
    media: &Media,
    viewer: Option<UserId>,
    id: PlaylistId,
) -> Result<Playlist, ListenerError> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS} FROM playlists p WHERE p.id = $1"),
            &[&id],
        )
        .await?
        .ok_or(ListenerError::NotFound)?;
    let mut found = playlist(&row, viewer);
    if let Some(deleted_at) = found.deleted_at
        && OffsetDateTime::now_utc() - deleted_at > time::Duration::days(RESTORE_DAYS)
    {
        return Err(ListenerError::NotFound);
    }
    if let Some(rules) = found.rules.clone() {
        found.items = Some(smart_items(db, media, viewer, &rules).await?);
        return Ok(found);
    }
    let rows = db
        .query(
            concat!(
                "SELECT i.position, i.track_id, i.added_at, t.title, t.duration_ms, t.explicit,
                        r.id IS NOT NULL AND release_reach(r, $2, NULL) <> 'hidden' AS available, ",
                card_columns_sql!(),
                " FROM playlist_items i
                   LEFT JOIN tracks t ON t.id = i.track_id
                   LEFT JOIN releases r ON r.id = t.release_id
                   LEFT JOIN artist_profiles a ON a.id = r.artist_id
                  WHERE i.playlist_id = $1
                  ORDER BY i.position"
            ),
            &[&id, &viewer],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let available: bool = row.get::<_, Option<bool>>("available").unwrap_or(false);
        if !available && !found.mine {
            continue;
        }
        items.push(PlaylistItem {
            position: row.get("position"),
            track_id: row.get("track_id"),
            added_at: Some(row.get("added_at")),
            available,
            track: available.then(|| PlaylistTrack {
                title: row.get("title"),
                duration_ms: row.get("duration_ms"),
                explicit: row.get("explicit"),
            }),
            release: if available {
                Some(release_card(row, media).await?)
            } else {
                None
            },
        });
    }
    found.items = Some(items);
    Ok(found)
}

/// A smart playlist's tracks for this reader: the reachable tracks its rules select, in its
/// order, at most its limit.
async fn smart_items(
    db: &impl GenericClient,
    media: &Media,
    viewer: Option<UserId>,
    rules: &Rules,
) -> Result<Vec<PlaylistItem>, ListenerError> {
    let compiled = compile(rules)?;
    let limit_at = compiled.params.len() + 2;
    let sql = format!(
        concat!(
            "SELECT t.id AS track_id, t.title, t.duration_ms, t.explicit, ",
            card_columns_sql!(),
            " FROM tracks t
               JOIN releases r ON r.id = t.release_id
               JOIN artist_profiles a ON a.id = r.artist_id
              WHERE release_reach(r, $1, NULL) <> 'hidden' AND {condition}
              ORDER BY {order}
              LIMIT ${limit_at}"
        ),
        condition = compiled.condition,
        order = compiled.order,
        limit_at = limit_at,
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&viewer];
    params.extend(compiled.params.iter().map(|p| p.as_sql()));
    params.push(&compiled.limit);
    let rows = db.query(&sql, &params).await?;
    let mut items = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        items.push(PlaylistItem {
            position: i as i32 + 1,
            track_id: row.get("track_id"),
            added_at: None,
            available: true,
            track: Some(PlaylistTrack {
                title: row.get("title"),
                duration_ms: row.get("duration_ms"),
                explicit: row.get("explicit"),
            }),
            release: Some(release_card(row, media).await?),
        });
    }
    Ok(items)
}
