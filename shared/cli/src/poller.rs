//! `hound local-poller`: in `make dev`, what Lambda's SQS event source mapping does in AWS.
//! It long-polls each queue, hands batches to the function through the Lambda invoke API that
//! `cargo lambda watch` serves (`POST /2015-03-31/functions/{name}/invocations`), deletes the
//! messages the function did not report in `batchItemFailures`, and makes the reported ones
//! visible again after a short delay (so the queue's redrive policy counts their receives and
//! moves a poison message to the dead-letter queue after three, as in AWS).

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;

/// Seconds before a failed message is offered again.
const RETRY_DELAY_S: i32 = 5;

#[derive(Clone)]
pub struct Route {
    pub queue_url: String,
    pub function: String,
}

impl std::str::FromStr for Route {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        let (queue_url, function) = s
            .rsplit_once('=')
            .ok_or_else(|| anyhow!("expected QUEUE_URL=FUNCTION, got {s}"))?;
        Ok(Route {
            queue_url: queue_url.to_owned(),
            function: function.to_owned(),
        })
    }
}

pub async fn run(routes: Vec<Route>, invoke_url: String, batch_size: i32) -> anyhow::Result<()> {
    let config = hound_domain::aws::aws_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()?;
    // Wait for `cargo lambda watch`: a message handed to nobody would count as a failed receive.
    while http.get(&invoke_url).send().await.is_err() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for route in routes {
        let (sqs, http, invoke_url) = (sqs.clone(), http.clone(), invoke_url.clone());
        tasks.spawn(async move { poll(sqs, http, invoke_url, route, batch_size).await });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

async fn poll(
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    invoke_url: String,
    route: Route,
    batch_size: i32,
) -> anyhow::Result<()> {
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&route.queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("reading {}", route.queue_url))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        invoke_url.trim_end_matches('/'),
        route.function
    );
    eprintln!("poller: {} → {}", route.queue_url, route.function);
    loop {
        let received = match sqs
            .receive_message()
            .queue_url(&route.queue_url)
            .max_number_of_messages(batch_size)
            .wait_time_seconds(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                eprintln!("poller: receiving from {}: {e}", route.queue_url);
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if received.is_empty() {
            continue;
        }
        let event = hound_domain::aws::lambda_sqs_event(&received, &arn);
        // An invoke error (the function crashed or timed out) fails the whole batch, as in AWS.
        let failed: Vec<String> = match http.post(&url).json(&event).send().await {
            Ok(response) if response.status().is_success() => {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                body["batchItemFailures"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            Ok(response) => {
                eprintln!("poller: {} answered {}", route.function, response.status());
                received
                    .iter()
                    .filter_map(|m| m.message_id().map(str::to_owned))
                    .collect()
            }
            Err(e) => {
                eprintln!("poller: invoking {}: {e}", route.function);
                received
                    .iter()
                    .filter_map(|m| m.message_id().map(str::to_owned))
                    .collect()
            }
        };
        for message in &received {
            let id = message.message_id().unwrap_or_default();
            let handle = message.receipt_handle().unwrap_or_default();
            let result = if failed.iter().any(|f| f == id) {
                eprintln!(
                    "poller: {} failed message {id}; retrying in {RETRY_DELAY_S}s",
                    route.function
                );
                sqs.change_message_visibility()
                    .queue_url(&route.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(RETRY_DELAY_S)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            } else {
                sqs.delete_message()
                    .queue_url(&route.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            if let Err(e) = result {
                eprintln!("poller: settling message {id}: {e}");
            }
        }
    }
}
