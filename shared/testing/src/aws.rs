//! moto for S3, SQS and SES: buckets and a queue of one's own per test, a verified sender, and
//! the mail moto kept.

use hound_domain::aws::{Mailer, Queue, Storage};
use serde_json::Value;

/// The S3/SQS endpoint tests use: `AWS_ENDPOINT_URL` (moto), default http://127.0.0.1:5000.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:5000".to_owned())
}

/// SDK configuration pointing at moto with dummy credentials.
pub async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(hound_domain::aws::http_client())
        .endpoint_url(aws_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "hound-tests",
        ))
        .load()
        .await
}

/// Buckets and a queue of one's own on moto, so tests never see each other's objects.
pub struct TestAws {
    pub config: aws_config::SdkConfig,
    pub storage: Storage,
    pub queue: Queue,
    /// Sends as `TEST_SENDER`, verified on moto.
    pub mailer: Mailer,
}

/// The sender tests mail as (verified on moto by `TestAws::new`).
pub const TEST_SENDER: &str = "noreply@hound.test";

/// One mail moto accepted.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub from: String,
    pub subject: String,
    pub body: String,
}

/// The mail moto has accepted for `to` (moto's own API: every test's mail is there, so each
/// test mails addresses of its own).
pub async fn mail_to(to: &str) -> Vec<SentMail> {
    // moto dumps every service's models; while other tests write S3 objects the dump may fail
    // (a model it cannot serialise mid-change): ask again.
    let mut data = Value::Null;
    for attempt in 0..40 {
        let answer = async {
            reqwest::get(format!("{}/moto-api/data.json", aws_endpoint()))
                .await?
                .error_for_status()?
                .json::<Value>()
                .await
        }
        .await;
        match answer {
            Ok(value) => {
                data = value;
                break;
            }
            Err(e) if attempt == 39 => panic!("moto's data: {e}"),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
        }
    }
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
        })
        .map(|m| SentMail {
            from: m["source"].as_str().unwrap_or_default().to_owned(),
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

impl TestAws {
    pub async fn new() -> Self {
        let config = moto_config().await;
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let storage = Storage::new(
            &config,
            format!("{prefix}-masters"),
            format!("{prefix}-covers"),
            format!("{prefix}-streams"),
        );
        for bucket in [
            &storage.masters_bucket,
            &storage.covers_bucket,
            &storage.streams_bucket,
        ] {
            storage
                .client()
                .await
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .unwrap_or_else(|e| panic!("tests need moto at {} ({e:?})", aws_endpoint()));
        }
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{prefix}-transcode"))
            .send()
            .await
            .expect("creating the test queue")
            .queue_url
            .expect("queue url");
        let queue = Queue::new(&config, queue_url);
        let mailer = Mailer::new(&config, TEST_SENDER.to_owned());
        // Verified once for everyone; a second verification of the same identity is refused.
        let _ = mailer
            .client()
            .await
            .create_email_identity()
            .email_identity(TEST_SENDER)
            .send()
            .await;
        Self {
            config,
            storage,
            queue,
            mailer,
        }
    }

    /// Every message now on the transcode queue (received and deleted), as JSON.
    pub async fn drain_queue(&self) -> Vec<Value> {
        let mut bodies = Vec::new();
        loop {
            let out = self
                .queue
                .client()
                .await
                .receive_message()
                .queue_url(&self.queue.transcode_queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receiving");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for message in messages {
                bodies.push(
                    serde_json::from_str(message.body().unwrap_or("null")).expect("JSON body"),
                );
                self.queue
                    .client()
                    .await
                    .delete_message()
                    .queue_url(&self.queue.transcode_queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("deleting");
            }
        }
    }
}
