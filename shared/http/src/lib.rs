//! The HTTP boundary every API function shares, above the domain: API.md's error envelope and
//! its mapping from each area's errors, JSON and path extractors, the Bearer caller, the
//! per-request database connection and transaction, and the request-id middleware. Only HTTP
//! functions link it.

mod backend;
mod caller;
mod error;
mod json;
mod mapping;
mod middleware;
pub mod openapi;
mod path;
mod query;

pub use backend::{Backend, Db, commit};
pub use caller::Bearer;
pub use error::{ApiError, ErrorEnvelope};
pub use json::{JsonBody, MAX_BODY_BYTES, OptionalJsonBody, parse};
pub use middleware::{REQUEST_ID, RequestId, service};
pub use path::{PathId, PathIds};
pub use query::PageQuery;
