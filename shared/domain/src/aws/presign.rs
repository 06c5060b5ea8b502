//! Presigned S3 GET URLs signed directly with `aws-sigv4` (the SDK's own signer) instead of
//! through the SDK's request pipeline. The pipeline runs the S3 endpoint rules engine and every
//! interceptor for each URL (~55 µs); listener pages sign up to hundreds of URLs per request.
//! Here a URL is the bucket's base URL plus the encoded key, signed with cached credentials.
//! A unit test checks the result is byte-for-byte what the SDK presigner makes.
//!
//! Objects everyone sees alike (covers) get *shared* URLs: signed as of the start of the current
//! [`SHARED_WINDOW`] and valid [`SHARED_WINDOW`] longer, so every request of a window gets the
//! same URL — a browser keeps the image across pages instead of fetching it again under a new
//! signature, and a page of covers costs one signature per cover a window, not per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// Shared URLs are signed as of the start of a window this long, and stay valid this much
/// longer than asked: a URL handed out is valid at least the asked time, at most this more.
pub const SHARED_WINDOW: Duration = Duration::from_secs(300);

/// Shared URLs kept per window, at most (past it the memo starts again; only costs signatures).
const SHARED_MAX: usize = 20_000;

/// The shared URLs of the current window, signed with the credentials of `key_id`.
#[derive(Default)]
struct Shared {
    window: u64,
    key_id: String,
    len: usize,
    /// bucket → key → URL
    urls: HashMap<String, HashMap<String, String>>,
}

#[derive(Clone)]
pub struct GetSigner {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Option<SharedCredentialsProvider>,
    cached: RwLock<Option<(Credentials, SystemTime)>>,
    shared: Mutex<Shared>,
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
                shared: Mutex::default(),
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
                shared: Mutex::default(),
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
        self.sign(creds, bucket, key, now, ttl)
    }

    /// The shared GET URL of `bucket`/`key` for the window `now` falls in: signed as of the
    /// window's start, valid `ttl` + [`SHARED_WINDOW`] from there (so at least `ttl` from `now`),
    /// the same URL for every call of the window (with the same credentials).
    pub async fn presign_get_shared(
        &self,
        bucket: &str,
        key: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<String, Unavailable> {
        let creds = self.credentials(now).await?;
        let since_epoch = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window = since_epoch - since_epoch % SHARED_WINDOW.as_secs();
        let current =
            |shared: &Shared| shared.window == window && shared.key_id == creds.access_key_id();
        {
            let shared = self.inner.shared.lock().unwrap_or_else(|e| e.into_inner());
            if current(&shared)
                && let Some(url) = shared.urls.get(bucket).and_then(|keys| keys.get(key))
            {
                return Ok(url.clone());
            }
        }
        let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(window);
        let url = self.sign(creds.clone(), bucket, key, signed_at, ttl + SHARED_WINDOW)?;
        let mut shared = self.inner.shared.lock().unwrap_or_else(|e| e.into_inner());
        if !current(&shared) || shared.len >= SHARED_MAX {
            *shared = Shared {
                window,
                key_id: creds.access_key_id().to_owned(),
                ..Shared::default()
            };
        }
        let inserted = shared
            .urls
            .entry(bucket.to_owned())
            .or_default()
            .insert(key.to_owned(), url.clone())
            .is_none();
        if inserted {
            shared.len += 1;
        }
        Ok(url)
    }

    /// `bucket`/`key` signed with `creds` as of `at`, valid `ttl` from then.
    fn sign(
        &self,
        creds: Credentials,
        bucket: &str,
        key: &str,
        at: SystemTime,
        ttl: Duration,
    ) -> Result<String, Unavailable> {
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
            .time(at)
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
    async fn a_shared_url_is_one_per_window_signed_at_its_start_and_valid_the_ttl_past_its_end() {
        let config = config(Some("http://127.0.0.1:5000"), None).await;
        let signer = GetSigner::new(&config);
        let ttl = Duration::from_secs(900);
        // A window's start (a multiple of five minutes).
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_100);
        let key = "0a1b/600.jpeg";
        let shared = |at: u64, key: &'static str| {
            let signer = signer.clone();
            async move {
                signer
                    .presign_get_shared("hound-covers", key, start + Duration::from_secs(at), ttl)
                    .await
                    .unwrap()
            }
        };
        let first = shared(10, key).await;
        assert_eq!(
            shared(299, key).await,
            first,
            "the same URL all window long"
        );
        // What the SDK-checked signer makes as of the window's start, for the TTL plus the
        // window: valid at least the TTL from any moment of the window.
        assert_eq!(
            first,
            signer
                .presign_get("hound-covers", key, start, ttl + SHARED_WINDOW)
                .await
                .unwrap()
        );
        assert!(first.contains("X-Amz-Expires=1200"), "{first}");
        assert_ne!(shared(10, "0a1b/300.jpeg").await, first);
        // The next window signs again.
        let next = shared(300, key).await;
        assert_ne!(next, first);
        assert_eq!(
            next,
            signer
                .presign_get(
                    "hound-covers",
                    key,
                    start + SHARED_WINDOW,
                    ttl + SHARED_WINDOW
                )
                .await
                .unwrap()
        );
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
