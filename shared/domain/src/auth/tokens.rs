//! Access tokens (HS256 JWTs signed with a rotating keyset, `kid` in the header) and opaque
//! refresh tokens (256 random bits; only their SHA-256 is ever stored).

use std::collections::HashMap;

use super::error::AuthError;
use super::role::Role;
use crate::ids::{SessionId, UserId};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
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
const MIN_KEY_BYTES: usize = 32;

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

/// The signing keyset. Every key verifies; only the active one signs, so a new key can be
/// introduced and made active while tokens signed by the old one stay valid until they expire.
pub struct JwtKeys {
    active_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

#[derive(Deserialize)]
struct KeysetJson {
    active_kid: String,
    keys: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysetError {
    #[error(
        "JWT_KEYS is not JSON of the form {{\"active_kid\": \"…\", \"keys\": {{\"kid\": \"base64\"}}}}: {0}"
    )]
    Shape(serde_json::Error),
    #[error("JWT_KEYS key {0:?} is not valid base64")]
    Encoding(String),
    #[error("JWT_KEYS key {0:?} is shorter than 32 bytes")]
    TooShort(String),
    #[error("JWT_KEYS active_kid {0:?} is not among its keys")]
    UnknownActive(String),
}

impl JwtKeys {
    /// Parse the keyset JSON (the value of `JWT_KEYS`, held in Secrets Manager in AWS).
    pub fn from_json(json: &str) -> Result<Self, KeysetError> {
        let parsed: KeysetJson = serde_json::from_str(json).map_err(KeysetError::Shape)?;
        let mut secrets = HashMap::new();
        for (kid, encoded) in parsed.keys {
            let bytes = STANDARD
                .decode(encoded.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim()))
                .map_err(|_| KeysetError::Encoding(kid.clone()))?;
            if bytes.len() < MIN_KEY_BYTES {
                return Err(KeysetError::TooShort(kid));
            }
            secrets.insert(kid, bytes);
        }
        let active = secrets
            .get(&parsed.active_kid)
            .ok_or_else(|| KeysetError::UnknownActive(parsed.active_kid.clone()))?;
        Ok(Self {
            encoding: EncodingKey::from_secret(active),
            decoding: secrets
                .iter()
                .map(|(kid, bytes)| (kid.clone(), DecodingKey::from_secret(bytes)))
                .collect(),
            active_kid: parsed.active_kid,
        })
    }

    /// `JWT_KEYS`: the signing keyset as JSON (see `hound jwt-keygen`).
    pub fn from_env() -> anyhow::Result<Self> {
        let json = crate::config::required_var("JWT_KEYS")?;
        Self::from_json(&json).map_err(|e| anyhow::anyhow!("JWT_KEYS: {e}"))
    }

    /// A fresh keyset JSON with one random key (used by `hound jwt-keygen`).
    pub fn generate_json(kid: &str) -> String {
        let mut secret = [0_u8; 48];
        rand::rng().fill_bytes(&mut secret);
        serde_json::json!({"active_kid": kid, "keys": {kid: STANDARD.encode(secret)}}).to_string()
    }

    pub fn active_kid(&self) -> &str {
        &self.active_kid
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.active_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("signing access token: {e}")))
    }

    /// Check signature, key id, issuer and expiry. Session liveness is checked by the caller.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::BadToken)?;
        if header.alg != Algorithm::HS256 {
            return Err(AuthError::BadToken);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(AuthError::BadToken)?;
        let mut validation = Validation::new(Algorithm::HS256);
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
        JwtKeys::from_json(&serde_json::json!({"active_kid": active, "keys": keys}).to_string())
            .unwrap()
    }

    #[test]
    fn a_token_verifies_after_its_key_stops_being_the_active_one() {
        let old = keyset("a", &["a"]);
        let (token, _) = old
            .issue(
                UserId::generate(),
                SessionId::generate(),
                &[Role::Listener],
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        let rotated = keyset("b", &["a", "b"]);
        assert!(rotated.verify(&token).is_ok());
        let retired = keyset("b", &["b"]);
        assert!(matches!(retired.verify(&token), Err(AuthError::BadToken)));
    }

    #[test]
    fn an_expired_token_is_told_apart_from_a_forged_one() {
        let keys = keyset("a", &["a"]);
        let long_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let (token, _) = keys
            .issue(
                UserId::generate(),
                SessionId::generate(),
                &[Role::Listener],
                long_ago,
            )
            .unwrap();
        assert!(matches!(keys.verify(&token), Err(AuthError::TokenExpired)));
        let mut forged = token.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(matches!(keys.verify(&forged), Err(AuthError::BadToken)));
    }

    #[test]
    fn a_keyset_with_short_or_missing_keys_is_refused() {
        let short = serde_json::json!({"active_kid": "a", "keys": {"a": STANDARD.encode([1; 16])}});
        assert!(matches!(
            JwtKeys::from_json(&short.to_string()),
            Err(KeysetError::TooShort(_))
        ));
        let missing =
            serde_json::json!({"active_kid": "z", "keys": {"a": STANDARD.encode([1; 32])}});
        assert!(matches!(
            JwtKeys::from_json(&missing.to_string()),
            Err(KeysetError::UnknownActive(_))
        ));
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
