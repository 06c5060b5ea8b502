//! Hound's domain: the business rules and their SQL, by area (`auth`, `catalog`, `uploads`,
//! `jobs`, `listener`, `gates`, `money`, `plans`, `stats`), over the database, configuration and AWS clients they run on. It knows
//! nothing of HTTP (that is `hound-http`) or of ffmpeg (`hound-media`); the functions under
//! `functions/` are thin shells around it.

pub mod assets;
pub mod auth;
pub mod aws;
pub mod catalog;
pub mod config;
pub mod db;
pub mod fields;
pub mod gates;
pub mod ids;
pub mod jobs;
pub mod listener;
pub mod logging;
pub mod money;
pub mod notify;
pub mod paging;
pub mod partitions;
pub mod plans;
pub mod profiles;
pub mod stats;
pub mod uploads;
