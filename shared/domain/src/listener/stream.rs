//! A track's stream: presigned URLs for each complete rendition of its current master, with the
//! track and album gains. One query; gated releases answer 403 until the caller is entitled,
//! with presigned URLs for the master's 30-second previews instead.

use deadpool_postgres::GenericClient;
use postgres_types::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::ListenerError;
use super::media::Media;
use super::viewer::{Reach, Viewer};
use crate::aws::URL_TTL;
use crate::catalog::Access;
use crate::ids::TrackId;

/// Playback loudness target (LUFS) and the ceiling no gain may push the true peak over (dBTP).
pub const TARGET_LUFS: f64 = -14.0;
pub const PEAK_CEILING_DBTP: f64 = -1.0;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stream {
    pub track_id: TrackId,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub loudness: StreamLoudness,
    pub renditions: Vec<Rendition>,
}

/// Null fields mean the track (or no track of the release) has been analysed yet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamLoudness {
    pub integrated_lufs: Option<f32>,
    pub true_peak_dbtp: Option<f32>,
    pub gain_db: Option<f32>,
    pub album_gain_db: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rendition {
    pub name: String,
    pub codec: Option<String>,
    pub bitrate_kbps: Option<i32>,
    pub mime: String,
    pub url: String,
}

/// What a caller without the entitlement a gated track needs gets instead of its stream (API.md:
/// 403 `gated`): the gate, and the complete previews of the track's current master (none yet
/// when it was transcoded before previews existed), presigned until `expires_at`.
#[derive(Debug, Serialize)]
pub struct Gated {
    pub gate: Access,
    pub preview: Vec<Rendition>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Deserialize)]
struct StoredRendition {
    name: String,
    codec: Option<String>,
    bitrate_kbps: Option<i32>,
    mime: String,
    bucket: String,
    key: String,
}

/// The gain that brings a whole release to −14 LUFS without lifting its loudest true peak over
/// −1 dBTP. `album_lufs` is the duration-weighted energy mean of its analysed tracks:
/// 10·log10(Σ dᵢ·10^(Lᵢ/10) / Σ dᵢ).
pub fn album_gain_db(album_lufs: f64, max_true_peak_dbtp: f64) -> f64 {
    (TARGET_LUFS - album_lufs).min(PEAK_CEILING_DBTP - max_true_peak_dbtp)
}

/// The reach is computed once: `OFFSET 0` keeps the planner from pulling its subquery up and
/// copying the call into each of its uses. The track's complete renditions and previews are
/// kept on it by the database (migrations/V28: those of its current master, best first); the
/// full renditions are read only for `stream` and the previews only for `page`, so neither
/// reaches the other's caller.
const STREAM: &str = "\
    SELECT t.id, t.integrated_lufs, t.true_peak_dbtp, t.gain_db, r.access, g.reach,
           r.album_lufs, r.album_max_peak,
           CASE WHEN g.reach = 'stream' THEN t.renditions END AS renditions,
           CASE WHEN g.reach = 'page' THEN t.previews END AS previews
      FROM tracks t
      JOIN releases r ON r.id = t.release_id
     CROSS JOIN LATERAL (SELECT release_reach(r, $2, $3) AS reach OFFSET 0) AS g
     WHERE t.id = $1";

/// Stream URLs for `track_id` as `viewer` may have them.
#[tracing::instrument(skip(db, media, viewer))]
pub async fn stream(
    db: &impl GenericClient,
    media: &Media,
    viewer: &Viewer,
    track_id: TrackId,
) -> Result<Stream, ListenerError> {
    let statement = db.prepare_cached(STREAM).await?;
    let row = db
        .query_opt(
            &statement,
            &[&track_id, &viewer.user_id, &viewer.share_token],
        )
        .await?
        .ok_or(ListenerError::NotFound)?;
    let expires_at = OffsetDateTime::now_utc() + URL_TTL;
    match row.get::<_, Reach>("reach") {
        Reach::Hidden => return Err(ListenerError::NotFound),
        Reach::Page => {
            return Err(ListenerError::Gated(Gated {
                gate: row.get("access"),
                preview: presigned(media, &row, "previews").await?,
                expires_at,
            }));
        }
        Reach::Stream => {}
    }
    let renditions = presigned(media, &row, "renditions").await?;
    if renditions.is_empty() {
        return Err(ListenerError::NotReady);
    }
    let album_lufs: Option<f64> = row.get("album_lufs");
    let album_max_peak: Option<f64> = row.get("album_max_peak");
    Ok(Stream {
        track_id,
        expires_at,
        loudness: StreamLoudness {
            integrated_lufs: row.get("integrated_lufs"),
            true_peak_dbtp: row.get("true_peak_dbtp"),
            gain_db: row.get("gain_db"),
            album_gain_db: album_lufs
                .zip(album_max_peak)
                .map(|(lufs, peak)| round2(album_gain_db(lufs, peak))),
        },
        renditions,
    })
}

/// The stored variants in `column` of the stream row, each with a presigned URL.
async fn presigned(
    media: &Media,
    row: &tokio_postgres::Row,
    column: &str,
) -> Result<Vec<Rendition>, ListenerError> {
    let stored = row
        .try_get::<_, Option<Json<Vec<StoredRendition>>>>(column)?
        .map(|Json(r)| r)
        .unwrap_or_default();
    let mut renditions = Vec::with_capacity(stored.len());
    for r in stored {
        renditions.push(Rendition {
            url: media.signed_url(&r.bucket, &r.key).await?,
            name: r.name,
            codec: r.codec,
            bitrate_kbps: r.bitrate_kbps,
            mime: r.mime,
        });
    }
    Ok(renditions)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn album_gain_reaches_minus_14_unless_the_peak_ceiling_binds() {
        assert_eq!(album_gain_db(-20.0, -10.0), 6.0);
        // +6 dB would put a -3 dBTP peak at +3: capped to -1 dBTP.
        assert_eq!(album_gain_db(-20.0, -3.0), 2.0);
        assert_eq!(album_gain_db(-8.0, -0.5), -6.0);
    }

    #[test]
    fn album_loudness_is_the_duration_weighted_energy_mean() {
        // The formula the SQL uses, checked by hand: a 3-minute track at -10 and a 1-minute
        // track at -20 LUFS.
        let energy = (3.0 * 10f64.powf(-1.0) + 1.0 * 10f64.powf(-2.0)) / 4.0;
        let lufs = 10.0 * energy.log10();
        assert!((lufs - -11.1).abs() < 0.05, "{lufs}");
    }
}
