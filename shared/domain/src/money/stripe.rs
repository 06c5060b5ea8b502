//! Stripe: the few calls Hound makes (PaymentIntents, customers, subscriptions) and the webhook's signature
//! check. Written by hand, on purpose: one endpoint over HTTP does not need `async-stripe`'s
//! generated client (minutes of build and megabytes of binary for two calls), and its webhook
//! helper keeps only the last `v1` signature, while a secret roll needs any of several to match.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// Stripe's default tolerance for a signed webhook's timestamp.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The Stripe API: its base (Stripe itself in AWS, `localstripe` locally), secret key, and the
/// price (a `plan` in the 2017-08-15 API shape localstripe speaks) of the `pro` subscription.
#[derive(Clone)]
pub struct StripeApi {
    base: String,
    key: SecretString,
    pro_plan: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi")
            .field("base", &self.base)
            .field("pro_plan", &self.pro_plan)
            .finish()
    }
}

/// The `pro` plan's id when `STRIPE_PRO_PLAN` is not set (`make dev` creates it locally).
pub const DEFAULT_PRO_PLAN: &str = "hound_pro";

/// A created PaymentIntent: what the client confirms with.
#[derive(Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: String,
}

/// A Stripe call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered and said no (a declined card, a missing payment method: the caller's
    /// doing). Stripe's own message, for the client.
    #[error("Stripe refused ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Stripe could not be reached, or answered with a server error.
    #[error("Stripe unavailable: {0:#}")]
    Unavailable(anyhow::Error),
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
            pro_plan: DEFAULT_PRO_PLAN.to_owned(),
            http,
        })
    }

    /// The same client with another `pro` plan id.
    pub fn with_pro_plan(mut self, plan: &str) -> Self {
        plan.clone_into(&mut self.pro_plan);
        self
    }

    pub fn pro_plan(&self) -> &str {
        &self.pro_plan
    }

    /// `STRIPE_API_BASE` (default `https://api.stripe.com`), `STRIPE_SECRET_KEY` (secret) and
    /// `STRIPE_PRO_PLAN` (default `hound_pro`).
    pub fn from_env() -> anyhow::Result<Self> {
        let base = crate::config::optional_var("STRIPE_API_BASE")?
            .unwrap_or_else(|| "https://api.stripe.com".to_owned());
        let key = SecretString::from(crate::config::required_var("STRIPE_SECRET_KEY")?);
        let plan = crate::config::optional_var("STRIPE_PRO_PLAN")?
            .unwrap_or_else(|| DEFAULT_PRO_PLAN.to_owned());
        Ok(Self::new(&base, key)?.with_pro_plan(&plan))
    }

    /// POST a form to `path`; `idempotency` makes a retried call act once.
    pub async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency: Option<&str>,
    ) -> Result<Value, StripeError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(self.key.expose_secret(), Some(""))
            .form(form);
        if let Some(key) = idempotency {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| StripeError::Unavailable(anyhow!(e).context("calling Stripe")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        if status.is_client_error() && status.as_u16() != 401 && status.as_u16() != 429 {
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("The payment was refused.")
                .chars()
                .take(300)
                .collect();
            return Err(StripeError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        Err(StripeError::Unavailable(anyhow!(
            "Stripe answered {status}: {:.300}",
            body.to_string()
        )))
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
        let body = self
            .post("/v1/payment_intents", &form, Some(order_id))
            .await
            .map_err(|e| anyhow!(e))?;
        serde_json::from_value(body).context("reading Stripe's PaymentIntent")
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
