//! SQS through the AWS SDK: the transcode queue the studio sends job messages to (and
//! `hound dlq redrive` replays to), and the Lambda SQS event shape the local poller and the
//! tests hand to the worker functions.

use super::unavailable::{Unavailable, unavailable};
use super::{AwsConfig, LazyClient};
use crate::config::required_var;

/// The work queue the transcoder consumes.
#[derive(Clone)]
pub struct Queue {
    sqs: LazyClient<aws_sdk_sqs::Client>,
    pub transcode_queue_url: String,
}

impl Queue {
    /// `TRANSCODE_QUEUE_URL`.
    pub fn from_env(config: impl Into<AwsConfig>) -> anyhow::Result<Self> {
        Ok(Self::new(config, required_var("TRANSCODE_QUEUE_URL")?))
    }

    /// The client is made at its first use (see [`AwsConfig`]).
    pub fn new(config: impl Into<AwsConfig>, transcode_queue_url: String) -> Self {
        Self {
            sqs: LazyClient::new(config.into()),
            transcode_queue_url,
        }
    }

    pub async fn client(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get(aws_sdk_sqs::Client::new).await
    }

    /// The ARN of a queue (redrive policies and bucket notifications name queues by ARN).
    pub async fn arn_of(&self, queue_url: &str) -> Result<String, Unavailable> {
        use aws_sdk_sqs::types::QueueAttributeName;
        self.sqs
            .get(aws_sdk_sqs::Client::new)
            .await
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| unavailable("sqs", e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| Unavailable {
                service: "sqs",
                message: format!("{queue_url} has no ARN"),
            })
    }

    /// Put a message body on the transcode queue.
    pub async fn send(&self, body: &str) -> Result<(), Unavailable> {
        self.sqs
            .get(aws_sdk_sqs::Client::new)
            .await
            .send_message()
            .queue_url(&self.transcode_queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| unavailable("sqs", e))?;
        Ok(())
    }
}

/// The event Lambda's SQS integration hands a function for `messages` received from the queue
/// `queue_arn` (the local poller and the tests build it the same way).
pub fn lambda_sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
    queue_arn: &str,
) -> serde_json::Value {
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1");
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, serde_json::Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone().into()))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}
