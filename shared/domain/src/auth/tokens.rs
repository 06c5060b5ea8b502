//! Access tokens (EdDSA/Ed25519 JWTs from a rotating keyset, `kid` in the header: only the auth
//! function can sign, the others verify with public keys) and opaque refresh tokens (256 random
//! bits; only their SHA-256 is ever stored).

use std::collections::HashMap;

use super::error::AuthError;
use super::role::Role;
use crate::ids::{SessionId, UserId};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// Access tokens live 15 minutes (API.md).
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Refresh tokens live 30 days from issue; each use rotates to a fresh one.
pub const REFRESH_TTL_DAYS: i64 = 30;
const ISSUER: &str = "hound";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub sid: SessionId,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// The access-token keys: Ed25519 (EdDSA). Only the auth function holds private keys (the
/// signing keyset, `JWT_SIGNING_KEYS`); every other function gets the public keyset
/// (`JWT_PUBLIC_KEYS`), which verifies but cannot mint. Every key verifies; only the active
/// one signs, so a new key can be introduced and made active while tokens signed by the old one
/// stay valid until they expire.
pub struct JwtKeys {
    signing: Option<(String, EncodingKey)>,
    /// kid → 32-byte Ed25519 public key.
    public: HashMap<String, [u8; 32]>,
    decoding: HashMap<String, DecodingKey>,
}

#[derive(Deserialize)]
struct SigningKeysetJson {
    active_kid: String,
    keys: HashMap<String, String>,
}

#[derive(Deserialize)]
struct PublicKeysetJson {
    keys: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysetError {
    #[error(
        "the keyset is not JSON of the form {{\"active_kid\": \"…\", \"keys\": {{\"kid\": \"base64\"}}}} (signing) or {{\"keys\": {{\"kid\": \"base64\"}}}} (public): {0}"
    )]
    Shape(serde_json::Error),
    #[error("key {0:?} is not valid base64")]
    Encoding(String),
    #[error("key {0:?} is not 32 bytes (an Ed25519 seed or public key)")]
    Length(String),
    #[error("key {0:?} is not a valid Ed25519 public key")]
    NotAPoint(String),
    #[error("active_kid {0:?} is not among the keys")]
    UnknownActive(String),
    #[error("the keyset holds no key")]
    Empty,
}

fn key_bytes(kid: &str, encoded: &str) -> Result<[u8; 32], KeysetError> {
    let bytes = STANDARD
        .decode(encoded.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim()))
        .map_err(|_| KeysetError::Encoding(kid.to_owned()))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeysetError::Length(kid.to_owned()))
}

impl JwtKeys {
    fn verifying(public: HashMap<String, [u8; 32]>) -> Result<Self, KeysetError> {
        if public.is_empty() {
            return Err(KeysetError::Empty);
        }
        let decoding = public
            .iter()
            .map(|(kid, key)| (kid.clone(), DecodingKey::from_ed_der(key)))
            .collect();
        Ok(Self {
            signing: None,
            public,
            decoding,
        })
    }

    /// Parse a signing keyset (Ed25519 seeds, base64): signs with `active_kid`, verifies with
    /// every key's public half.
    pub fn from_signing_json(json: &str) -> Result<Self, KeysetError> {
        let parsed: SigningKeysetJson = serde_json::from_str(json).map_err(KeysetError::Shape)?;
        let mut seeds = HashMap::new();
        for (kid, encoded) in &parsed.keys {
            seeds.insert(
                kid.clone(),
                SigningKey::from_bytes(&key_bytes(kid, encoded)?),
            );
        }
        let active = seeds
            .get(&parsed.active_kid)
            .ok_or_else(|| KeysetError::UnknownActive(parsed.active_kid.clone()))?;
        let der = active
            .to_pkcs8_der()
            .map_err(|_| KeysetError::Length(parsed.active_kid.clone()))?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let public = seeds
            .iter()
            .map(|(kid, key)| (kid.clone(), key.verifying_key().to_bytes()))
            .collect();
        let mut keys = Self::verifying(public)?;
        keys.signing = Some((parsed.active_kid, encoding));
        Ok(keys)
    }

    /// Parse a public keyset (Ed25519 public keys, base64): verifies only.
    pub fn from_public_json(json: &str) -> Result<Self, KeysetError> {
        let parsed: PublicKeysetJson = serde_json::from_str(json).map_err(KeysetError::Shape)?;
        let mut public = HashMap::new();
        for (kid, encoded) in &parsed.keys {
            let key = key_bytes(kid, encoded)?;
            VerifyingKey::from_bytes(&key).map_err(|_| KeysetError::NotAPoint(kid.clone()))?;
            public.insert(kid.clone(), key);
        }
        Self::verifying(public)
    }

    /// `JWT_PUBLIC_KEYS`: what every function but auth verifies with.
    pub fn from_env() -> anyhow::Result<Self> {
        let json = crate::config::required_var("JWT_PUBLIC_KEYS")?;
        Self::from_public_json(&json).map_err(|e| anyhow::anyhow!("JWT_PUBLIC_KEYS: {e}"))
    }

    /// `JWT_SIGNING_KEYS`: the auth function's private keyset.
    pub fn signing_from_env() -> anyhow::Result<Self> {
        let json = crate::config::required_var("JWT_SIGNING_KEYS")?;
        Self::from_signing_json(&json).map_err(|e| anyhow::anyhow!("JWT_SIGNING_KEYS: {e}"))
    }

    /// A fresh signing keyset JSON with one random key (`hound jwt-keygen`).
    pub fn generate_json(kid: &str) -> String {
        let mut seed = [0_u8; 32];
        rand::rng().fill_bytes(&mut seed);
        serde_json::json!({"active_kid": kid, "keys": {kid: STANDARD.encode(seed)}}).to_string()
    }

    /// The public keyset of these keys (`hound jwt-public`): what the other functions get.
    pub fn public_json(&self) -> String {
        let keys: HashMap<&str, String> = self
            .public
            .iter()
            .map(|(kid, key)| (kid.as_str(), STANDARD.encode(key)))
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    /// The key id that signs, if these keys can sign at all.
    pub fn active_kid(&self) -> Option<&str> {
        self.signing.as_ref().map(|(kid, _)| kid.as_str())
    }

    /// Sign an access token for a session, valid from `now` for [`ACCESS_TTL_SECS`].
    pub fn issue(
        &self,
        user: UserId,
        session: SessionId,
        roles: &[Role],
        now: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), AuthError> {
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            sub: user,
            sid: session,
            roles: roles.to_vec(),
            iat,
            exp: iat + ACCESS_TTL_SECS,
            iss: ISSUER.to_owned(),
        };
        self.sign(&claims).map(|token| {
            let expires = now + time::Duration::seconds(ACCESS_TTL_SECS);
            (token, expires)
        })
    }

    /// Sign arbitrary claims with the active key (tests use it to forge expired tokens).
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let (kid, key) = self.signing.as_ref().ok_or_else(|| {
            AuthError::Internal(anyhow::anyhow!("these keys verify only; they cannot sign"))
        })?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key)
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("signing access token: {e}")))
    }

    /// Check algorithm (EdDSA only: an HS256 token, even one keyed with a public key, is
    /// refused), key id, signature, issuer and expiry. Session liveness is checked by the caller.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::BadToken)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::BadToken);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(AuthError::BadToken)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                _ => AuthError::BadToken,
            })
    }
}

/// An opaque refresh token as handed to the client.
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// SHA-256 of a presented refresh token: the only form the database sees. The token carries 256
/// random bits, so a fast hash is the right tool (no salt or stretching needed).
pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyset(active: &str, kids: &[&str]) -> JwtKeys {
        let keys: HashMap<_, _> = kids
            .iter()
            .map(|kid| (kid.to_string(), STANDARD.encode([kid.as_bytes()[0]; 32])))
            .collect();
        JwtKeys::from_signing_json(
            &serde_json::json!({"active_kid": active, "keys": keys}).to_string(),
        )
        .unwrap()
    }

    fn token(keys: &JwtKeys, at: OffsetDateTime) -> String {
        let (token, _) = keys
            .issue(
                UserId::generate(),
                SessionId::generate(),
                &[Role::Listener],
                at,
            )
            .unwrap();
        token
    }

    #[test]
    fn a_token_verifies_after_its_key_stops_being_the_active_one() {
        let old = keyset("a", &["a"]);
        let token = token(&old, OffsetDateTime::now_utc());
        let rotated = keyset("b", &["a", "b"]);
        assert!(rotated.verify(&token).is_ok());
        let retired = keyset("b", &["b"]);
        assert!(matches!(retired.verify(&token), Err(AuthError::BadToken)));
    }

    #[test]
    fn public_keys_verify_but_cannot_sign() {
        let signing = keyset("a", &["a"]);
        let public = JwtKeys::from_public_json(&signing.public_json()).unwrap();
        let token = token(&signing, OffsetDateTime::now_utc());
        assert!(public.verify(&token).is_ok());
        assert_eq!(public.active_kid(), None);
        assert!(matches!(
            public.issue(
                UserId::generate(),
                SessionId::generate(),
                &[Role::Artist],
                OffsetDateTime::now_utc()
            ),
            Err(AuthError::Internal(_))
        ));
    }

    #[test]
    fn an_expired_token_is_told_apart_from_a_forged_one() {
        let keys = keyset("a", &["a"]);
        let long_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let token = token(&keys, long_ago);
        assert!(matches!(keys.verify(&token), Err(AuthError::TokenExpired)));
        let mut forged = token.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(matches!(keys.verify(&forged), Err(AuthError::BadToken)));
    }

    #[test]
    fn hmac_tokens_are_refused_even_keyed_with_the_public_key() {
        let keys = keyset("a", &["a"]);
        let claims = keys
            .verify(&token(&keys, OffsetDateTime::now_utc()))
            .unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("a".into());
        // The old shape: HS256 with a shared secret.
        let old_shape =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&[7; 48])).unwrap();
        assert!(matches!(keys.verify(&old_shape), Err(AuthError::BadToken)));
        // The classic confusion: the public key (known to all) used as an HMAC secret.
        let public = keys.public["a"];
        let confused =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).unwrap();
        assert!(matches!(keys.verify(&confused), Err(AuthError::BadToken)));
    }

    #[test]
    fn keysets_with_bad_keys_are_refused() {
        let short = serde_json::json!({"active_kid": "a", "keys": {"a": STANDARD.encode([1; 16])}});
        assert!(matches!(
            JwtKeys::from_signing_json(&short.to_string()),
            Err(KeysetError::Length(_))
        ));
        let missing =
            serde_json::json!({"active_kid": "z", "keys": {"a": STANDARD.encode([1; 32])}});
        assert!(matches!(
            JwtKeys::from_signing_json(&missing.to_string()),
            Err(KeysetError::UnknownActive(_))
        ));
        assert!(matches!(
            JwtKeys::from_public_json(r#"{"keys": {}}"#),
            Err(KeysetError::Empty)
        ));
        let generated = JwtKeys::from_signing_json(&JwtKeys::generate_json("k1")).unwrap();
        assert_eq!(generated.active_kid(), Some("k1"));
    }

    #[test]
    fn refresh_tokens_are_random_and_hash_to_32_bytes() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(URL_SAFE_NO_PAD.decode(a.as_str()).unwrap().len(), 32);
        assert_eq!(refresh_token_hash(a.as_str()).len(), 32);
    }
}
