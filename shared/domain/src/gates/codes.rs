//! Access codes: batches of short, typeable codes, shown once and stored only as keyed hashes.
//! In the studio, for a release (listed with their counts, revoked); for the platform's
//! operators (`hound credit-codes`), for credits.
//!
//! A code is `XXXX-XXXX` over 32 characters without look-alikes (no 0/O, no 1/I): 40 bits, so
//! with ten failed guesses an hour per listener (throttle.rs) guessing one is hopeless. What a
//! listener types is normalised (case, spaces, dashes) before it is hashed.

use deadpool_postgres::GenericClient;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::GateError;
use super::keys::CodeKeys;
use crate::db::Tx;
use crate::ids::{ArtistId, BatchId, ReleaseId};

/// The characters of a code: digits 2–9 and the letters but I and O.
pub const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code, not counting the dash.
pub const CODE_LEN: usize = 8;
pub const MAX_CODES_PER_BATCH: u32 = 1000;
pub const MAX_USES: i32 = 1_000_000;
pub const MAX_NOTE_CHARS: usize = 200;
/// Credits one redemption of a credits code may grant.
pub const MAX_CODE_CREDITS: i32 = 1000;

/// A fresh code, `XXXX-XXXX` (the thread RNG is a CSPRNG).
pub fn generate_code() -> String {
    let mut rng = rand::rng();
    let mut code = String::with_capacity(CODE_LEN + 1);
    for i in 0..CODE_LEN {
        if i == CODE_LEN / 2 {
            code.push('-');
        }
        code.push(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char);
    }
    code
}

/// What was typed, as it is hashed: upper case, without spaces, dashes or underscores; `None`
/// when it cannot be a code at all.
pub fn normalise_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '\u{2010}'..='\u{2015}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// `POST …/codes`: how many, how often each, until when.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCodes {
    /// 1–1000.
    pub count: u32,
    /// Redemptions each code allows (default 1).
    pub max_uses: Option<i32>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// The artist's own label for the batch (≤ 200 characters).
    pub note: Option<String>,
}

/// A batch as the studio lists it: never a code in clear.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Batch {
    pub id: BatchId,
    pub release_id: ReleaseId,
    /// What each code grants (`release`).
    pub grants: &'static str,
    /// Codes in the batch.
    pub issued: i32,
    pub max_uses: i32,
    /// Redemptions so far, over all its codes.
    pub used: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A new batch and its codes, the only time they are shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedCodes {
    pub batch: Batch,
    pub codes: Vec<String>,
}

/// The batch list of a release, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Batches {
    pub items: Vec<Batch>,
}

const OWN_RELEASE: &str = "SELECT 1 FROM releases WHERE id = $1";

const INSERT_BATCH: &str = "\
    INSERT INTO code_batches (id, artist_id, release_id, grants, credits, issued, max_uses,
                              expires_at, note)
    VALUES ($1, $2, $3, $4::text::code_grant, $5, $6, $7, $8, $9)";

/// Codes whose hash is new go in; the ids of those that went in come back (a collision with
/// any stored code, however unlikely, is simply drawn again). The studio may not read hashes
/// back, so each code is known by the id given to it here.
const INSERT_CODES: &str = "\
    INSERT INTO access_codes (id, batch_id, code_hash, key_id, max_uses)
    SELECT c.id, $1, c.hash, $4, $5 FROM unnest($2::uuid[], $3::bytea[]) AS c(id, hash)
    ON CONFLICT (code_hash) DO NOTHING
    RETURNING id";

macro_rules! batch_select {
    () => {
        "SELECT b.id, b.release_id, b.issued, b.max_uses, b.expires_at, b.note, b.created_at,
                b.revoked_at,
                (SELECT coalesce(sum(c.uses), 0)::bigint FROM access_codes c
                  WHERE c.batch_id = b.id) AS used
           FROM code_batches b"
    };
}

const BATCH: &str = concat!(batch_select!(), " WHERE b.id = $1");

const LIST_BATCHES: &str = concat!(
    batch_select!(),
    " WHERE b.release_id = $1 ORDER BY b.created_at DESC, b.id DESC LIMIT 500"
);

const REVOKE: &str = "\
    UPDATE code_batches SET revoked_at = coalesce(revoked_at, now())
     WHERE id = $1 AND release_id = $2";

fn batch_from_row(row: &tokio_postgres::Row) -> Batch {
    Batch {
        id: row.get("id"),
        release_id: row.get("release_id"),
        grants: "release",
        issued: row.get("issued"),
        max_uses: row.get("max_uses"),
        used: row.get("used"),
        expires_at: row.get("expires_at"),
        note: row.get("note"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    }
}

fn validate(input: &NewCodes, now: OffsetDateTime) -> Result<(i32, Option<String>), GateError> {
    let mut problems = crate::fields::FieldErrors::new();
    if !(1..=MAX_CODES_PER_BATCH).contains(&input.count) {
        problems.insert(
            "count",
            format!("must be between 1 and {MAX_CODES_PER_BATCH}"),
        );
    }
    let max_uses = input.max_uses.unwrap_or(1);
    if !(1..=MAX_USES).contains(&max_uses) {
        problems.insert("max_uses", format!("must be between 1 and {MAX_USES}"));
    }
    if input.expires_at.is_some_and(|at| at <= now) {
        problems.insert("expires_at", "must be in the future".into());
    }
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        problems.insert(
            "note",
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        );
    }
    if problems.is_empty() {
        Ok((max_uses, note.map(str::to_owned)))
    } else {
        Err(GateError::Invalid(problems))
    }
}

async fn require_own_release(db: &impl GenericClient, release: ReleaseId) -> Result<(), GateError> {
    let statement = db.prepare_cached(OWN_RELEASE).await?;
    match db.query_opt(&statement, &[&release]).await? {
        Some(_) => Ok(()),
        None => Err(GateError::NotFound),
    }
}

/// What a new batch grants.
enum Grants {
    Release {
        artist: ArtistId,
        release: ReleaseId,
    },
    Credits(i32),
}

/// Issue a batch of codes for the artist's own `release`, in the caller's transaction.
#[tracing::instrument(skip(tx, keys, input))]
pub async fn issue_codes(
    tx: &Tx<'_>,
    keys: &CodeKeys,
    artist: ArtistId,
    release: ReleaseId,
    input: NewCodes,
) -> Result<IssuedCodes, GateError> {
    let (max_uses, note) = validate(&input, OffsetDateTime::now_utc())?;
    require_own_release(tx, release).await?;
    let grants = Grants::Release { artist, release };
    let (batch, codes) = insert_batch(tx, keys, &grants, &input, max_uses, note).await?;
    let statement = tx.prepare_cached(BATCH).await?;
    let row = tx.query_one(&statement, &[&batch]).await?;
    Ok(IssuedCodes {
        batch: batch_from_row(&row),
        codes,
    })
}

/// Issue a batch of platform codes each worth `credits` (the operators' `hound credit-codes`,
/// as the owner role), in the caller's transaction: the batch id and the codes, shown once.
#[tracing::instrument(skip(tx, keys, input))]
pub async fn issue_credit_codes(
    tx: &Tx<'_>,
    keys: &CodeKeys,
    credits: i32,
    input: NewCodes,
) -> Result<(BatchId, Vec<String>), GateError> {
    let (max_uses, note) = validate(&input, OffsetDateTime::now_utc())?;
    if !(1..=MAX_CODE_CREDITS).contains(&credits) {
        return Err(GateError::field("credits", "must be between 1 and 1000"));
    }
    insert_batch(tx, keys, &Grants::Credits(credits), &input, max_uses, note).await
}

async fn insert_batch(
    tx: &Tx<'_>,
    keys: &CodeKeys,
    grants: &Grants,
    input: &NewCodes,
    max_uses: i32,
    note: Option<String>,
) -> Result<(BatchId, Vec<String>), GateError> {
    let batch = BatchId::generate();
    let issued = input.count as i32;
    let (artist, release, kind, credits) = match grants {
        Grants::Release { artist, release } => (Some(*artist), Some(*release), "release", None),
        Grants::Credits(credits) => (None, None, "credits", Some(*credits)),
    };
    let statement = tx.prepare_cached(INSERT_BATCH).await?;
    tx.execute(
        &statement,
        &[
            &batch,
            &artist,
            &release,
            &kind,
            &credits,
            &issued,
            &max_uses,
            &input.expires_at,
            &note,
        ],
    )
    .await?;
    let insert = tx.prepare_cached(INSERT_CODES).await?;
    let mut codes = Vec::with_capacity(input.count as usize);
    while codes.len() < input.count as usize {
        let drawn: Vec<String> = (codes.len()..input.count as usize)
            .map(|_| generate_code())
            .collect();
        let key_id = keys.active_kid();
        let mut ids = Vec::with_capacity(drawn.len());
        let mut hashes = Vec::with_capacity(drawn.len());
        for code in &drawn {
            ids.push(uuid::Uuid::new_v4());
            hashes.push(
                keys.hash(&normalise_code(code).expect("a drawn code is valid"))
                    .hash,
            );
        }
        let stored: std::collections::HashSet<uuid::Uuid> = tx
            .query(&insert, &[&batch, &ids, &hashes, &key_id, &max_uses])
            .await?
            .iter()
            .map(|row| row.get::<_, uuid::Uuid>(0))
            .collect();
        for (code, id) in drawn.into_iter().zip(ids) {
            if stored.contains(&id) {
                codes.push(code);
            }
        }
    }
    Ok((batch, codes))
}

/// The batches of the artist's own `release`, newest first.
pub async fn list_batches(tx: &Tx<'_>, release: ReleaseId) -> Result<Batches, GateError> {
    require_own_release(tx, release).await?;
    let statement = tx.prepare_cached(LIST_BATCHES).await?;
    let rows = tx.query(&statement, &[&release]).await?;
    Ok(Batches {
        items: rows.iter().map(batch_from_row).collect(),
    })
}

/// Revoke a batch: its codes stop redeeming (what they granted stays granted). Idempotent.
pub async fn revoke_batch(
    db: &impl GenericClient,
    release: ReleaseId,
    batch: BatchId,
) -> Result<(), GateError> {
    let statement = db.prepare_cached(REVOKE).await?;
    match db.execute(&statement, &[&batch, &release]).await? {
        0 => Err(GateError::NotFound),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_alphabet_contains(c: char) -> bool {
        c.is_ascii() && CODE_ALPHABET.contains(&(c as u8))
    }

    #[test]
    fn codes_are_typeable_and_normalise_back_from_what_people_type() {
        for _ in 0..200 {
            let code = generate_code();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(
                code.chars()
                    .filter(|c| *c != '-')
                    .all(code_alphabet_contains)
            );
            let typed = format!("  {} {} ", code[..4].to_lowercase(), &code[5..]);
            assert_eq!(normalise_code(&typed).unwrap(), code.replace('-', ""));
        }
        assert_eq!(normalise_code("abcd-efgh").as_deref(), Some("ABCDEFGH"));
        assert_eq!(
            normalise_code("ab cd\u{2013}ef_gh").as_deref(),
            Some("ABCDEFGH")
        );
        assert!(
            normalise_code("ABCD-EFG0").is_none(),
            "0 is not in the alphabet"
        );
        assert!(
            normalise_code("ABCD-EFGI").is_none(),
            "I is not in the alphabet"
        );
        assert!(normalise_code("ABCD-EFG").is_none());
        assert!(normalise_code(&"A".repeat(100)).is_none());
        assert!(normalise_code("ÄBCD-EFGH").is_none());
    }
}
