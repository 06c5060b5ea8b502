//! Query strings every paged list takes.

use serde::Deserialize;
use utoipa::IntoParams;

/// `?cursor&limit` of a paged list (`hound_domain::paging` checks both).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}
