//! moto for S3 and SQS: buckets and a queue of one's own per test.

use hound_domain::aws::{Queue, Storage};
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
        Self {
            config,
            storage,
            queue,
        }
    }

    /// Every message now on the transcode queue (received and deleted), as JSON.
    pub async fn drain_queue(&self) -> Vec<Value> {
        let mut bodies = Vec::new();
        loop {
            let out = self
                .queue
                .client()
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
