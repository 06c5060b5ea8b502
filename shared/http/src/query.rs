//! Query strings every paged list takes.

use serde::Deserialize;

/// `?cursor&limit` of a paged list (`hound_domain::paging` checks both).
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}
