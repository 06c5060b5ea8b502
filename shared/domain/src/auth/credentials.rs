//! What an account is made of, parsed once at the edge: an email, a password, a display name.
//! Each type's `parse` is the only way to build it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization as _;

/// A trimmed, lower-cased, syntactically valid email address.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normalised = Self::for_login(raw)?;
        if !email_address::EmailAddress::is_valid(&normalised) || !normalised.contains('.') {
            return Err("is not a valid email address".into());
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The email a login looks up: normalised as at signup, under signup's length rules (an
    /// over-long one is a 400, not a lookup), but not judged otherwise, so that a malformed and
    /// an unknown email answer alike.
    pub fn for_login(raw: &str) -> Result<String, String> {
        let normalised = normalise_email(raw);
        if normalised.is_empty() {
            return Err("is required".into());
        }
        if normalised.len() > MAX_EMAIL_BYTES {
            return Err(format!("must be at most {MAX_EMAIL_BYTES} characters"));
        }
        Ok(normalised)
    }
}

/// The longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Emails never reach logs whole.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "Email(…@{domain})")
    }
}

/// How an email is looked up at login: the same normalisation as signup, without judging it.
pub fn normalise_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A password good enough to set: 8–128 characters and not guessable from common-password
/// lists, keyboard patterns or the account's own email and name.
pub struct Password(SecretString);

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

impl Password {
    /// `context` holds the account's other inputs (email, display name): a password built from
    /// them is weak however long it is.
    pub fn parse(raw: &str, context: &[&str]) -> Result<Self, String> {
        let chars = raw.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
            return Err(format!(
                "must be {PASSWORD_MIN_CHARS}–{PASSWORD_MAX_CHARS} characters"
            ));
        }
        // zxcvbn (Dropbox's estimator) matches against the common-password, name and word
        // lists it ships, with l33t, reversed, repeated and keyboard variants. Below score 2
        // (fewer than 10^6 guesses) a password is on, or one step from, those lists.
        let estimate = zxcvbn::zxcvbn(raw, context);
        if estimate.score() < zxcvbn::Score::Two {
            return Err("is too common or easy to guess".into());
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A display name: trimmed, NFC-normalised, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name: String = raw.trim().nfc().collect();
        let chars = name.chars().count();
        if chars == 0 {
            return Err("is required".into());
        }
        if chars > 100 {
            return Err("must be at most 100 characters".into());
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@@example.com",
            "ada@localhost",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn email_debug_hides_the_local_part() {
        let email = Email::parse("ada@example.com").unwrap();
        assert_eq!(format!("{email:?}"), "Email(…@example.com)");
    }

    #[test]
    fn passwords_outside_8_to_128_characters_are_refused() {
        assert!(Password::parse("Zq8#vR2", &[]).is_err());
        assert!(Password::parse(&"Zq8#vR2!".repeat(17), &[]).is_err());
        // Length counts characters, not bytes: eight multi-byte characters are enough.
        assert!(Password::parse("ŻółwŹébrąĘ", &[]).is_ok());
    }

    #[test]
    fn common_passwords_are_refused() {
        for weak in [
            "password",
            "password1",
            "12345678",
            "qwertyuiop",
            "iloveyou1",
            "P@ssw0rd",
        ] {
            assert!(
                Password::parse(weak, &[]).is_err(),
                "{weak:?} should be refused"
            );
        }
    }

    #[test]
    fn a_password_made_of_the_email_is_refused() {
        assert!(Password::parse("ada.lovelace1815", &["ada.lovelace1815", "Ada"]).is_err());
    }

    #[test]
    fn a_long_unusual_password_is_accepted() {
        assert!(Password::parse("correct-horse-battery-staple", &[]).is_ok());
        assert!(Password::parse(&"x7$Lm".repeat(25), &[]).is_ok());
    }

    #[test]
    fn display_names_keep_unicode_and_lose_surrounding_space() {
        assert_eq!(
            DisplayName::parse("  Björk Guðmundsdóttir ")
                .unwrap()
                .as_str(),
            "Björk Guðmundsdóttir"
        );
        assert_eq!(
            DisplayName::parse("坂本龍一 🎹").unwrap().as_str(),
            "坂本龍一 🎹"
        );
        // NFC: a decomposed é becomes the single code point.
        assert_eq!(
            DisplayName::parse("Beyonce\u{301}").unwrap().as_str(),
            "Beyoncé"
        );
    }

    #[test]
    fn blank_long_or_control_display_names_are_refused() {
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"é".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
    }
}
