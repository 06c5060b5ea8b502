//! URLs for stored media: covers through the CDN when `CDN_BASE_URL` is set (else presigned,
//! shared by every reader of a 5-minute window), audio renditions and previews always presigned
//! for 15 minutes. Never a master.

use std::collections::BTreeMap;

use anyhow::Context as _;
use postgres_types::Json;
use serde::{Deserialize, Serialize};

use crate::aws::{CdnSigner, Storage, URL_TTL, Unavailable};

/// The complete cover variants of release `r` as JSON (`cover_{1200,600,300}_{jpeg,webp}`), a
/// fragment spliced into the listener's statements at compile time: kept on the release by the
/// database's triggers (V26) as its cover's variants complete or change.
macro_rules! cover_variants_sql {
    () => {
        "r.cover_variants"
    };
}
pub(crate) use cover_variants_sql;

/// A variant's object, as the SQL above returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredObject {
    pub width_px: Option<i32>,
    pub mime: String,
    pub bucket: String,
    pub key: String,
}

/// Cover URLs by width in pixels ("300", "600", "1200"), each in the formats made.
pub type Cover = BTreeMap<String, CoverFormats>;

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct CoverFormats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jpeg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webp: Option<String>,
}

/// Where URLs point.
#[derive(Clone)]
pub struct Media {
    storage: Storage,
    cdn_base: Option<String>,
    /// Signs audio URLs under the CloudFront distribution in front of the streams bucket, when
    /// configured (`CDN_KEY_PAIR_ID`, `CDN_SIGNING_KEY`); else audio is presigned S3.
    cdn_signer: Option<CdnSigner>,
}

impl Media {
    pub fn new(storage: Storage, cdn_base: Option<String>) -> Self {
        Self {
            storage,
            cdn_base: cdn_base.map(|base| base.trim_end_matches('/').to_owned()),
            cdn_signer: None,
        }
    }

    /// Audio of the streams bucket through CloudFront, signed by `signer`.
    pub fn with_cdn_signer(mut self, signer: CdnSigner) -> Self {
        self.cdn_signer = Some(signer);
        self
    }

    /// `CDN_BASE_URL` (optional, an http(s) URL) beside the buckets.
    pub fn from_env(storage: Storage) -> anyhow::Result<Self> {
        let cdn = crate::config::optional_var("CDN_BASE_URL")?;
        if let Some(base) = &cdn {
            let url = url::Url::parse(base).context("CDN_BASE_URL is not a URL")?;
            anyhow::ensure!(
                matches!(url.scheme(), "https" | "http"),
                "CDN_BASE_URL must be an http(s) URL"
            );
        }
        let media = Self::new(storage, cdn);
        Ok(match CdnSigner::from_env()? {
            Some(signer) => media.with_cdn_signer(signer),
            None => media,
        })
    }

    /// A URL valid 15 minutes: signed for CloudFront when the object is in the streams bucket
    /// and a signer is configured, else a presigned S3 GET. Never an unsigned URL: audio is
    /// never served through the public CDN path.
    pub async fn signed_url(&self, bucket: &str, key: &str) -> Result<String, Unavailable> {
        match &self.cdn_signer {
            Some(signer) if bucket == self.storage.streams_bucket => {
                Ok(signer.url(key, std::time::SystemTime::now(), URL_TTL))
            }
            _ => self.storage.presign_get(bucket, key).await,
        }
    }

    /// A cover image: CDN base + key when configured, else a shared presigned URL (the same for
    /// every reader for a few minutes, so browsers keep the image; `aws::presign`).
    pub async fn image_url(&self, bucket: &str, key: &str) -> Result<String, Unavailable> {
        match &self.cdn_base {
            Some(base) => Ok(format!("{base}/{key}")),
            None if bucket == self.storage.streams_bucket => self.signed_url(bucket, key).await,
            None => self.storage.presign_get_shared(bucket, key).await,
        }
    }

    /// The cover of a release from its variant rows (`None` when nothing is complete).
    pub(crate) async fn cover(
        &self,
        variants: Option<Json<Vec<StoredObject>>>,
    ) -> Result<Option<Cover>, Unavailable> {
        let Some(Json(objects)) = variants else {
            return Ok(None);
        };
        let mut cover = Cover::new();
        for object in objects {
            let Some(width) = object.width_px else {
                continue;
            };
            let url = self.image_url(&object.bucket, &object.key).await?;
            let formats = cover.entry(width.to_string()).or_default();
            match object.mime.as_str() {
                "image/jpeg" => formats.jpeg = Some(url),
                "image/webp" => formats.webp = Some(url),
                _ => {}
            }
        }
        cover.retain(|_, formats| formats.jpeg.is_some() || formats.webp.is_some());
        Ok((!cover.is_empty()).then_some(cover))
    }
}
