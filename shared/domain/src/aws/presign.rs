//! Presigned S3 GET URLs signed directly with `aws-sigv4` (the SDK's own signer) instead of
//! through the SDK's request pipeline. The pipeline runs the S3 endpoint rules engine and every
//! interceptor for each URL (~55 µs); listener pages sign up to hundreds of URLs per request.
//! Here a URL is the bucket's base URL plus the encoded key, signed with cached credentials.
//! A unit test checks the result is byte-for-byte what the SDK presigner makes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::RwLock;

use super::unavailable::Unavailable;

/// Characters of an object key left as they are in a URL: RFC 3986 unreserved, and `/` between
/// segments (the CloudFront signer encodes keys the same way).
pub(super) const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Credentials are fetched again this long before they expire (or this often, if they don't).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct GetSigner {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Option<SharedCredentialsProvider>,
    cached: RwLock<Option<(Credentials, SystemTime)>>,
    region: String,
    /// `AWS_ENDPOINT_URL` (moto): path-style URLs under it; else virtual-hosted AWS URLs.
    endpoint: Option<String>,
}

impl GetSigner {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider: config.credentials_provider(),
                cached: RwLock::new(None),
                region: config
                    .region()
                    .map_or_else(|| "us-east-1".to_owned(), |r| r.as_ref().to_owned()),
                endpoint: config
                    .endpoint_url()
                    .map(|e| e.trim_end_matches('/').to_owned()),
            }),
        }
    }

    /// From the environment, without the SDK's configuration: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (Lambda puts the function role's there),
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`), and `AWS_ENDPOINT_URL` (moto), as
    /// [`super::env_config`] reads them.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let provider = SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
        Self {
            inner: Arc::new(Inner {
                provider: Some(provider),
                cached: RwLock::new(None),
                region: var("AWS_REGION")
                    .or_else(|| var("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|| "us-east-1".to_owned()),
                endpoint: var("AWS_ENDPOINT_URL").map(|e| e.trim_end_matches('/').to_owned()),
            }),
        }
    }

    fn object_url(&self, bucket: &str, key: &str) -> String {
        // `x-id` names the operation, as the SDK's URLs do (S3 ignores it).
        let key = utf8_percent_encode(key, KEY);
        match &self.inner.endpoint {
            Some(endpoint) => format!("{endpoint}/{bucket}/{key}?x-id=GetObject"),
            None => format!(
                "https://{bucket}.s3.{}.amazonaws.com/{key}?x-id=GetObject",
                self.inner.region
            ),
        }
    }

    async fn credentials(&self, now: SystemTime) -> Result<Credentials, Unavailable> {
        let fresh = |(creds, fetched): &(Credentials, SystemTime)| {
            let expiring = creds.expiry().is_some_and(|at| at <= now + REFRESH_MARGIN);
            let old = now
                .duration_since(*fetched)
                .is_ok_and(|age| age >= REFRESH_MARGIN);
            !expiring && !old
        };
        if let Some(entry) = self.inner.cached.read().await.as_ref().filter(|e| fresh(e)) {
            return Ok(entry.0.clone());
        }
        let mut cached = self.inner.cached.write().await;
        if let Some(entry) = cached.as_ref().filter(|e| fresh(e)) {
            return Ok(entry.0.clone());
        }
        let provider = self.inner.provider.as_ref().ok_or_else(|| Unavailable {
            service: "s3",
            message: "no AWS credentials are configured".into(),
        })?;
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| Unavailable {
                service: "s3",
                message: format!("loading AWS credentials: {e}"),
            })?;
        *cached = Some((creds.clone(), now));
        Ok(creds)
    }

    /// A GET URL for `bucket`/`key`, valid `ttl` from `now`.
    pub async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<String, Unavailable> {
        let creds = self.credentials(now).await?;
        let url = self.object_url(bucket, key);
        let failed = |e: &dyn std::fmt::Display| Unavailable {
            service: "s3",
            message: format!("signing a URL: {e}"),
        };
        // As the S3 presigner signs: single-encoded path, no normalisation, unsigned payload
        // with no checksum header, everything in the query string.
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.inner.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let signable = SignableRequest::new(
            "GET",
            url.as_str(),
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| failed(&e))?
            .into_parts();
        let mut request = http::Request::builder()
            .uri(url.as_str())
            .body(())
            .map_err(|e| failed(&e))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::presigning::PresigningConfig;

    async fn config(endpoint: Option<&str>, token: Option<&str>) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(crate::aws::http_client())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                token.map(str::to_owned),
                None,
                "test",
            ));
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        loader.load().await
    }

    async fn sdk_url(config: &aws_config::SdkConfig, key: &str, now: SystemTime) -> String {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(config.endpoint_url().is_some())
                .build(),
        );
        s3.get_object()
            .bucket("hound-streams")
            .key(key)
            .presigned(
                PresigningConfig::builder()
                    .start_time(now)
                    .expires_in(Duration::from_secs(900))
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap()
            .uri()
            .to_owned()
    }

    #[tokio::test]
    async fn signs_exactly_as_the_sdk_presigner() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        for (endpoint, token) in [
            (None, None),
            (None, Some("session-token/with+chars=")),
            (Some("http://127.0.0.1:5000"), None),
        ] {
            let config = config(endpoint, token).await;
            let signer = GetSigner::new(&config);
            for key in ["renditions/0a1b/aac_256.m4a", "a b/ü+é (1).jpg"] {
                let ours = signer
                    .presign_get("hound-streams", key, now, Duration::from_secs(900))
                    .await
                    .unwrap();
                assert_eq!(ours, sdk_url(&config, key, now).await, "{endpoint:?} {key}");
            }
        }
    }
}
