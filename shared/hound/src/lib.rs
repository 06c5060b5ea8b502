//! Hound's domain crate: configuration, the database, the API error shape, HTTP plumbing and
//! the business rules, split by area. Functions under `functions/` are thin shells around it.

pub mod auth;
pub mod catalog;
pub mod config;
pub mod cursor;
pub mod db;
pub mod error;
pub mod http;
pub mod listener;
pub mod media;
pub mod partitions;
pub mod presign;
pub mod profiles;
pub mod storage;
pub mod telemetry;
pub mod transcode;
pub mod uploads;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::ApiError;
