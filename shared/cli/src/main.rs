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
    /// Print a fresh JWT keyset (the JSON value of JWT_KEYS) with one random key.
    JwtKeygen {
        /// The key id to give the new key.
        #[arg(long, default_value = "k1")]
        kid: String,
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
