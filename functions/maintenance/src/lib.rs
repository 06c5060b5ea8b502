//! The maintenance function, run by EventBridge schedules (infra/template.yaml): daily with
//! `{"task": "partitions", "months_ahead": 2, "keep_days": 400}` (`hound partitions ensure` and
//! `prune` in one call, so telemetry always has a partition to land in and old months go as whole
//! partitions); hourly with `{"task": "janitors"}` (expired login failures, drafts and gate
//! failures, idle listening sessions, upload intents never completed); every 15 minutes with
//! `{"task": "co_listening"}` (what listeners play next, from the plays received since) and
//! `{"task": "stats"}` (the artists' daily stats); every 5 minutes with `{"task": "preorders"}`
//! (held pre-orders captured at publication or released when their release was withdrawn) and
//! `{"task": "notifications"}` (mail still pending); daily with `{"task": "taste_index"}` (the
//! suggestions' copy of the track points written again in spatial order, migrations/V29).

use hound_domain::aws::{Mailer, Storage};
use hound_domain::db::{self, Pool};
use hound_domain::listener::{self, CoListenRun};
use hound_domain::money::{self, PreorderRun, Settled};
use hound_domain::notify::{self, SendRun};
use hound_domain::partitions;
use hound_domain::stats::{self, StatsRun};
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
    /// Remove what has expired: login failures out of the throttle's window, drafts past their
    /// 7 days, gate failures out of their hour, listening sessions idle for over an hour, and
    /// upload intents never completed within a day (their objects deleted from S3), at most
    /// `limit` rows of each a run (the next run takes the rest).
    Janitors {
        #[serde(default = "default_janitor_limit")]
        limit: i64,
    },
    /// Read the plays received since the last run into the co-listening counts.
    CoListening,
    /// Write the suggestions' copy of the track points again in spatial order, so that the
    /// nearest-neighbour scan stays short as tracks arrive.
    TasteIndex,
    /// Send the notifications still pending (their first send failed, or nobody sent it yet),
    /// at most `limit` a run.
    Notifications {
        #[serde(default = "default_notification_limit")]
        limit: i64,
    },
    /// Roll up the plays received and saves made since the last run (up to `lag_secs` ago)
    /// into the artists' daily stats.
    Stats {
        #[serde(default = "default_stats_lag")]
        lag_secs: u32,
    },
    /// Settle held pre-orders whose release was published (capture) or withdrawn or deleted
    /// (release), at most `limit` a run, each in its own transaction.
    Preorders {
        #[serde(default = "default_preorder_limit")]
        limit: i64,
    },
}

fn default_notification_limit() -> i64 {
    500
}

fn default_stats_lag() -> u32 {
    stats::STATS_LAG_SECS
}

fn default_preorder_limit() -> i64 {
    1_000
}

fn default_janitor_limit() -> i64 {
    10_000
}

fn default_months_ahead() -> i32 {
    partitions::DEFAULT_MONTHS_AHEAD
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub created: Vec<String>,
    pub dropped: Vec<String>,
    pub login_failures_removed: u64,
    /// Expired drafts removed by the janitors.
    pub drafts_removed: i32,
    /// Failed redeems and check-ins out of the throttle window, removed by the janitors.
    pub gate_failures_removed: u64,
    /// Listening sessions idle for over an hour, removed by the janitors.
    pub listening_sessions_removed: u64,
    /// Upload intents never completed within a day: objects deleted, rows marked `abandoned`.
    pub uploads_abandoned: u64,
    /// Counted plays read and (listener, pair) contributions recorded by a co-listening run.
    pub co_listening: Option<CoListenRun>,
    /// Track points written by a rebuild of the suggestions' index.
    pub taste_points: Option<i64>,
    /// Pre-orders captured and released by a settling run.
    pub preorders: Option<PreorderRun>,
    /// Track-days added to and release-days recounted by a stats run.
    pub stats: Option<StatsRun>,
    /// Notifications sent (and failed, to be retried) by a run of `notifications` or
    /// `preorders` (a captured pre-order mails its listener).
    pub notifications: Option<SendRun>,
}

/// What the tasks run on: the database as `hound_maintenance`, the buckets (the janitors
/// delete what abandoned uploads left) and the mailer (notifications).
pub struct Maintenance {
    pub pool: Pool,
    pub storage: Storage,
    pub mailer: Mailer,
}

impl Maintenance {
    pub fn new(pool: Pool, storage: Storage, mailer: Mailer) -> Self {
        Self {
            pool,
            storage,
            mailer,
        }
    }

    /// `DATABASE_URL` (role `hound_maintenance`), the buckets of `Storage::from_env` and
    /// `NOTIFY_FROM`.
    pub async fn from_env() -> anyhow::Result<Self> {
        let pool = db::pool(&db::PoolSettings::for_function(db::roles::MAINTENANCE)?)?;
        let config = hound_domain::aws::AwsConfig::from_env();
        Ok(Self::new(
            pool,
            Storage::from_env(&config)?,
            Mailer::from_env(&config)?,
        ))
    }

    pub async fn handle(&self, task: Task) -> anyhow::Result<Report> {
        handle(self, task).await
    }
}

/// Send what is due, in a transaction of its own, after the work that queued it committed.
async fn send_notifications(
    client: &mut db::PooledClient,
    mailer: &Mailer,
    limit: i64,
) -> anyhow::Result<SendRun> {
    let tx = db::begin(client).await?;
    let run = notify::send_due(&tx, mailer, limit).await?;
    tx.commit().await?;
    Ok(run)
}

async fn handle(maintenance: &Maintenance, task: Task) -> anyhow::Result<Report> {
    let (pool, storage) = (&maintenance.pool, &maintenance.storage);
    let mut client = pool.get().await?;
    let now = time::OffsetDateTime::now_utc();
    match task {
        Task::Partitions {
            months_ahead,
            keep_days,
        } => {
            let months_ahead = partitions::months_ahead(months_ahead)
                .map_err(|e| anyhow::anyhow!("months_ahead: {e}"))?;
            let created = partitions::ensure(&client, now, months_ahead).await?;
            let dropped = match keep_days {
                Some(days) => {
                    let days = partitions::keep_days(days)
                        .map_err(|e| anyhow::anyhow!("keep_days: {e}"))?;
                    partitions::prune(&client, now, days).await?
                }
                None => Vec::new(),
            };
            tracing::info!(?created, ?dropped, "partitions maintained");
            Ok(Report {
                created,
                dropped,
                ..Report::default()
            })
        }
        Task::Janitors { limit } => {
            anyhow::ensure!((1..=100_000).contains(&limit), "limit must be 1..=100000");
            let removed = hound_domain::auth::prune_login_failures(&client, limit).await?;
            let drafts = listener::purge_drafts(&client, limit as i32).await?;
            let gate_failures = hound_domain::gates::prune_gate_failures(&client, limit).await?;
            let sessions = listener::prune_listening_sessions(&client, limit).await?;
            let uploads =
                hound_domain::uploads::abandon_stale_uploads(&client, storage, limit).await?;
            tracing::info!(
                removed,
                drafts,
                gate_failures,
                sessions,
                uploads,
                "expired login failures, drafts, gate failures, idle sessions and abandoned uploads removed"
            );
            Ok(Report {
                login_failures_removed: removed,
                drafts_removed: drafts,
                gate_failures_removed: gate_failures,
                listening_sessions_removed: sessions,
                uploads_abandoned: uploads,
                ..Report::default()
            })
        }
        Task::Preorders { limit } => {
            anyhow::ensure!((1..=100_000).contains(&limit), "limit must be 1..=100000");
            let mut run = PreorderRun::default();
            for (preorder, account) in money::due_preorders(&client, limit).await? {
                let tx = db::begin(&mut client).await?;
                let settled = money::settle_preorder(&tx, preorder, account).await?;
                tx.commit().await?;
                match settled {
                    Settled::Captured => run.captured += 1,
                    Settled::Released => run.released += 1,
                    Settled::Untouched => {}
                }
            }
            tracing::info!(
                captured = run.captured,
                released = run.released,
                "pre-orders settled"
            );
            let sent = if run.captured > 0 {
                Some(send_notifications(&mut client, &maintenance.mailer, limit).await?)
            } else {
                None
            };
            Ok(Report {
                preorders: Some(run),
                notifications: sent,
                ..Report::default()
            })
        }
        Task::Notifications { limit } => {
            anyhow::ensure!((1..=10_000).contains(&limit), "limit must be 1..=10000");
            let run = send_notifications(&mut client, &maintenance.mailer, limit).await?;
            tracing::info!(sent = run.sent, failed = run.failed, "notifications sent");
            Ok(Report {
                notifications: Some(run),
                ..Report::default()
            })
        }
        Task::Stats { lag_secs } => {
            anyhow::ensure!(lag_secs <= 3600, "lag_secs must be 0..=3600");
            let tx = db::begin(&mut client).await?;
            let run = stats::refresh_stats(&tx, lag_secs).await?;
            tx.commit().await?;
            tracing::info!(
                counted_days = run.counted_days,
                track_days = run.track_days,
                release_days = run.release_days,
                "stats rolled up"
            );
            Ok(Report {
                stats: Some(run),
                ..Report::default()
            })
        }
        Task::CoListening => {
            let run = listener::refresh_co_listening(&client).await?;
            tracing::info!(
                plays = run.plays,
                pairs = run.pairs,
                "co-listening refreshed"
            );
            Ok(Report {
                co_listening: Some(run),
                ..Report::default()
            })
        }
        Task::TasteIndex => {
            let points = listener::rebuild_taste_index(&client).await?;
            tracing::info!(points, "taste index rebuilt in spatial order");
            Ok(Report {
                taste_points: Some(points),
                ..Report::default()
            })
        }
    }
}
