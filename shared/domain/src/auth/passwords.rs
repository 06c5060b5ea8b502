//! Argon2id password hashing with OWASP's parameters (19 MiB, 2 passes, 1 lane), run off the
//! async executor. Unknown accounts are checked against a dummy hash so they take as long; the
//! dummy is a constant made once with the same parameters (hashing one at start-up cost every
//! cold start ~20 ms of CPU before the first request).

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use super::error::AuthError;

/// An argon2id hash (OWASP parameters) of 32 random bytes nobody kept: verifying any password
/// against it costs what a real check costs, and never matches (nor would it count: `verify`
/// answers false for unknown accounts whatever it finds).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$hp+tuczz0k7Ws/6c4zwyYQ$QV7b0heOSFI5nbVlWefdGpQZmZXI1CdFE/g4Qq29qE0";

#[derive(Clone)]
pub struct Passwords {
    argon: Arc<Argon2<'static>>,
    /// A hash to verify against when there is no account.
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1. Cheap: nothing is
    /// hashed here.
    pub fn owasp() -> Self {
        let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        Self {
            argon: Arc::new(argon),
            dummy_hash: DUMMY_HASH.into(),
        }
    }

    /// Hash a new password (PHC string format, parameters included).
    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let argon = self.argon.clone();
        let password = SecretString::from(password);
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| AuthError::Internal(anyhow::anyhow!("hashing password: {e}")))
        })
        .await
        .map_err(|e| AuthError::Internal(e.into()))?
    }

    /// Check `password` against `stored`, or against the dummy when there is no account, so
    /// both paths do the same work. Returns true only for a real match.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, AuthError> {
        let argon = self.argon.clone();
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let password = SecretString::from(password);
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| AuthError::Internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
            let matches = argon
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok();
            Ok(real && matches)
        })
        .await
        .map_err(|e| AuthError::Internal(e.into()))?
    }

    /// Time one hash (for `make bench`).
    pub fn hash_blocking(&self, password: &str) -> String {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .expect("hashing")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let passwords = Passwords::owasp();
        let hash = passwords
            .hash("correct-horse-battery-staple")
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct-horse-battery-staple", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("correct-horse-battery-stapler", Some(hash))
                .await
                .unwrap()
        );
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_of_real_hashes() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(dummy.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&dummy).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19_456, 2, 1)
        );
        assert_eq!(dummy.hash.unwrap().len(), 32);
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let passwords = Passwords::owasp();
        assert!(!passwords.verify("anything-at-all", None).await.unwrap());
    }
}
