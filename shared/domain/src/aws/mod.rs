//! AWS through its SDK: S3 (`storage`), SQS (`queue`), SES (`mail`); presigned GETs signed
//! directly (`presign`) and CloudFront signed URLs (`cloudfront`). In AWS the SDK finds region
//! and credentials itself; locally `AWS_ENDPOINT_URL` points every client at moto.

mod cloudfront;
mod mail;
mod presign;
mod queue;
mod storage;
mod unavailable;

pub use cloudfront::CdnSigner;
pub use mail::Mailer;
pub use queue::{Queue, lambda_sqs_event};
pub use storage::{ObjectInfo, PresignedUpload, Storage, URL_TTL};
pub use unavailable::Unavailable;

use std::sync::Arc;

use tokio::sync::OnceCell;

/// The SDK configuration from the environment, loaded now.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// The SDK configuration of a function, from its environment only: region (`AWS_REGION`),
/// credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: where Lambda
/// puts the function role's), and `AWS_ENDPOINT_URL` (moto). This is where the SDK's default
/// chains find them in Lambda too; built without its loader, a function links none of the
/// providers it never uses there (profiles, SSO, STS web identity, ECS, IMDS). Operators' tools
/// use [`aws_config`], with every provider.
pub fn env_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_config::retry::RetryConfig;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(http_client())
        .retry_config(RetryConfig::standard())
        .time_source(aws_smithy_async::time::SystemTimeSource::new());
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

/// The SDK's HTTPS client, on rustls with ring: the crypto the database's TLS and reqwest
/// already use. (The SDK's default client brings aws-lc, a second crypto library of several
/// megabytes in every binary.) Certificates are read at the first request, not here.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration, loaded from the environment at its first use rather than at a cold
/// start: loading it (the credential and region chains, the HTTPS client) was most of the studio
/// and listener functions' initialisation, and most of their requests never reach AWS.
#[derive(Clone, Default)]
pub struct AwsConfig(Arc<OnceCell<aws_config::SdkConfig>>);

impl AwsConfig {
    /// From the environment, at first use.
    pub fn from_env() -> Self {
        Self::default()
    }

    pub async fn get(&self) -> &aws_config::SdkConfig {
        self.0.get_or_init(|| async { env_config() }).await
    }

    /// The configuration if it is loaded already (one given to [`AwsConfig::from`]).
    pub fn loaded(&self) -> Option<&aws_config::SdkConfig> {
        self.0.get()
    }
}

impl From<&aws_config::SdkConfig> for AwsConfig {
    /// A configuration already loaded (tests, the CLI).
    fn from(config: &aws_config::SdkConfig) -> Self {
        Self(Arc::new(OnceCell::new_with(Some(config.clone()))))
    }
}

impl From<&AwsConfig> for AwsConfig {
    fn from(config: &AwsConfig) -> Self {
        config.clone()
    }
}

/// An SDK client, made at its first use. The function that makes it is named where the client
/// is used, not where it is stored: a binary that never uses a client links none of its code
/// (the listener, which only signs URLs, links no S3 client).
pub(crate) struct LazyClient<T> {
    config: AwsConfig,
    cell: Arc<OnceCell<T>>,
}

impl<T> Clone for LazyClient<T> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            cell: self.cell.clone(),
        }
    }
}

impl<T> LazyClient<T> {
    pub(crate) fn new(config: AwsConfig) -> Self {
        Self {
            config,
            cell: Arc::default(),
        }
    }

    pub(crate) async fn get(&self, make: fn(&aws_config::SdkConfig) -> T) -> &T {
        self.cell
            .get_or_init(|| async { make(self.config.get().await) })
            .await
    }
}
