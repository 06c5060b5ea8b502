//! The catalogue's closed sets (mirrored by Postgres enums) and the values whose rules live in
//! their type: a title, a UPC, an ISRC and a price in credits are parsed once, at the edge.

use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "release_kind", rename_all = "snake_case")]
pub enum ReleaseKind {
    Album,
    Ep,
    Single,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "release_status", rename_all = "snake_case")]
pub enum ReleaseStatus {
    Draft,
    Submitted,
    Scheduled,
    Published,
}

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSql,
    FromSql,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "release_access", rename_all = "snake_case")]
pub enum Access {
    #[default]
    Public,
    Unlisted,
    Code,
    Event,
    Paid,
}

/// A release or track title: trimmed, 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSql, FromSql, utoipa::ToSchema)]
#[serde(transparent)]
#[postgres(transparent)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = raw.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err("must be 1–200 characters".into());
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Universal Product Code: 12 or 13 digits (UPC-A or EAN-13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSql, FromSql, utoipa::ToSchema)]
#[serde(transparent)]
#[postgres(transparent)]
pub struct Upc(String);

impl Upc {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let upc = raw.trim();
        if !(12..=13).contains(&upc.len()) || !upc.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 12 or 13 digits".into());
        }
        Ok(Self(upc.to_owned()))
    }
}

/// An International Standard Recording Code, CC-XXX-YY-NNNNN: hyphens and spaces are dropped,
/// letters upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSql, FromSql, utoipa::ToSchema)]
#[serde(transparent)]
#[postgres(transparent)]
pub struct Isrc(String);

impl Isrc {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let isrc: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        let b = isrc.as_bytes();
        let ok = b.len() == 12
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..5].iter().all(u8::is_ascii_alphanumeric)
            && b[5..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(Self(isrc))
        } else {
            Err("is not a valid ISRC (CC-XXX-YY-NNNNN)".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount of credits, the platform's unit of payment (API.md: credits are integers).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSql,
    FromSql,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[postgres(transparent)]
pub struct Credits(i32);

impl Credits {
    /// The most a release may cost.
    pub const MAX_PRICE: i32 = 100_000;

    /// A release's price: 1–100000 credits.
    pub fn price(amount: i32) -> Result<Self, String> {
        if (1..=Self::MAX_PRICE).contains(&amount) {
            Ok(Self(amount))
        } else {
            Err(format!("must be 1–{}", Self::MAX_PRICE))
        }
    }

    pub fn amount(self) -> i32 {
        self.0
    }
}

/// Where a track's 30-second preview starts, in milliseconds from the start of its master.
/// Below the longest master the transcoder accepts (30 minutes); the transcoder moves a start
/// too close to the end (or past it) back so the preview still lasts 30 s (docs/transcoder.md).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSql, FromSql, utoipa::ToSchema,
)]
#[serde(transparent)]
#[postgres(transparent)]
pub struct PreviewStart(i32);

impl PreviewStart {
    /// A master is at most 30 minutes long (`too_long` past that).
    pub const LIMIT_MS: i64 = 30 * 60 * 1000;

    /// 0 ≤ `ms` < 30 minutes.
    pub fn parse(ms: i64) -> Result<Self, String> {
        if (0..Self::LIMIT_MS).contains(&ms) {
            Ok(Self(ms as i32))
        } else {
            Err(format!("must be 0–{} (milliseconds)", Self::LIMIT_MS - 1))
        }
    }

    pub fn ms(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isrcs_are_normalised_and_checked() {
        assert_eq!(
            Isrc::parse("us-s1z-99-00001").unwrap().as_str(),
            "USS1Z9900001"
        );
        assert!(Isrc::parse("USS1Z990000").is_err());
        assert!(Isrc::parse("1SS1Z9900001").is_err());
        assert!(Isrc::parse("USS1Z99000A1").is_err());
    }

    #[test]
    fn titles_upcs_and_prices_keep_their_rules() {
        assert_eq!(Title::parse("  Dawn ").unwrap().as_str(), "Dawn");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert!(Upc::parse("012345678905").is_ok());
        assert!(Upc::parse("01234567890").is_err());
        assert!(Upc::parse("01234567890a").is_err());
        assert!(Credits::price(0).is_err());
        assert_eq!(Credits::price(100_000).unwrap().amount(), 100_000);
        assert!(Credits::price(100_001).is_err());
    }

    #[test]
    fn a_preview_starts_within_the_longest_master() {
        assert_eq!(PreviewStart::parse(0).unwrap().ms(), 0);
        assert_eq!(PreviewStart::parse(1_799_999).unwrap().ms(), 1_799_999);
        assert!(PreviewStart::parse(-1).is_err());
        assert!(PreviewStart::parse(1_800_000).is_err());
        assert!(PreviewStart::parse(i64::MAX).is_err());
    }
}
