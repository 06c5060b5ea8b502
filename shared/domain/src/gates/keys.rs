//! The gates' server keys. Two key rings of the same shape, each its own secret so a function
//! holds only the one it needs: `CODE_KEYS` (HMAC-SHA256 of access codes: studio, redeem) and
//! `EVENT_KEYS` (AES-256-GCM of event secrets: studio, checkin). A ring is
//! `{"active_kid": "...", "keys": {"kid": "base64 of 32 bytes"}}` (`hound gate-keygen`); the
//! active key seals and hashes, every key in the ring opens and matches, and each stored value
//! names its key, so a new key can be made active while the old one still reads.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde::Deserialize;
use sha2::Sha256;

#[derive(Deserialize)]
struct RingJson {
    active_kid: String,
    keys: BTreeMap<String, String>,
}

/// Named 256-bit keys, one of them active. Never printed.
#[derive(Clone)]
struct Ring {
    active: String,
    keys: BTreeMap<String, [u8; 32]>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("active", &self.active)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Ring {
    fn from_json(json: &str) -> anyhow::Result<Self> {
        let parsed: RingJson = serde_json::from_str(json).context("not a key ring JSON")?;
        let mut keys = BTreeMap::new();
        for (kid, b64) in parsed.keys {
            if kid.is_empty() || kid.len() > 32 || kid.contains(',') {
                bail!("key id {kid:?} must be 1-32 characters without commas");
            }
            let bytes = STANDARD
                .decode(b64.trim())
                .with_context(|| format!("key {kid} is not base64"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow!("key {kid} must be 32 bytes"))?;
            keys.insert(kid, key);
        }
        if !keys.contains_key(&parsed.active_kid) {
            bail!("active_kid {:?} is not in keys", parsed.active_kid);
        }
        Ok(Self {
            active: parsed.active_kid,
            keys,
        })
    }

    fn from_env(var: &str) -> anyhow::Result<Self> {
        let json = crate::config::required_var(var)?;
        Self::from_json(&json).map_err(|e| anyhow!("{var}: {e:#}"))
    }

    fn active(&self) -> (&str, &[u8; 32]) {
        (&self.active, &self.keys[&self.active])
    }
}

/// A fresh ring JSON with one random key (`hound gate-keygen`).
pub fn generate_ring_json(kid: &str) -> String {
    let mut key = [0_u8; 32];
    rand::rng().fill_bytes(&mut key);
    serde_json::json!({"active_kid": kid, "keys": {kid: STANDARD.encode(key)}}).to_string()
}

/// `CODE_KEYS`: the keys access codes are hashed with.
#[derive(Clone, Debug)]
pub struct CodeKeys(Ring);

/// One code's keyed hash and the key that made it.
pub struct CodeHash {
    pub key_id: String,
    pub hash: Vec<u8>,
}

impl CodeKeys {
    pub fn from_json(json: &str) -> anyhow::Result<Self> {
        Ring::from_json(json).map(Self)
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Ring::from_env("CODE_KEYS").map(Self)
    }

    /// The id of the key new codes are hashed with.
    pub fn active_kid(&self) -> &str {
        self.0.active().0
    }

    /// The hash a new code is stored under (the active key).
    pub fn hash(&self, normalised: &str) -> CodeHash {
        let (kid, key) = self.0.active();
        CodeHash {
            key_id: kid.to_owned(),
            hash: hmac(key, normalised),
        }
    }

    /// The hashes a presented code may be stored under: one per key in the ring.
    pub fn candidates(&self, normalised: &str) -> Vec<Vec<u8>> {
        self.0.keys.values().map(|k| hmac(k, normalised)).collect()
    }
}

fn hmac(key: &[u8; 32], message: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"hound access code v1\0");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `EVENT_KEYS`: the keys event secrets are sealed with.
#[derive(Clone, Debug)]
pub struct EventKeys(Ring);

/// A secret sealed with AES-256-GCM: ciphertext (with its tag), its nonce, and the key's id.
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: [u8; 12],
    pub key_id: String,
}

impl EventKeys {
    pub fn from_json(json: &str) -> anyhow::Result<Self> {
        Ring::from_json(json).map(Self)
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Ring::from_env("EVENT_KEYS").map(Self)
    }

    /// Seal `secret` for the row `aad` names (the event id): a ciphertext copied onto another
    /// row does not open there.
    pub fn seal(&self, secret: &[u8], aad: &[u8]) -> anyhow::Result<Sealed> {
        let (kid, key) = self.0.active();
        let mut nonce = [0_u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = Aes256Gcm::new(key.into())
            .encrypt(&Nonce::from(nonce), Payload { msg: secret, aad })
            .map_err(|_| anyhow!("sealing failed"))?;
        Ok(Sealed {
            ciphertext,
            nonce,
            key_id: kid.to_owned(),
        })
    }

    /// Open a sealed secret; an unknown key id or a ciphertext that does not authenticate is an
    /// error (a key removed too early, or a tampered row).
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        let key = self
            .0
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| anyhow!("event key {:?} is not in EVENT_KEYS", sealed.key_id))?;
        Aes256Gcm::new(key.into())
            .decrypt(
                &Nonce::from(sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad,
                },
            )
            .map_err(|_| anyhow!("event secret does not authenticate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(kids: &[(&str, u8)], active: &str) -> String {
        let keys: BTreeMap<&str, String> = kids
            .iter()
            .map(|(k, b)| (*k, STANDARD.encode([*b; 32])))
            .collect();
        serde_json::json!({"active_kid": active, "keys": keys}).to_string()
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_row_and_survives_a_key_rotation() {
        let old = EventKeys::from_json(&ring(&[("a", 1)], "a")).unwrap();
        let sealed = old.seal(b"secret", b"row-1").unwrap();
        assert_ne!(sealed.ciphertext[..6], b"secret"[..]);
        assert_eq!(old.open(&sealed, b"row-1").unwrap(), b"secret");
        assert!(old.open(&sealed, b"row-2").is_err());
        let rotated = EventKeys::from_json(&ring(&[("a", 1), ("b", 2)], "b")).unwrap();
        assert_eq!(rotated.open(&sealed, b"row-1").unwrap(), b"secret");
        assert_eq!(rotated.seal(b"x", b"r").unwrap().key_id, "b");
        let dropped = EventKeys::from_json(&ring(&[("b", 2)], "b")).unwrap();
        assert!(dropped.open(&sealed, b"row-1").is_err());
    }

    #[test]
    fn code_hashes_are_keyed_and_every_ring_key_is_a_candidate() {
        let one = CodeKeys::from_json(&ring(&[("a", 1)], "a")).unwrap();
        let other = CodeKeys::from_json(&ring(&[("a", 9)], "a")).unwrap();
        assert_ne!(one.hash("ABCD2345").hash, other.hash("ABCD2345").hash);
        let rotated = CodeKeys::from_json(&ring(&[("a", 1), ("b", 2)], "b")).unwrap();
        assert!(
            rotated
                .candidates("ABCD2345")
                .contains(&one.hash("ABCD2345").hash)
        );
    }

    #[test]
    fn malformed_rings_are_refused_with_their_reason() {
        assert!(CodeKeys::from_json("{}").is_err());
        assert!(CodeKeys::from_json(&ring(&[("a", 1)], "b")).is_err());
        let short = r#"{"active_kid": "a", "keys": {"a": "AAAA"}}"#;
        assert!(format!("{:#}", CodeKeys::from_json(short).unwrap_err()).contains("32 bytes"));
    }
}
