//! S3 through the AWS SDK: presigned uploads, HEAD, streaming downloads and uploads of the
//! worker's outputs. Locally `AWS_ENDPOINT_URL` points at moto (path-style addressing).

use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use serde::Serialize;
use time::OffsetDateTime;

use super::presign::GetSigner;
use super::unavailable::{Unavailable, unavailable};
use super::{AwsConfig, LazyClient};
use crate::config::required_var;

/// Presigned upload and stream URLs live 15 minutes.
pub const URL_TTL: Duration = Duration::from_secs(15 * 60);

/// The buckets Hound keeps objects in.
#[derive(Clone)]
pub struct Storage {
    s3: LazyClient<aws_sdk_s3::Client>,
    get_signer: GetSigner,
    pub masters_bucket: String,
    pub covers_bucket: String,
    pub streams_bucket: String,
}

/// What a client needs to PUT a file straight to S3.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PresignedUpload {
    pub method: &'static str,
    pub url: String,
    /// Headers the client must send verbatim: they are part of the signature.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub headers: serde_json::Map<String, serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What S3 says about a stored object.
#[derive(Debug)]
pub struct ObjectInfo {
    pub size_bytes: i64,
    pub content_type: Option<String>,
    pub etag: Option<String>,
}

fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    // An endpoint override means moto (or another S3 emulator): those want path-style URLs.
    let path_style = config.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build(),
    )
}

impl Storage {
    /// `MASTERS_BUCKET`, `COVERS_BUCKET`, `STREAMS_BUCKET`.
    pub fn from_env(config: impl Into<AwsConfig>) -> anyhow::Result<Self> {
        Ok(Self::new(
            config,
            required_var("MASTERS_BUCKET")?,
            required_var("COVERS_BUCKET")?,
            required_var("STREAMS_BUCKET")?,
        ))
    }

    /// The clients are made at their first use (see [`AwsConfig`]).
    pub fn new(
        config: impl Into<AwsConfig>,
        masters_bucket: String,
        covers_bucket: String,
        streams_bucket: String,
    ) -> Self {
        let config = config.into();
        // URLs are signed with the configuration given, or else with what the environment
        // holds (in Lambda, the function role's credentials are in its environment): signing
        // never loads the SDK's configuration.
        let get_signer = match config.loaded() {
            Some(loaded) => GetSigner::new(loaded),
            None => GetSigner::from_env(),
        };
        Self {
            s3: LazyClient::new(config),
            get_signer,
            masters_bucket,
            covers_bucket,
            streams_bucket,
        }
    }

    pub async fn client(&self) -> &aws_sdk_s3::Client {
        self.s3().await
    }

    async fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get(s3_client).await
    }

    /// A PUT URL with the content type and length bound into the signature.
    pub async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        size_bytes: i64,
    ) -> Result<PresignedUpload, Unavailable> {
        let presigning = PresigningConfig::expires_in(URL_TTL).map_err(|e| unavailable("s3", e))?;
        let request = self
            .s3()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size_bytes)
            .presigned(presigning)
            .await
            .map_err(|e| unavailable("s3", e))?;
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), content_type.into());
        headers.insert("content-length".into(), size_bytes.to_string().into());
        Ok(PresignedUpload {
            method: "PUT",
            url: request.uri().to_owned(),
            headers,
            expires_at: OffsetDateTime::now_utc() + URL_TTL,
        })
    }

    /// A GET URL for a stored object, valid [`URL_TTL`] (signed without the SDK pipeline: see
    /// `super::presign`).
    pub async fn presign_get(&self, bucket: &str, key: &str) -> Result<String, Unavailable> {
        self.get_signer
            .presign_get(bucket, key, std::time::SystemTime::now(), URL_TTL)
            .await
    }

    /// The shared GET URL of an object everyone sees alike (a cover): the same for every call
    /// of a [`super::presign::SHARED_WINDOW`], valid at least [`URL_TTL`] (see `super::presign`).
    pub async fn presign_get_shared(&self, bucket: &str, key: &str) -> Result<String, Unavailable> {
        self.get_signer
            .presign_get_shared(bucket, key, std::time::SystemTime::now(), URL_TTL)
            .await
    }

    /// HEAD an object: `None` when it does not exist.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, Unavailable> {
        match self
            .s3()
            .await
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(ObjectInfo {
                size_bytes: head.content_length().unwrap_or_default(),
                content_type: head.content_type().map(str::to_owned),
                etag: head.e_tag().map(str::to_owned),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) if e.code() == Some("NotFound") || e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(unavailable("s3", e)),
        }
    }

    /// Delete an object; one that is not there is already deleted.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Unavailable> {
        match self
            .s3()
            .await
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchKey") || e.code() == Some("NotFound") => Ok(()),
            Err(e) => Err(unavailable("s3", e)),
        }
    }
}

impl Storage {
    /// Stream an object into a local file (the worker's scratch space), never whole in memory.
    pub async fn download(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
    ) -> Result<u64, Unavailable> {
        self.download_if(bucket, key, path, None)
            .await?
            .ok_or_else(|| Unavailable {
                service: "s3",
                message: format!("s3://{bucket}/{key} failed a precondition it was not given"),
            })
    }

    /// As [`Storage::download`], but only the version whose ETag is `if_match` (`If-Match`):
    /// `None` when the object has been replaced since (S3 answers 412).
    pub async fn download_if(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        if_match: Option<&str>,
    ) -> Result<Option<u64>, Unavailable> {
        use tokio::io::AsyncWriteExt as _;
        let request = self.s3().await.get_object().bucket(bucket).key(key);
        let object = match request
            .set_if_match(if_match.map(str::to_owned))
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                return Ok(None);
            }
            Err(e) => return Err(unavailable("s3", e)),
        };
        let mut body = object.body;
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| unavailable("scratch disk", e))?;
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| unavailable("s3", e))? {
            file.write_all(&chunk)
                .await
                .map_err(|e| unavailable("scratch disk", e))?;
            written += chunk.len() as u64;
        }
        file.flush()
            .await
            .map_err(|e| unavailable("scratch disk", e))?;
        Ok(Some(written))
    }

    /// Make `bucket` notify the queue `queue_arn` of every object created in it, as the SAM
    /// template wires the masters and covers buckets in AWS (`hound local-aws`, tests).
    pub async fn notify_on_create(&self, bucket: &str, queue_arn: &str) -> Result<(), Unavailable> {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        let queue = QueueConfiguration::builder()
            .queue_arn(queue_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .build()
            .map_err(|e| unavailable("s3", e))?;
        self.s3()
            .await
            .put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(queue)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| unavailable("s3", e))?;
        Ok(())
    }

    /// Upload a local file (a rendition) as one object.
    pub async fn upload_file(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        content_type: &str,
    ) -> Result<(), Unavailable> {
        let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
            .await
            .map_err(|e| unavailable("scratch disk", e))?;
        self.put(bucket, key, body, content_type).await
    }

    /// Upload bytes (a waveform document) as one object.
    pub async fn upload_bytes(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), Unavailable> {
        self.put(bucket, key, bytes.into(), content_type).await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: aws_sdk_s3::primitives::ByteStream,
        content_type: &str,
    ) -> Result<(), Unavailable> {
        self.s3()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("public, max-age=31536000, immutable")
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable("s3", e))?;
        Ok(())
    }
}
