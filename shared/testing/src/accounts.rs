//! Signing keys for tests, and accounts made the way signup makes them.

use std::sync::Arc;

use base64::Engine as _;
use hound_domain::auth::{self, AccountKind, JwtKeys, NewAccount, Passwords, Session, User};
use hound_domain::db;
use hound_domain::gates::{CodeKeys, EventKeys};
use serde_json::{Value, json};

use crate::database::TestDb;

/// The password every test account has.
pub const PASSWORD: &str = "correct-horse-battery-staple";

/// The fixed keyset tests sign with (kid `test-1`).
pub fn test_keys() -> Arc<JwtKeys> {
    Arc::new(keys_with(&[("test-1", 1)], "test-1"))
}

/// A signing keyset of `(kid, seed byte)` Ed25519 keys with `active` signing.
pub fn keys_with(keys: &[(&str, u8)], active: &str) -> JwtKeys {
    let keys: serde_json::Map<String, Value> = keys
        .iter()
        .map(|(kid, seed)| {
            (
                (*kid).to_owned(),
                Value::String(base64::engine::general_purpose::STANDARD.encode([*seed; 32])),
            )
        })
        .collect();
    JwtKeys::from_signing_json(&json!({"active_kid": active, "keys": keys}).to_string())
        .expect("keyset")
}

/// The environment of functions run as processes (`cargo lambda watch`): a fresh signing
/// keyset for auth and its public keyset for everyone.
pub fn jwt_env(kid: &str) -> [(&'static str, String); 2] {
    let signing = JwtKeys::generate_json(kid);
    let public = JwtKeys::from_signing_json(&signing)
        .expect("a generated keyset")
        .public_json();
    [("JWT_SIGNING_KEYS", signing), ("JWT_PUBLIC_KEYS", public)]
}

/// The gates' key rings for in-process tests: fixed keys, so a test can hash a code itself.
pub fn test_gate_keys() -> (CodeKeys, EventKeys) {
    let ring = |byte: u8| {
        serde_json::json!({
            "active_kid": "test-1",
            "keys": {"test-1": base64::engine::general_purpose::STANDARD.encode([byte; 32])},
        })
        .to_string()
    };
    (
        CodeKeys::from_json(&ring(3)).expect("a code key ring"),
        EventKeys::from_json(&ring(4)).expect("an event key ring"),
    )
}

/// `CODE_KEYS` and `EVENT_KEYS` for a function run as a process (fresh random rings).
pub fn gate_env() -> [(&'static str, String); 2] {
    [
        ("CODE_KEYS", hound_domain::gates::generate_ring_json("test")),
        (
            "EVENT_KEYS",
            hound_domain::gates::generate_ring_json("test"),
        ),
    ]
}

/// Sign up an account straight through the domain (as the auth function does), signed with
/// [`test_keys`]; returns the user and their first session.
pub async fn sign_up(db: &TestDb, kind: AccountKind, email: &str, name: &str) -> (User, Session) {
    let account = NewAccount::parse(email, PASSWORD, name).expect("a valid test account");
    let mut client = db::connect(&db.pool).await.expect("a connection");
    let tx = db::begin(&mut client).await.expect("a transaction");
    let signed_up = auth::signup(&tx, &Passwords::owasp(), &test_keys(), account, kind)
        .await
        .expect("signup");
    tx.commit().await.expect("commit");
    signed_up
}

/// The local Stripe (`localstripe`, started by `make test` like moto): `STRIPE_API_BASE`, or
/// `http://127.0.0.1:8420`.
pub fn stripe_base() -> String {
    std::env::var("STRIPE_API_BASE").unwrap_or_else(|_| "http://127.0.0.1:8420".to_owned())
}

/// A Stripe client for the local Stripe (any `sk_test_` key is accepted there).
pub fn test_stripe() -> hound_domain::money::StripeApi {
    hound_domain::money::StripeApi::new(
        &stripe_base(),
        secrecy::SecretString::from("sk_test_hound".to_owned()),
    )
    .expect("a Stripe client")
}
