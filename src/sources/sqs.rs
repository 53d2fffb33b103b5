//! SQS messages: each body is again one event the forwarder reads (CloudWatch Logs, ECR or
//! Inspector2 scan, EventBridge) or an on-failure destination record of this function, so the
//! failure queue can be redriven by attaching it as an event source.

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, thiserror::Error)]
#[error("SQS message: not the expected shape ({0}); expected messageId and body")]
pub struct SqsError(serde_json::Error);

/// One message of an SQS event, as Lambda's event source mapping delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    pub message_id: String,
    pub body: String,
}

impl SqsMessage {
    pub fn parse(raw: &RawValue) -> Result<SqsMessage, SqsError> {
        serde_json::from_str(raw.get()).map_err(SqsError)
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
        assert_eq!(message.body, r#"{"a":1}"#);
        let raw: Box<RawValue> = serde_json::from_str(r#"{"body":"x"}"#).unwrap();
        assert!(SqsMessage::parse(&raw).is_err());
    }
}
