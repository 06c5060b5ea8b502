//! SES (v2) through the AWS SDK: plain-text mail from one verified sender (`NOTIFY_FROM`).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::unavailable::{Unavailable, unavailable};
use super::{AwsConfig, LazyClient};
use crate::config::required_var;

/// Sends mail as Hound.
#[derive(Clone)]
pub struct Mailer {
    ses: LazyClient<aws_sdk_sesv2::Client>,
    pub from: String,
}

impl Mailer {
    /// `NOTIFY_FROM`: the verified sender address.
    pub fn from_env(config: impl Into<AwsConfig>) -> anyhow::Result<Self> {
        Ok(Self::new(config, required_var("NOTIFY_FROM")?))
    }

    /// The client is made at its first use (see [`AwsConfig`]).
    pub fn new(config: impl Into<AwsConfig>, from: String) -> Self {
        Self {
            ses: LazyClient::new(config.into()),
            from,
        }
    }

    pub async fn client(&self) -> &aws_sdk_sesv2::Client {
        self.ses.get(aws_sdk_sesv2::Client::new).await
    }

    /// Send one plain-text message to one address.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), Unavailable> {
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(text(subject).map_err(|e| unavailable("ses", e))?)
            .body(
                Body::builder()
                    .text(text(body).map_err(|e| unavailable("ses", e))?)
                    .build(),
            )
            .build();
        self.ses
            .get(aws_sdk_sesv2::Client::new)
            .await
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| unavailable("ses", e))?;
        Ok(())
    }
}
