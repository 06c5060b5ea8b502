//! CloudFront signed URLs (canned policy) for audio, when the stack runs a distribution in front
//! of the streams bucket whose default behaviour requires them (infra/template.yaml `Cdn`,
//! docs/scale.md). Written here because no maintained Rust crate does it: AWS's Rust SDK has no
//! CloudFront signer (awslabs/aws-sdk-rust#255), and the crates that do link OpenSSL. It is the
//! format of the CloudFront developer guide ("Create a signed URL using a canned policy") over the
//! RustCrypto `rsa` crate: RSA PKCS#1 v1.5 with SHA-1 of the policy, in CloudFront's base64.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use percent_encoding::utf8_percent_encode;
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use sha1::Sha1;

use super::presign::KEY;

/// Signs URLs under one distribution with one key of its trusted key group.
#[derive(Clone)]
pub struct CdnSigner {
    base: String,
    key_pair_id: String,
    key: SigningKey<Sha1>,
}

impl std::fmt::Debug for CdnSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdnSigner")
            .field("base", &self.base)
            .field("key_pair_id", &self.key_pair_id)
            .finish_non_exhaustive()
    }
}

impl CdnSigner {
    /// `base`: the distribution's URL (`https://d111111abcdef8.cloudfront.net`); `pem`: the
    /// private key (PKCS#8 or PKCS#1 PEM) whose public half is in the key group, as
    /// `key_pair_id`.
    pub fn new(base: &str, key_pair_id: &str, pem: &str) -> anyhow::Result<Self> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .context("the CloudFront signing key is not an RSA private key in PEM")?;
        anyhow::ensure!(
            !key_pair_id.is_empty() && key_pair_id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "the CloudFront key pair id is letters and digits"
        );
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            key_pair_id: key_pair_id.to_owned(),
            key: SigningKey::new(key),
        })
    }

    /// `CDN_BASE_URL`, `CDN_KEY_PAIR_ID` and `CDN_SIGNING_KEY` (the PEM): all three, or none
    /// (then audio is presigned S3, the default).
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        use crate::config::optional_var;
        let (Some(id), Some(pem)) = (
            optional_var("CDN_KEY_PAIR_ID")?,
            optional_var("CDN_SIGNING_KEY")?,
        ) else {
            return Ok(None);
        };
        let base = optional_var("CDN_BASE_URL")?
            .context("CDN_KEY_PAIR_ID and CDN_SIGNING_KEY need CDN_BASE_URL")?;
        Self::new(&base, &id, &pem).map(Some)
    }

    /// A URL for `key` under the distribution, valid for `ttl` from `now` (whole seconds).
    pub fn url(&self, key: &str, now: SystemTime, ttl: Duration) -> String {
        let expires = (now + ttl)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let resource = format!("{}/{}", self.base, utf8_percent_encode(key, KEY));
        let policy = canned_policy(&resource, expires);
        let signature = self.key.sign(policy.as_bytes()).to_bytes();
        format!(
            "{resource}?Expires={expires}&Signature={}&Key-Pair-Id={}",
            cloudfront_base64(&signature),
            self.key_pair_id
        )
    }
}

/// The canned policy of `resource` until `expires` (seconds since the epoch), with no
/// whitespace, as CloudFront rebuilds it to check the signature.
fn canned_policy(resource: &str, expires: u64) -> String {
    format!(
        r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
    )
}

/// Base64 with CloudFront's substitutions for characters URLs reserve.
fn cloudfront_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier as _;

    use super::*;

    /// A throwaway key made for these tests (`openssl genrsa 2048`); it signs nothing real.
    const TEST_KEY: &str = include_str!("testdata/cloudfront_test_key.pem");

    fn signer() -> CdnSigner {
        CdnSigner::new(
            "https://d111111abcdef8.cloudfront.net/",
            "K2JCJMDEHXQW5F",
            TEST_KEY,
        )
        .unwrap()
    }

    fn query<'a>(url: &'a str, name: &str) -> &'a str {
        url.split_once('?')
            .unwrap()
            .1
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
    }

    #[test]
    fn the_signature_verifies_against_the_canned_policy_cloudfront_rebuilds() {
        let now = UNIX_EPOCH + Duration::from_secs(1_767_290_400);
        let url = signer().url("renditions/a b/aac_256.m4a", now, Duration::from_secs(900));
        let (resource, _) = url.split_once('?').unwrap();
        assert_eq!(
            resource,
            "https://d111111abcdef8.cloudfront.net/renditions/a%20b/aac_256.m4a"
        );
        assert_eq!(query(&url, "Expires"), "1767291300");
        assert_eq!(query(&url, "Key-Pair-Id"), "K2JCJMDEHXQW5F");
        let signature = query(&url, "Signature");
        assert!(
            !signature.contains(['+', '=', '/']),
            "CloudFront's alphabet: {signature}"
        );
        let standard: String = signature
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '=',
                '~' => '/',
                c => c,
            })
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(standard)
            .unwrap();
        let public = VerifyingKey::<Sha1>::new(
            RsaPrivateKey::from_pkcs1_pem(TEST_KEY)
                .unwrap()
                .to_public_key(),
        );
        let policy = format!(
            r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":1767291300}}}}}}]}}"#
        );
        let signature = Signature::try_from(bytes.as_slice()).unwrap();
        public.verify(policy.as_bytes(), &signature).unwrap();
        // Another resource, or another expiry, does not verify.
        let other = policy.replace("aac_256", "aac_128");
        assert!(public.verify(other.as_bytes(), &signature).is_err());
        let later = policy.replace("1767291300", "1767291301");
        assert!(public.verify(later.as_bytes(), &signature).is_err());
    }

    /// The same URL, key and expiry signed by AWS's own implementation (`aws cloudfront sign`,
    /// aws-cli 1.46.3: `--url` the resource below, `--key-pair-id K2JCJMDEHXQW5F`,
    /// `--private-key file://testdata/cloudfront_test_key.pem`, `--date-less-than 1767291300`).
    /// PKCS#1 v1.5 signatures are deterministic: the URLs must be equal, byte for byte.
    #[test]
    fn the_url_is_the_one_aws_cli_signs() {
        let now = UNIX_EPOCH + Duration::from_secs(1_767_290_400);
        let ours = signer().url("renditions/a b/aac_256.m4a", now, Duration::from_secs(900));
        let aws_cli = concat!(
            "https://d111111abcdef8.cloudfront.net/renditions/a%20b/aac_256.m4a",
            "?Expires=1767291300&Signature=",
            "3wlaEicX5cAFTR3ZINKKvRgybEHBJ5leiwGv8c4IAUPIGdrBnjj-0WYsp0PbwJAzxoUaP9yUwt--iW4wAHhnN1bJ8",
            "ypEmECBh7NLIQbVHbN5~y4BT1UIoLwxy5LdP2gVoTdDKjeyWpC85mRTpiC1RI2YmX1WOJfgJ9NG8LPy6Vqu0tN4IV",
            "~2nEZMR4k1fJWxkh-pFTBrw-I~GvsuCf6ojpM6CnWz~zkKN57ITWtGkgrxUsTO7JnEm8Jb-pkDhhIlQaSBi4qHfe",
            "hUbECmFSx3mtj9Pl7LUYs5EsKSpBkFBXrTYxf41d7DE9p~5QqhMNt1m1pykL909xmKHejLJc2Xyg__",
            "&Key-Pair-Id=K2JCJMDEHXQW5F"
        );
        assert_eq!(ours, aws_cli);
    }

    #[test]
    fn a_key_that_is_not_rsa_or_a_bad_key_pair_id_is_refused() {
        assert!(CdnSigner::new("https://d.example", "K1", "not a key").is_err());
        assert!(CdnSigner::new("https://d.example", "K1&x=1", TEST_KEY).is_err());
    }
}
