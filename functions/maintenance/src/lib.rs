//! The maintenance function, run by an EventBridge schedule (infra/template.yaml) with the input
//! `{"task": "partitions", "months_ahead": 2, "keep_days": 400}`: `hound partitions ensure` and
//! `hound partitions prune` in one call, so telemetry always has a partition to land in and old
//! months go as whole partitions.

use hound::db::Pool;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    Partitions {
        #[serde(default = "default_months_ahead")]
        months_ahead: i32,
        /// Keep this many days of plays and events; `null` keeps everything.
        keep_days: Option<u32>,
    },
}

fn default_months_ahead() -> i32 {
    2
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    pub created: Vec<String>,
    pub dropped: Vec<String>,
}

pub fn pool_from_env() -> anyhow::Result<Pool> {
    hound::db::pool(&hound::config::database_from_env()?)
}

pub async fn handle(pool: &Pool, task: Task) -> anyhow::Result<Report> {
    let client = pool.get().await?;
    let now = time::OffsetDateTime::now_utc();
    match task {
        Task::Partitions {
            months_ahead,
            keep_days,
        } => {
            anyhow::ensure!(
                (0..=24).contains(&months_ahead),
                "months_ahead must be 0..=24"
            );
            let created = hound::partitions::ensure(&client, now, months_ahead).await?;
            let dropped = match keep_days {
                Some(days) => {
                    anyhow::ensure!(days >= 31, "keep_days must be at least 31");
                    hound::partitions::prune(&client, now, days).await?
                }
                None => Vec::new(),
            };
            tracing::info!(?created, ?dropped, "partitions maintained");
            Ok(Report { created, dropped })
        }
    }
}
