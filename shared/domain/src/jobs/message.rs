//! What travels on the transcode queue: the studio's typed job message (written by `complete`,
//! read by the worker), raw S3 ObjectCreated notifications and S3's test event, and the receive
//! count SQS attaches to every delivery.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::assets::AssetKind;
use crate::ids::{AssetId, JobId};

/// The studio's job message. The worker needs only `job_id`; the rest names the upload for
/// people reading the queue or the dead-letter records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: JobId,
    pub asset_id: AssetId,
    pub kind: AssetKind,
    pub bucket: String,
    pub key: String,
}

impl JobMessage {
    /// The message body as sent to SQS.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a job message serialises")
    }
}

/// Only `job_id` is required to read a job message: older messages may lack the rest.
#[derive(Debug, Deserialize)]
struct JobRef {
    job_id: JobId,
}

#[derive(Debug, Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
}

/// What a queue message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Job(JobId),
    Object { bucket: String, key: String },
    Nothing(String),
}

/// Read a message body: a studio job message, an S3 event notification (keys arrive
/// URL-encoded, `+` for space) or S3's test event. Anything else is poison: `Err`.
pub fn parse_message(body: &str) -> Result<Vec<Work>, String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("the message is not JSON: {e}"))?;
    if value.get("job_id").is_some() {
        let job: JobRef = serde_json::from_value(value)
            .map_err(|e| format!("the job message is malformed: {e}"))?;
        return Ok(vec![Work::Job(job.job_id)]);
    }
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(vec![Work::Nothing("an S3 test event".into())]);
    }
    if value.get("Records").is_some() {
        let notification: S3Notification = serde_json::from_value(value)
            .map_err(|e| format!("the S3 notification is malformed: {e}"))?;
        return Ok(notification
            .records
            .into_iter()
            .map(|r| {
                if r.event_name.starts_with("ObjectCreated:") {
                    Work::Object {
                        bucket: r.s3.bucket.name,
                        key: decode_key(&r.s3.object.key),
                    }
                } else {
                    Work::Nothing(format!("an S3 {} event", r.event_name))
                }
            })
            .collect());
    }
    Err("the message is neither a job message nor an S3 notification".into())
}

/// S3 notifications carry keys form-urlencoded (`+` for space).
fn decode_key(raw: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| {
            if v.is_empty() {
                k
            } else {
                format!("{k}={v}").into()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// How many times SQS has delivered a message (`ApproximateReceiveCount`, 1 on the first
/// delivery): what the retry backoff and the dead-letter record count. Missing or unreadable
/// means a first delivery.
pub fn receive_count(attributes: &HashMap<String, String>) -> u32 {
    attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_message_round_trips_through_its_body() {
        let message = JobMessage {
            job_id: JobId::for_asset(AssetId::generate()),
            asset_id: AssetId::generate(),
            kind: AssetKind::Cover,
            bucket: "covers".into(),
            key: "a/b/c.png".into(),
        };
        let parsed = parse_message(&message.to_body()).unwrap();
        assert_eq!(parsed, vec![Work::Job(message.job_id)]);
    }

    #[test]
    fn notification_keys_are_decoded_and_other_bodies_are_poison() {
        let body = r#"{"Records":[{"eventName":"ObjectCreated:Put",
            "s3":{"bucket":{"name":"m"},"object":{"key":"a/My+Song%281%29.wav"}}}]}"#;
        assert_eq!(
            parse_message(body).unwrap(),
            vec![Work::Object {
                bucket: "m".into(),
                key: "a/My Song(1).wav".into()
            }]
        );
        assert!(parse_message("not json").is_err());
        assert!(parse_message(r#"{"hello": 1}"#).is_err());
    }

    #[test]
    fn the_receive_count_defaults_to_a_first_delivery() {
        let mut attributes = HashMap::new();
        assert_eq!(receive_count(&attributes), 1);
        attributes.insert("ApproximateReceiveCount".into(), "3".into());
        assert_eq!(receive_count(&attributes), 3);
        attributes.insert("ApproximateReceiveCount".into(), "x".into());
        assert_eq!(receive_count(&attributes), 1);
    }
}
