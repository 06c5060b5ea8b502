//! Pages of lists ordered newest first by `(timestamp, id)`: the limit rule, the opaque cursor
//! and the `{items, next_cursor}` shape, shared by every paged list (studio releases, library).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::fields::{self, FieldErrors};

/// A page of items and the cursor that continues after its last one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A parsed page request: how many rows, and after which `(at, id)`.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    limit: i64,
    after: Option<(OffsetDateTime, Uuid)>,
}

impl PageRequest {
    /// `limit` must be 1–100 (`default` when absent); `cursor` must be one this API handed out.
    pub fn parse(
        cursor: Option<&str>,
        limit: Option<i64>,
        default: i64,
    ) -> Result<Self, FieldErrors> {
        let limit = limit.unwrap_or(default);
        if !(1..=100).contains(&limit) {
            return Err(fields::one("limit", "must be 1–100"));
        }
        let after = cursor
            .map(|c| {
                decode(c).ok_or_else(|| fields::one("cursor", "is not a cursor this API returned"))
            })
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// `$n::timestamptz` of the row to continue after (`NULL` for the first page).
    pub fn after_at(&self) -> Option<OffsetDateTime> {
        self.after.map(|(at, _)| at)
    }

    pub fn after_id(&self) -> Option<Uuid> {
        self.after.map(|(_, id)| id)
    }

    /// The SQL `LIMIT`: one more row than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cut the fetched rows to the page; the cursor continues after the last item kept.
    pub fn page<T>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T) -> (OffsetDateTime, Uuid),
    ) -> Page<T> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| {
                let (at, id) = key(item);
                encode(at, id)
            })
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// The cursor that continues after the row `(at, id)`.
pub fn encode(at: OffsetDateTime, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.unix_timestamp_nanos()))
}

/// The `(at, id)` a cursor continues after; `None` for anything this API did not hand out.
pub fn decode(cursor: &str) -> Option<(OffsetDateTime, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (nanos, id) = text.split_once(':')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some((at, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode(&encode(at, id)), Some((at, id)));
        assert_eq!(decode("nope"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("1:not-a-uuid")), None);
    }

    #[test]
    fn a_page_keeps_the_limit_and_continues_after_its_last_item() {
        let request = PageRequest::parse(None, Some(2), 50).unwrap();
        let at = OffsetDateTime::UNIX_EPOCH;
        let rows: Vec<(OffsetDateTime, Uuid)> = (0..3).map(|_| (at, Uuid::new_v4())).collect();
        let page = request.page(rows.clone(), |row| *row);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(encode(at, rows[1].1)));
        let last = request.page(rows[..2].to_vec(), |row| *row);
        assert_eq!(last.next_cursor, None);
        assert!(PageRequest::parse(None, Some(0), 50).is_err());
        assert!(PageRequest::parse(Some("nope"), None, 50).is_err());
    }
}
