//! `hound`: the operator's tool. Runs against any `DATABASE_URL`; used by `make dev`, the tests'
//! setup and ops alike.

mod demo;
mod dlq;
mod poller;
mod walk;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use hound_domain::auth::{self, AccountKind, AuthError, JwtKeys, NewAccount, Passwords};
use hound_domain::db;
use hound_domain::partitions;

#[derive(Parser)]
#[command(name = "hound", about = "Hound admin CLI", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations (DATABASE_URL).
    Migrate,
    /// Create the demo accounts (idempotent) so a fresh `make dev` has someone to log in as.
    Seed,
    /// Create the local buckets and queues on the S3/SQS endpoint in AWS_ENDPOINT_URL (moto) if
    /// missing, and print the matching `export` lines for the functions' environment.
    LocalAws,
    /// The dead-letter record: messages the transcode queue gave up on.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Local stand-in for Lambda's SQS triggers: poll queues and invoke functions through the
    /// Lambda invoke API of `cargo lambda watch` (make dev).
    LocalPoller {
        /// `QUEUE_URL=FUNCTION`, repeatable.
        #[arg(long = "route", required = true)]
        routes: Vec<poller::Route>,
        /// Where `cargo lambda watch` serves the invoke API.
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        invoke_url: String,
        /// Messages per invocation (the SAM template's BatchSize).
        #[arg(long, default_value_t = 1)]
        batch_size: i32,
    },
    /// Walk the whole story over HTTP against a running API (`make demo`): an artist uploads and
    /// publishes, a listener browses, streams, plays and saves. Exits non-zero at the first
    /// step that does not behave.
    Demo {
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        base_url: String,
        /// How long to wait for the transcode jobs.
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
    },
    /// The monthly partitions of the telemetry tables (plays, listen_events).
    Partitions {
        #[command(subcommand)]
        action: PartitionsAction,
    },
    /// Print a fresh Ed25519 signing keyset (the JSON value of JWT_SIGNING_KEYS, the auth
    /// function's secret) with one random key.
    JwtKeygen {
        /// The key id to give the new key.
        #[arg(long, default_value = "k1")]
        kid: String,
    },
    /// Read a signing keyset on standard input and print its public keyset (the JSON value of
    /// JWT_PUBLIC_KEYS, which every other function verifies with).
    JwtPublic,
    /// Print a fresh gate key ring with one random 256-bit key: the JSON value of CODE_KEYS
    /// (access-code hashes) or EVENT_KEYS (event secrets); generate one for each.
    GateKeygen {
        /// The key id to give the new key.
        #[arg(long, default_value = "k1")]
        kid: String,
    },
    /// Issue a batch of platform codes that grant credits (DATABASE_URL, as the owner role;
    /// CODE_KEYS). Prints the codes, one a line: the only time they are shown.
    CreditCodes {
        /// Credits each redemption grants (1–1000).
        #[arg(long)]
        credits: i32,
        /// Codes in the batch (1–1000).
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Redemptions each code allows (by different listeners).
        #[arg(long, default_value_t = 1)]
        max_uses: i32,
        /// RFC 3339 time after which the codes no longer redeem.
        #[arg(long)]
        expires_at: Option<String>,
        /// A label for the batch.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum DlqAction {
    /// Dead-lettered messages, newest first (not yet redriven, unless --all).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put one back on the transcode queue (TRANSCODE_QUEUE_URL) once its cause is fixed.
    Redrive { id: hound_domain::ids::FailedJobId },
}

#[derive(Subcommand)]
enum PartitionsAction {
    /// Create last month's, this month's and the next N months' partitions where missing.
    Ensure {
        #[arg(long, default_value_t = partitions::DEFAULT_MONTHS_AHEAD, value_parser = parse_months)]
        months: i32,
    },
    /// Detach and drop whole partitions whose every row is older than N days.
    Prune {
        #[arg(long, value_parser = parse_keep_days)]
        keep_days: u32,
    },
}

/// The partition bounds of `hound_domain::partitions`, shared with the schedule.
fn parse_months(raw: &str) -> Result<i32, String> {
    partitions::months_ahead(raw.parse().map_err(|e| format!("{e}"))?)
}

fn parse_keep_days(raw: &str) -> Result<u32, String> {
    partitions::keep_days(raw.parse().map_err(|e| format!("{e}"))?)
}

/// Demo accounts created by `hound seed` (documented in the README).
const DEMO_ACCOUNTS: &[(&str, &str, AccountKind)] = &[
    ("artist@demo.hound.test", "Demo Artist", AccountKind::Artist),
    (
        "listener@demo.hound.test",
        "Demo Listener",
        AccountKind::Listener,
    ),
];
const DEMO_PASSWORD: &str = "hound-demo-password";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hound_domain::logging::init();
    match Cli::parse().command {
        Command::Migrate => {
            let applied = db::migrate(&db::pool_from_env()?).await?;
            if applied.is_empty() {
                println!("migrations: up to date");
            }
            for name in applied {
                println!("migrations: applied {name}");
            }
        }
        Command::Seed => seed().await?,
        Command::JwtKeygen { kid } => println!("{}", JwtKeys::generate_json(&kid)),
        Command::GateKeygen { kid } => {
            println!("{}", hound_domain::gates::generate_ring_json(&kid));
        }
        Command::CreditCodes {
            credits,
            count,
            max_uses,
            expires_at,
            note,
        } => {
            let expires_at = expires_at
                .map(|at| {
                    time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                })
                .transpose()
                .context("--expires-at is not an RFC 3339 time")?;
            let input = hound_domain::gates::NewCodes {
                count,
                max_uses: Some(max_uses),
                expires_at,
                note,
            };
            credit_codes(credits, input).await?;
        }
        Command::JwtPublic => {
            let mut signing = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut signing)?;
            let keys = JwtKeys::from_signing_json(&signing).context("the signing keyset")?;
            println!("{}", keys.public_json());
        }
        Command::LocalAws => local_aws().await?,
        Command::Dlq {
            action: DlqAction::List { all, json },
        } => dlq::list(all, json).await?,
        Command::Dlq {
            action: DlqAction::Redrive { id },
        } => dlq::redrive(id).await?,
        Command::Demo {
            base_url,
            timeout_s,
        } => walk::run(&base_url, std::time::Duration::from_secs(timeout_s)).await?,
        Command::LocalPoller {
            routes,
            invoke_url,
            batch_size,
        } => poller::run(routes, invoke_url, batch_size).await?,
        Command::Partitions { action } => partitions(action).await?,
    }
    Ok(())
}

async fn credit_codes(credits: i32, input: hound_domain::gates::NewCodes) -> anyhow::Result<()> {
    let keys = hound_domain::gates::CodeKeys::from_env()?;
    let pool = db::pool_from_env()?;
    let mut client = db::connect(&pool).await?;
    let tx = db::begin(&mut client).await?;
    // As the owner, whose policy covers every batch (in AWS the master user is not a superuser).
    tx.batch_execute("SET LOCAL ROLE hound_owner").await?;
    let (batch, codes) = hound_domain::gates::issue_credit_codes(&tx, &keys, credits, input)
        .await
        .map_err(|e| anyhow::anyhow!("{e}: {e:?}"))?;
    tx.commit().await?;
    eprintln!(
        "credit-codes: batch {batch}, {} codes of {credits} credits",
        codes.len()
    );
    for code in codes {
        println!("{code}");
    }
    Ok(())
}

async fn seed() -> anyhow::Result<()> {
    let pool = db::pool_from_env()?;
    // Signup opens a session; its tokens are thrown away, so any key will do.
    let keys =
        JwtKeys::from_signing_json(&JwtKeys::generate_json("seed")).context("seed keyset")?;
    let passwords = Passwords::owasp();
    let mut client = db::connect(&pool).await?;
    for (email, name, kind) in DEMO_ACCOUNTS {
        let account = NewAccount::parse(email, DEMO_PASSWORD, name)
            .map_err(|e| anyhow::anyhow!("demo account {email} is invalid: {e}"))?;
        let tx = db::begin(&mut client).await?;
        match auth::signup(&tx, &passwords, &keys, account, *kind).await {
            Ok(_) => {
                tx.commit().await?;
                println!("seed: created {email} (password {DEMO_PASSWORD})");
            }
            Err(AuthError::EmailTaken) => println!("seed: {email} exists"),
            Err(e) => return Err(anyhow::anyhow!("seeding {email}: {e}")),
        }
    }
    // The catalogue goes through S3 and the worker: only where buckets are configured.
    if hound_domain::config::optional_var("MASTERS_BUCKET")?.is_some() {
        demo::seed(&pool, DEMO_ACCOUNTS[0].0).await?;
    } else {
        println!("seed: no MASTERS_BUCKET, so no demo catalogue (run `hound local-aws` first)");
    }
    Ok(())
}

async fn partitions(action: PartitionsAction) -> anyhow::Result<()> {
    let client = db::connect(&db::pool_from_env()?).await?;
    let now = time::OffsetDateTime::now_utc();
    match action {
        PartitionsAction::Ensure { months } => {
            let created = partitions::ensure(&client, now, months).await?;
            if created.is_empty() {
                println!("partitions: all present");
            }
            for name in created {
                println!("partitions: created {name}");
            }
        }
        PartitionsAction::Prune { keep_days } => {
            let dropped = partitions::prune(&client, now, keep_days).await?;
            if dropped.is_empty() {
                println!("partitions: nothing older than {keep_days} days");
            }
            for name in dropped {
                println!("partitions: dropped {name}");
            }
        }
    }
    Ok(())
}

/// Local resources, named as `make dev` and the README expect.
const LOCAL_BUCKETS: &[(&str, &str)] = &[
    ("MASTERS_BUCKET", "hound-masters"),
    ("COVERS_BUCKET", "hound-covers"),
    ("STREAMS_BUCKET", "hound-streams"),
];

async fn local_aws() -> anyhow::Result<()> {
    let endpoint = hound_domain::config::required_var("AWS_ENDPOINT_URL")
        .context("local-aws only talks to a local emulator")?;
    let config = hound_domain::aws::aws_config().await;
    let storage =
        hound_domain::aws::Storage::new(&config, String::new(), String::new(), String::new());
    for (var, bucket) in LOCAL_BUCKETS {
        if storage
            .client()
            .await
            .head_bucket()
            .bucket(*bucket)
            .send()
            .await
            .is_err()
        {
            storage
                .client()
                .await
                .create_bucket()
                .bucket(*bucket)
                .send()
                .await
                .with_context(|| format!("creating bucket {bucket} at {endpoint}"))?;
        }
        println!("export {var}={bucket}");
    }
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dlq_url = sqs
        .create_queue()
        .queue_name("hound-transcode-dlq")
        .send()
        .await
        .context("creating the dead-letter queue")?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = hound_domain::aws::Queue::new(&config, dlq_url.clone())
        .arn_of(&dlq_url)
        .await
        .context("reading the dead-letter queue's ARN")?;
    // As in the SAM template: a message that fails three receives moves to the DLQ.
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}"#);
    let queue_url = sqs
        .create_queue()
        .queue_name("hound-transcode")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive,
        )
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "900",
        )
        .send()
        .await
        .context("creating the transcode queue")?
        .queue_url
        .unwrap_or_default();
    // As in AWS: a finished upload to the masters or covers bucket notifies the queue.
    let queue = hound_domain::aws::Queue::new(&config, queue_url.clone());
    let queue_arn = queue.arn_of(&queue_url).await?;
    for bucket in ["hound-masters", "hound-covers"] {
        storage
            .notify_on_create(bucket, &queue_arn)
            .await
            .with_context(|| format!("notifying the queue from {bucket}"))?;
    }
    println!("export TRANSCODE_QUEUE_URL={queue_url}");
    println!("export TRANSCODE_DLQ_URL={dlq_url}");
    // The notifications' sender, verified (moto keeps the mail: its /moto-api/data.json).
    let sender = "noreply@hound.local";
    let mailer = hound_domain::aws::Mailer::new(&config, sender.to_owned());
    let _ = mailer
        .client()
        .await
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await;
    println!("export NOTIFY_FROM={sender}");
    Ok(())
}
