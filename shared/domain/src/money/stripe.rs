//! Stripe: the few calls Hound makes (create a PaymentIntent) and the webhook's signature
//! check. Written by hand, on purpose: one endpoint over HTTP does not need `async-stripe`'s
//! generated client (minutes of build and megabytes of binary for two calls), and its webhook
//! helper keeps only the last `v1` signature, while a secret roll needs any of several to match.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// Stripe's default tolerance for a signed webhook's timestamp.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The Stripe API: its base (Stripe itself in AWS, `localstripe` locally) and secret key.
#[derive(Clone)]
pub struct StripeApi {
    base: String,
    key: SecretString,
    http: reqwest::Client,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi")
            .field("base", &self.base)
            .finish()
    }
}

/// A created PaymentIntent: what the client confirms with.
#[derive(Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: String,
}

impl StripeApi {
    pub fn new(base: &str, key: SecretString) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(8))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .context("building the Stripe client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            key,
            http,
        })
    }

    /// `STRIPE_API_BASE` (default `https://api.stripe.com`) and `STRIPE_SECRET_KEY` (secret).
    pub fn from_env() -> anyhow::Result<Self> {
        let base = crate::config::optional_var("STRIPE_API_BASE")?
            .unwrap_or_else(|| "https://api.stripe.com".to_owned());
        let key = SecretString::from(crate::config::required_var("STRIPE_SECRET_KEY")?);
        Self::new(&base, key)
    }

    /// Create a PaymentIntent for `amount` (smallest currency unit) tagged with our order id;
    /// the order id is also the idempotency key, so a retried call creates one intent.
    pub async fn create_payment_intent(
        &self,
        order_id: &str,
        amount: i32,
        currency: &str,
    ) -> anyhow::Result<PaymentIntent> {
        let amount = amount.to_string();
        let form = [
            ("amount", amount.as_str()),
            ("currency", currency),
            ("metadata[order_id]", order_id),
        ];
        let response = self
            .http
            .post(format!("{}/v1/payment_intents", self.base))
            .basic_auth(self.key.expose_secret(), Some(""))
            .header("Idempotency-Key", order_id)
            .form(&form)
            .send()
            .await
            .context("calling Stripe")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(anyhow!("Stripe answered {status}: {body:.300}"));
        }
        response
            .json::<PaymentIntent>()
            .await
            .context("reading Stripe's PaymentIntent")
    }
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header, or one without t= and v1=")]
    Malformed,
    #[error("the signed timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches any endpoint secret")]
    Mismatch,
}

/// Check a `Stripe-Signature` header (`t=…,v1=…[,v1=…][,v0=…]`) over the raw body: any `v1`
/// may match any of `secrets` (two during a roll); `v0` and unknown schemes are ignored; the
/// timestamp must be within the tolerance of `now` (Unix seconds). Constant-time compares.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse().ok(),
            "v1" => {
                if let Some(bytes) = decode_hex(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let (Some(t), false) = (timestamp, signatures.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    if (now - t).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        for signature in &signatures {
            matched |= expected[..].ct_eq(signature);
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Sign `body` at `t` with `secret` the way Stripe does (tests, and the `events/` samples).
pub fn sign(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn any_v1_signature_under_any_secret_passes_within_the_tolerance() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, "whsec_new", 1_000);
        assert_eq!(
            verify_signature(&header, body, &secrets(&["whsec_new"]), 1_000),
            Ok(())
        );
        // During a roll: the old secret first, the new one second.
        assert_eq!(
            verify_signature(&header, body, &secrets(&["whsec_old", "whsec_new"]), 1_100),
            Ok(())
        );
        // Stripe sends one v1 per active secret: any may match.
        let old = sign(body, "whsec_old", 1_000);
        let both = format!("{header},v1={}", old.split("v1=").nth(1).unwrap());
        assert_eq!(
            verify_signature(&both, body, &secrets(&["whsec_old"]), 1_000),
            Ok(())
        );
    }

    #[test]
    fn tampered_stale_malformed_and_v0_only_headers_are_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, "whsec", 1_000);
        let keys = secrets(&["whsec"]);
        assert_eq!(
            verify_signature(&header, br#"{"id":"evt_2"}"#, &keys, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, body, &keys, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&header, body, &keys, 699),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&header, body, &secrets(&["other"]), 1_000),
            Err(SignatureError::Mismatch)
        );
        let v0 = header.replace("v1=", "v0=");
        assert_eq!(
            verify_signature(&v0, body, &keys, 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature("", body, &keys, 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature("t=abc,v1=zz", body, &keys, 1_000),
            Err(SignatureError::Malformed)
        );
    }
}
