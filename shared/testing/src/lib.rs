//! Test support, used only as a dev-dependency: a database per test cloned from a migrated
//! template, moto buckets and queues per test, in-process API Gateway calls, signing keys and
//! accounts, generated media, processes that die with the test (`cargo lambda watch`), and —
//! with the `worker` feature — the transcode worker's fixture.

mod accounts;
mod aws;
mod database;
mod http;
mod media;
mod process;
#[cfg(feature = "worker")]
mod transcode;

pub use accounts::{
    PASSWORD, gate_env, jwt_env, keys_with, sign_up, stripe_base, test_gate_keys, test_keys,
    test_stripe,
};
pub use aws::{SentMail, TEST_SENDER, TestAws, aws_endpoint, mail_to, moto_config};
pub use database::{
    MAX_SWEEP, TEST_DB_PREFIX, TestDb, admin_url, sweep_leftover_databases, test_db_pid,
};
pub use http::{Call, TestResponse};
pub use media::{ffmpeg, ffprobe, music};
pub use process::{ProcessGroup, WORKSPACE, Watch, free_port};
#[cfg(feature = "worker")]
pub use transcode::{Fixture, sqs_event};
