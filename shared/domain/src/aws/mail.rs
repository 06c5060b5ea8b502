//! SES (v2) through the AWS SDK: plain-text mail from one verified sender (`NOTIFY_FROM`).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::unavailable::{Unavailable, unavailable};
use crate::config::required_var;

/// Sends mail as Hound.
#[derive(Clone)]
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    pub from: String,
}

impl Mailer {
    /// `NOTIFY_FROM`: the verified sender address.
    pub fn from_env(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self::new(config, required_var("NOTIFY_FROM")?))
    }

    pub fn new(config: &aws_config::SdkConfig, from: String) -> Self {
        Self {
            ses: aws_sdk_sesv2::Client::new(config),
            from,
        }
    }

    pub fn client(&self) -> &aws_sdk_sesv2::Client {
        &self.ses
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
