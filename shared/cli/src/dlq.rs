//! `hound dlq list` and `hound dlq redrive <id>`: the dead-letter record (`failed_jobs`).

use hound_domain::db;
use hound_domain::ids::FailedJobId;
use hound_domain::jobs::dead_letter::{self, FailedJob};

pub async fn list(all: bool, json: bool) -> anyhow::Result<()> {
    let client = db::connect(&db::pool_from_env()?).await?;
    let failed = dead_letter::list(&client, all).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&failed)?);
        return Ok(());
    }
    if failed.is_empty() {
        println!(
            "no dead-lettered messages{}",
            if all { "" } else { " awaiting redrive" }
        );
        return Ok(());
    }
    for f in &failed {
        print_one(f);
    }
    Ok(())
}

fn print_one(f: &FailedJob) {
    let when = f
        .first_seen_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let job = f
        .job_id
        .map(|j| j.to_string())
        .unwrap_or_else(|| "-".into());
    let redriven = f.redriven_at.map(|_| "  (redriven)").unwrap_or_default();
    println!(
        "{id}  {when}  queue={queue}  job={job}  receives={n}{redriven}\n    error: {error}",
        id = f.id,
        queue = f.queue,
        n = f.receive_count,
        error = f.error,
    );
}

/// Replay one record onto the transcode queue (`TRANSCODE_QUEUE_URL`).
pub async fn redrive(id: FailedJobId) -> anyhow::Result<()> {
    let aws = hound_domain::aws::aws_config().await;
    let queue = hound_domain::aws::Queue::from_env(&aws)?;
    let mut client = db::connect(&db::pool_from_env()?).await?;
    // The job is requeued and committed first: its message must not reach a worker before.
    let tx = db::begin(&mut client).await?;
    let failed = dead_letter::prepare_redrive(&tx, id).await?;
    tx.commit().await?;
    let failed = dead_letter::send_redrive(&client, &queue, &failed).await?;
    println!("redriven to {}:", queue.transcode_queue_url);
    print_one(&failed);
    Ok(())
}
