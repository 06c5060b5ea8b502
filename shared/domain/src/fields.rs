//! Field-level input problems, reported all at once (API.md: `details.fields` of a 400), and the
//! serde helper that tells an absent PATCH field from an explicit `null`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// One field's problem, as the only entry.
pub fn one(name: &'static str, problem: impl Into<String>) -> FieldErrors {
    FieldErrors::from([(name, problem.into())])
}

/// Deserialize a field that may be absent (no change), `null` (clear) or a value (set):
/// use with `#[serde(default, deserialize_with = "patch")]` on an `Option<Option<T>>`.
pub fn patch<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
