//! `hound`: the operator's tool. Runs against any `DATABASE_URL`; used by `make dev`, the tests'
//! setup and ops alike.

use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use hound::auth::{AccountKind, Accounts, AuthError, JwtKeys, NewAccount, Passwords};

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
    /// The monthly partitions of the telemetry tables (plays, listen_events).
    Partitions {
        #[command(subcommand)]
        action: PartitionsAction,
    },
    /// Print a fresh JWT keyset (the JSON value of JWT_KEYS) with one random key.
    JwtKeygen {
        /// The key id to give the new key.
        #[arg(long, default_value = "k1")]
        kid: String,
    },
}

#[derive(Subcommand)]
enum PartitionsAction {
    /// Create last month's, this month's and the next N months' partitions where missing.
    Ensure {
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(0..=120))]
        months: i32,
    },
    /// Detach and drop whole partitions whose every row is older than N days.
    Prune {
        #[arg(long, value_parser = clap::value_parser!(u32).range(31..))]
        keep_days: u32,
    },
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
    hound::telemetry::init();
    match Cli::parse().command {
        Command::Migrate => {
            let pool = hound::db::pool(&hound::config::database_from_env()?)?;
            let applied = hound::db::migrate(&pool).await?;
            if applied.is_empty() {
                println!("migrations: up to date");
            }
            for name in applied {
                println!("migrations: applied {name}");
            }
        }
        Command::Seed => seed().await?,
        Command::JwtKeygen { kid } => println!("{}", JwtKeys::generate_json(&kid)),
        Command::LocalAws => local_aws().await?,
        Command::Partitions { action } => partitions(action).await?,
    }
    Ok(())
}

async fn seed() -> anyhow::Result<()> {
    let pool = hound::db::pool(&hound::config::database_from_env()?)?;
    // Signup opens a session; its tokens are thrown away, so any key will do.
    let keys = JwtKeys::from_json(&JwtKeys::generate_json("seed")).context("seed keyset")?;
    let accounts = Accounts::new(pool, Arc::new(keys), Passwords::owasp());
    for (email, name, kind) in DEMO_ACCOUNTS {
        let account = NewAccount::parse(email, DEMO_PASSWORD, name)
            .map_err(|e| anyhow::anyhow!("demo account {email} is invalid: {e}"))?;
        match accounts.signup(account, *kind).await {
            Ok(_) => println!("seed: created {email} (password {DEMO_PASSWORD})"),
            Err(AuthError::EmailTaken) => println!("seed: {email} exists"),
            Err(e) => return Err(anyhow::anyhow!("seeding {email}: {e}")),
        }
    }
    Ok(())
}

async fn partitions(action: PartitionsAction) -> anyhow::Result<()> {
    let pool = hound::db::pool(&hound::config::database_from_env()?)?;
    let client = pool.get().await.context("connecting to the database")?;
    let now = time::OffsetDateTime::now_utc();
    match action {
        PartitionsAction::Ensure { months } => {
            let created = hound::partitions::ensure(&client, now, months).await?;
            if created.is_empty() {
                println!("partitions: all present");
            }
            for name in created {
                println!("partitions: created {name}");
            }
        }
        PartitionsAction::Prune { keep_days } => {
            let dropped = hound::partitions::prune(&client, now, keep_days).await?;
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
    let endpoint = hound::config::required_var("AWS_ENDPOINT_URL")
        .context("local-aws only talks to a local emulator")?;
    let config = hound::storage::aws_config().await;
    let storage =
        hound::storage::Storage::new(&config, String::new(), String::new(), String::new());
    for (var, bucket) in LOCAL_BUCKETS {
        if storage
            .client()
            .head_bucket()
            .bucket(*bucket)
            .send()
            .await
            .is_err()
        {
            storage
                .client()
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
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading the dead-letter queue's ARN")?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .unwrap_or_default();
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
    println!("export TRANSCODE_QUEUE_URL={queue_url}");
    println!("export TRANSCODE_DLQ_URL={dlq_url}");
    Ok(())
}
