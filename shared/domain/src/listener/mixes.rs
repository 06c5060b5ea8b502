//! Mixes: up to `MAX_LAYERS` tracks played together, each with a volume, a loop flag and a start
//! delay. Every layer's track must be reachable by the creator when the mix is saved; a reader
//! gets each layer's stream renditions (presigned, as a stream does) or, for a layer they cannot
//! play, `available: false` and no URL.

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::error::ListenerError;
use super::media::Media;
use super::stream::{Rendition, stream};
use super::viewer::Viewer;
use crate::ids::{MixId, TrackId, UserId};
use crate::paging::{Page, PageRequest};

pub const MAX_LAYERS: usize = 16;
/// The longest start delay of a layer: an hour.
pub const MAX_DELAY_MS: i32 = 3_600_000;

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LayerFields {
    pub track_id: TrackId,
    /// 0–1.
    #[schema(minimum = 0, maximum = 1)]
    pub volume: f32,
    #[serde(default, rename = "loop")]
    pub looped: bool,
    /// 0–3 600 000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 3_600_000)]
    pub delay_ms: i32,
}

/// A mix as saved: `{name, is_public, layers}` with 1–16 layers.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MixFields {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub is_public: bool,
    #[schema(min_items = 1, max_items = 16)]
    pub layers: Vec<LayerFields>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Mix {
    pub id: MixId,
    pub name: String,
    pub is_public: bool,
    /// The caller created it.
    pub mine: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// With a single mix's read only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<Layer>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Layer {
    pub position: i32,
    /// Not shown to others for a layer they cannot play.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_id: Option<TrackId>,
    pub volume: f32,
    #[serde(rename = "loop")]
    pub looped: bool,
    pub delay_ms: i32,
    /// The reader may play it now; when false there are no renditions.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renditions: Option<Vec<Rendition>>,
}

pub(super) fn check(fields: &MixFields) -> Result<String, ListenerError> {
    let name = fields.name.trim();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        problems.push((
            "name",
            "must be 1–100 characters, without control characters".to_owned(),
        ));
    }
    if fields.layers.is_empty() || fields.layers.len() > MAX_LAYERS {
        problems.push(("layers", format!("must hold 1–{MAX_LAYERS} layers")));
    }
    for (i, layer) in fields.layers.iter().enumerate() {
        if !layer.volume.is_finite() || !(0.0..=1.0).contains(&layer.volume) {
            problems.push(("layers", format!("layers[{i}].volume must be 0–1")));
        }
        if !(0..=MAX_DELAY_MS).contains(&layer.delay_ms) {
            problems.push((
                "layers",
                format!("layers[{i}].delay_ms must be 0–{MAX_DELAY_MS}"),
            ));
        }
    }
    if let Some((field, _)) = problems.first() {
        let message = problems
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, p)| p.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(crate::fields::one(field, message).into());
    }
    Ok(name.to_owned())
}

/// Each layer's track must be one the creator reaches.
async fn check_reach(
    db: &impl GenericClient,
    creator: UserId,
    layers: &[LayerFields],
) -> Result<(), ListenerError> {
    let tracks: Vec<TrackId> = layers.iter().map(|l| l.track_id).collect();
    let rows = db
        .query(
            "SELECT u.i::int FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, i)
              WHERE NOT EXISTS (SELECT 1 FROM tracks t JOIN releases r ON r.id = t.release_id
                                 WHERE t.id = u.id AND release_reach(r, $2, NULL) <> 'hidden')
              ORDER BY u.i",
            &[&tracks, &creator],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let missing: Vec<String> = rows
        .iter()
        .map(|r| format!("layers[{}].track_id: no such track", r.get::<_, i32>(0) - 1))
        .collect();
    Err(crate::fields::one("layers", missing.join("; ")).into())
}

const COLUMNS: &str = "m.id, m.name, m.is_public, m.creator_id, m.created_at, m.updated_at";

fn mix(row: &Row, viewer: Option<UserId>) -> Mix {
    let creator: uuid::Uuid = row.get("creator_id");
    Mix {
        id: row.get("id"),
        name: row.get("name"),
        is_public: row.get("is_public"),
        mine: viewer.is_some_and(|v| *v.as_uuid() == creator),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        layers: None,
    }
}

async fn write_layers(
    db: &impl GenericClient,
    id: MixId,
    layers: &[LayerFields],
) -> Result<(), ListenerError> {
    db.execute("DELETE FROM mix_layers WHERE mix_id = $1", &[&id])
        .await?;
    let tracks: Vec<TrackId> = layers.iter().map(|l| l.track_id).collect();
    let volumes: Vec<f32> = layers.iter().map(|l| l.volume).collect();
    let loops: Vec<bool> = layers.iter().map(|l| l.looped).collect();
    let delays: Vec<i32> = layers.iter().map(|l| l.delay_ms).collect();
    db.execute(
        "INSERT INTO mix_layers (mix_id, position, track_id, volume, loop, delay_ms)
         SELECT $1, u.i, u.track_id, u.volume, u.looped, u.delay_ms
           FROM unnest($2::uuid[], $3::real[], $4::bool[], $5::int[])
                WITH ORDINALITY AS u(track_id, volume, looped, delay_ms, i)",
        &[&id, &tracks, &volumes, &loops, &delays],
    )
    .await?;
    Ok(())
}

#[tracing::instrument(skip(db, fields))]
pub async fn create_mix(
    db: &impl GenericClient,
    creator: UserId,
    fields: MixFields,
) -> Result<Mix, ListenerError> {
    let name = check(&fields)?;
    check_reach(db, creator, &fields.layers).await?;
    let row = db
        .query_one(
            &format!(
                "INSERT INTO mixes AS m (id, creator_id, name, is_public) VALUES ($1, $2, $3, $4)
                 RETURNING {COLUMNS}"
            ),
            &[&MixId::generate(), &creator, &name, &fields.is_public],
        )
        .await?;
    let created = mix(&row, Some(creator));
    write_layers(db, created.id, &fields.layers).await?;
    Ok(created)
}

/// Replace a mix of the caller's: name, visibility and every layer.
#[tracing::instrument(skip(db, fields))]
pub async fn replace_mix(
    db: &impl GenericClient,
    creator: UserId,
    id: MixId,
    fields: MixFields,
) -> Result<Mix, ListenerError> {
    let name = check(&fields)?;
    let row = db
        .query_opt(
            &format!(
                "UPDATE mixes m SET name = $3, is_public = $4, updated_at = now()
                  WHERE id = $1 AND creator_id = $2 RETURNING {COLUMNS}"
            ),
            &[&id, &creator, &name, &fields.is_public],
        )
        .await?
        .ok_or(ListenerError::NotFound)?;
    check_reach(db, creator, &fields.layers).await?;
    write_layers(db, id, &fields.layers).await?;
    Ok(mix(&row, Some(creator)))
}

#[tracing::instrument(skip(db))]
pub async fn delete_mix(
    db: &impl GenericClient,
    creator: UserId,
    id: MixId,
) -> Result<(), ListenerError> {
    let deleted = db
        .execute(
            "DELETE FROM mixes WHERE id = $1 AND creator_id = $2",
            &[&id, &creator],
        )
        .await?;
    if deleted == 0 {
        return Err(ListenerError::NotFound);
    }
    Ok(())
}

/// Public mixes and, with a token, the caller's own (`mine`: only those), newest first.
pub async fn list_mixes(
    db: &impl GenericClient,
    viewer: Option<UserId>,
    mine: bool,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<Mix>, ListenerError> {
    let request = PageRequest::parse(cursor, limit, 50)?;
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM mixes m
                  WHERE (CASE WHEN $5 THEN m.creator_id = $1
                              ELSE m.is_public OR m.creator_id = $1 END)
                    AND ($2::timestamptz IS NULL OR (m.created_at, m.id) < ($2, $3))
                  ORDER BY m.created_at DESC, m.id DESC LIMIT $4"
            ),
            &[
                &viewer,
                &request.after_at(),
                &request.after_id(),
                &request.fetch(),
                &mine,
            ],
        )
        .await?;
    let items: Vec<Mix> = rows.iter().map(|r| mix(r, viewer)).collect();
    Ok(request.page(items, |m| (m.created_at, *m.id.as_uuid())))
}

/// A mix with its layers: public, or the caller's own. Each layer the reader may play comes
/// with presigned renditions; the others are `available: false`.
#[tracing::instrument(skip(db, media))]
pub async fn get_mix(
    db: &impl GenericClient,
    media: &Media,
    viewer: Option<UserId>,
    id: MixId,
) -> Result<Mix, ListenerError> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS} FROM mixes m WHERE m.id = $1"),
            &[&id],
        )
        .await?
        .ok_or(ListenerError::NotFound)?;
    let mut found = mix(&row, viewer);
    let rows = db
        .query(
            "SELECT position, track_id, volume, loop, delay_ms FROM mix_layers
              WHERE mix_id = $1 ORDER BY position",
            &[&id],
        )
        .await?;
    let reader = Viewer::new(viewer, None);
    let mut layers = Vec::with_capacity(rows.len());
    for row in &rows {
        let track_id: TrackId = row.get("track_id");
        let renditions = match stream(db, media, &reader, track_id).await {
            Ok(stream) => Some(stream.renditions),
            Err(ListenerError::NotFound | ListenerError::Gated(_) | ListenerError::NotReady) => {
                None
            }
            Err(other) => return Err(other),
        };
        let shown = renditions.is_some() || found.mine;
        layers.push(Layer {
            position: row.get("position"),
            track_id: shown.then_some(track_id),
            volume: row.get("volume"),
            looped: row.get("loop"),
            delay_ms: row.get("delay_ms"),
            available: renditions.is_some(),
            renditions,
        });
    }
    found.layers = Some(layers);
    Ok(found)
}
