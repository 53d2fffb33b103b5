//! SQS messages: each body is again one event the forwarder reads (CloudWatch Logs, ECR or
//! Inspector2 scan, EventBridge) or an on-failure destination record of this function, so the
//! failure queue can be redriven by attaching it as an event source.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, thiserror::Error)]
#[error("SQS message: not the expected shape ({0}); expected messageId and body")]
pub struct SqsError(serde_json::Error);

/// One message of an SQS event, as Lambda's event source mapping delivers it. Its body is read
/// only when the message's turn comes ([`SqsMessage::body`]), so a batch is never held twice.
#[derive(Debug, Clone)]
pub struct SqsMessage<'a> {
    pub message_id: Cow<'a, str>,
    raw: &'a RawValue,
    /// The queue is a FIFO queue (its ARN ends in `.fifo`).
    pub fifo: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(rename = "eventSourceARN", borrow, default)]
    event_source_arn: Option<Cow<'a, str>>,
    /// Checked for presence only.
    #[serde(borrow)]
    #[allow(dead_code)]
    body: &'a RawValue,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    body: Cow<'a, str>,
}

impl<'a> SqsMessage<'a> {
    pub fn parse(raw: &'a RawValue) -> Result<SqsMessage<'a>, SqsError> {
        let head: Head = serde_json::from_str(raw.get()).map_err(SqsError)?;
        Ok(SqsMessage {
            message_id: head.message_id,
            fifo: head
                .event_source_arn
                .is_some_and(|arn| arn.ends_with(".fifo")),
            raw,
        })
    }

    /// The message's body (unescaped from the event's JSON: the one copy made of it).
    pub fn body(&self) -> Result<Cow<'a, str>, SqsError> {
        let body: Body = serde_json::from_str(self.raw.get()).map_err(SqsError)?;
        Ok(body.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_id_and_body_of_a_lambda_sqs_record() {
        let raw = r#"{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJ","body":"{\"a\":1}","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1545082649183"},"messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:my-queue","awsRegion":"us-east-2"}"#;
        let raw: Box<RawValue> = serde_json::from_str(raw).unwrap();
        let message = SqsMessage::parse(&raw).unwrap();
        assert_eq!(message.message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
        assert_eq!(message.body().unwrap(), r#"{"a":1}"#);
        assert!(!message.fifo);
        let raw: Box<RawValue> = serde_json::from_str(r#"{"body":"x"}"#).unwrap();
        assert!(SqsMessage::parse(&raw).is_err());
        let raw: Box<RawValue> = serde_json::from_str(r#"{"messageId":"m"}"#).unwrap();
        assert!(SqsMessage::parse(&raw).is_err(), "a message without a body");
        let fifo = r#"{"messageId":"m","body":"b","eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:orders.fifo"}"#;
        let raw: Box<RawValue> = serde_json::from_str(fifo).unwrap();
        assert!(SqsMessage::parse(&raw).unwrap().fifo);
    }
}
