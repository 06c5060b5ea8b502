//! A message that keeps failing goes to the dead-letter queue after three receives (moto applies
//! the queue's redrive policy as SQS does), the dead-letter function records it and fails its
//! job, and `hound dlq redrive` replays it once the cause is fixed.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::QueueAttributeName;
use hound_domain::assets::AssetKind;
use hound_domain::jobs::dead_letter as dlq;
use hound_testing::Fixture;
use hound_worker::Worker;

/// `hound dlq redrive <id>`: the job requeued and committed, then the message back.
async fn redrive(
    fx: &Fixture,
    id: hound_domain::ids::FailedJobId,
) -> Result<dlq::FailedJob, dlq::RedriveError> {
    let mut client = hound_domain::db::connect(&fx.db.pool).await?;
    let tx = hound_domain::db::begin(&mut client).await?;
    let failed = dlq::prepare_redrive(&tx, id).await?;
    tx.commit().await?;
    dlq::send_redrive(&client, &fx.aws.queue, &failed).await
}

/// The transcoder function's handler, as Lambda calls it (no backoff in tests).
fn transcode(worker: &Worker, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + '_ {
    transcoder::handle(worker, None, event)
}

/// A dead-letter queue for the fixture's transcode queue, maxReceiveCount 3, and a one-second
/// visibility timeout so returned messages come back quickly.
async fn with_dlq(fx: &Fixture) -> String {
    let sqs = fx.aws.queue.client().await;
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!(
            "{}-dlq",
            fx.queue_url().rsplit('/').next().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = fx.queue_arn(&dlq_url).await;
    sqs.set_queue_attributes()
        .queue_url(fx.queue_url())
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}).to_string(),
        )
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .unwrap();
    dlq_url
}

/// Deliver from the transcode queue until the message has gone to the DLQ; returns how many
/// times the worker saw it.
async fn until_dead_lettered(
    fx: &Fixture,
    dlq_url: &str,
) -> (usize, Vec<aws_sdk_sqs::types::Message>) {
    let mut attempts = 0;
    for _ in 0..10 {
        let (n, response) = fx.deliver(transcode).await;
        if n > 0 {
            attempts += 1;
            assert_eq!(
                response.batch_item_failures.len(),
                n,
                "every delivery fails"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let dead = fx.receive(dlq_url).await;
        if !dead.is_empty() {
            return (attempts, dead);
        }
    }
    panic!("the message never reached the dead-letter queue");
}

#[tokio::test]
async fn a_poisoned_job_is_recorded_failed_and_redriven_once_fixed() {
    let fx = Fixture::new().await;
    let dlq_url = with_dlq(&fx).await;
    // The cause: the streams bucket is missing, so every attempt fails at upload.
    let s3 = fx.aws.storage.client().await;
    s3.delete_bucket()
        .bucket(&fx.aws.storage.streams_bucket)
        .send()
        .await
        .unwrap();

    let track = fx.track("poisoned").await;
    let wav = fx.music("p.wav", 3, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;

    let (attempts, dead) = until_dead_lettered(&fx, &dlq_url).await;
    assert_eq!(attempts, 3);
    assert_eq!(dead.len(), 1);
    let pool = fx.db.pool_as(hound_domain::db::roles::DEAD_LETTER);
    let response = fx
        .lambda(&dlq_url, dead, |event| async move {
            dead_letter::handle(&pool, event).await
        })
        .await;
    assert!(response.batch_item_failures.is_empty());

    let client = fx.db.pool.get().await.unwrap();
    let listed = dlq::list(&client, false).await.unwrap();
    assert_eq!(listed.len(), 1);
    let failed = &listed[0];
    assert_eq!(failed.job_id, Some(job_id));
    assert_eq!(failed.queue, dlq_url.rsplit('/').next().unwrap());
    assert!(failed.receive_count >= 3, "{}", failed.receive_count);
    assert!(failed.error.contains("s3"), "{}", failed.error);
    assert_eq!(failed.body["job_id"], job_id.to_string());
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error_code"], "processing_failed");
    assert_eq!(job["error_message"], failed.error.as_str());

    // The cause is fixed; the operator redrives the message and the job runs to the end.
    s3.create_bucket()
        .bucket(&fx.aws.storage.streams_bucket)
        .send()
        .await
        .unwrap();
    let redriven = redrive(&fx, failed.id).await.unwrap();
    assert!(redriven.redriven_at.is_some());
    assert_eq!(fx.job(job_id).await["status"], "queued");
    let (n, response) = fx.deliver(transcode).await;
    assert_eq!(n, 1);
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(fx.job(job_id).await["status"], "ready");
    // Once redriven, it is not offered again.
    assert!(dlq::list(&client, false).await.unwrap().is_empty());
    assert!(matches!(
        redrive(&fx, failed.id).await,
        Err(dlq::RedriveError::AlreadyRedriven(..))
    ));
}

#[tokio::test]
async fn an_unreadable_message_is_kept_verbatim() {
    let fx = Fixture::new().await;
    let dlq_url = with_dlq(&fx).await;
    fx.aws
        .queue
        .client()
        .await
        .send_message()
        .queue_url(fx.queue_url())
        .message_body("<not json>")
        .send()
        .await
        .unwrap();
    let (_, dead) = until_dead_lettered(&fx, &dlq_url).await;
    let message_id = dead[0].message_id().unwrap().to_owned();
    let pool = fx.db.pool_as(hound_domain::db::roles::DEAD_LETTER);
    // Delivered twice (the DLQ redelivers when a first recording is not acknowledged): one row.
    for _ in 0..2 {
        let event = hound_testing::sqs_event(&dead, &fx.queue_arn(&dlq_url).await);
        let response = dead_letter::handle(&pool, event).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let client = fx.db.pool.get().await.unwrap();
    let listed = dlq::list(&client, true).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].message_id, message_id);
    assert_eq!(listed[0].body, serde_json::json!("<not json>"));
    assert_eq!(listed[0].job_id, None);
    assert!(listed[0].error.contains("not JSON"), "{}", listed[0].error);
}

#[tokio::test]
async fn a_message_carrying_nul_is_recorded_not_redelivered_for_ever() {
    let fx = Fixture::new().await;
    let dlq_url = with_dlq(&fx).await;
    let pool = fx.db.pool_as(hound_domain::db::roles::DEAD_LETTER);
    // Postgres stores no NUL: one as a JSON escape, one raw.
    let bodies = [r#"{"job_id": "\u0000"}"#, "raw\0nul"];
    let messages: Vec<aws_sdk_sqs::types::Message> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            aws_sdk_sqs::types::Message::builder()
                .message_id(format!("nul-{i}"))
                .receipt_handle(format!("receipt-{i}"))
                .body(*body)
                .build()
        })
        .collect();
    let event = hound_testing::sqs_event(&messages, &fx.queue_arn(&dlq_url).await);
    let response = dead_letter::handle(&pool, event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    let client = fx.db.pool.get().await.unwrap();
    let listed = dlq::list(&client, true).await.unwrap();
    let mut ids: Vec<&str> = listed.iter().map(|f| f.message_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["nul-0", "nul-1"]);
    let raw = listed.iter().find(|f| f.message_id == "nul-1").unwrap();
    assert_eq!(raw.body, serde_json::json!("raw\u{FFFD}nul"));
}
