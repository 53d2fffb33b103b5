//! Kinesis Data Streams records: gzip data is CloudWatch Logs subscription data (what a CloudWatch
//! Logs destination writes), anything else is one record of text from another producer.

use std::sync::Arc;

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Limits, SourceError, cloudwatch};
use crate::record::{Origin, Record, RecordKind, Severity};

#[derive(Debug, thiserror::Error)]
pub enum KinesisError {
    #[error(
        "Kinesis record: not the expected shape ({0}); expected kinesis.data, kinesis.sequenceNumber and eventSourceARN"
    )]
    Shape(serde_json::Error),
    #[error("Kinesis record {sequence_number}: data is not valid base64 ({source})")]
    Base64 {
        sequence_number: String,
        source: base64::DecodeError,
    },
    #[error(
        "Kinesis record {sequence_number}: data is neither gzip (CloudWatch Logs) nor UTF-8 text; \
         forwarding it would alter it, so it is reported as failed"
    )]
    NotUtf8 { sequence_number: String },
    #[error("Kinesis record {sequence_number}: data is {bytes} bytes, over the {limit}-byte limit")]
    TooLarge {
        sequence_number: String,
        bytes: usize,
        limit: usize,
    },
}

/// One record of a Kinesis event, as Lambda's event source mapping delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisRecord {
    pub sequence_number: String,
    pub partition_key: String,
    /// base64 of the record's data.
    pub data: String,
    /// When Kinesis received the record, epoch milliseconds.
    pub arrival_ms: i64,
    pub stream_arn: String,
}

#[derive(Deserialize)]
struct Wire {
    kinesis: WireKinesis,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireKinesis {
    data: String,
    sequence_number: String,
    #[serde(default)]
    partition_key: String,
    approximate_arrival_timestamp: f64,
}

impl KinesisRecord {
    pub fn parse(raw: &RawValue) -> Result<KinesisRecord, KinesisError> {
        let wire: Wire = serde_json::from_str(raw.get()).map_err(KinesisError::Shape)?;
        Ok(KinesisRecord {
            sequence_number: wire.kinesis.sequence_number,
            partition_key: wire.kinesis.partition_key,
            data: wire.kinesis.data,
            arrival_ms: (wire.kinesis.approximate_arrival_timestamp * 1_000.0).round() as i64,
            stream_arn: wire.event_source_arn,
        })
    }

    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` → (region, account, name); empty parts when
    /// the ARN has another shape.
    fn stream_parts(&self) -> (&str, &str, &str) {
        let mut fields = self.stream_arn.splitn(6, ':');
        let region = fields.nth(3).unwrap_or_default();
        let account = fields.next().unwrap_or_default();
        let resource = fields.next().unwrap_or_default();
        let name = resource.strip_prefix("stream/").unwrap_or(resource);
        (region, account, name)
    }
}

/// The records one Kinesis record carries. `own_log_group` refuses the function's own logs.
pub fn records(
    record: &KinesisRecord,
    limits: Limits,
    own_log_group: Option<&str>,
) -> Result<Vec<Record>, SourceError> {
    let data = base64::engine::general_purpose::STANDARD
        .decode(record.data.trim())
        .map_err(|source| KinesisError::Base64 {
            sequence_number: record.sequence_number.clone(),
            source,
        })?;
    if data.starts_with(&[0x1f, 0x8b]) {
        let log_data = cloudwatch::decode_gzip(&data, limits)?;
        if own_log_group.is_some_and(|own| own == log_data.log_group) {
            return Err(SourceError::OwnLogGroup(log_data.log_group));
        }
        return Ok(cloudwatch::records(log_data, limits)?);
    }
    if data.len() > limits.max_message_bytes {
        return Err(KinesisError::TooLarge {
            sequence_number: record.sequence_number.clone(),
            bytes: data.len(),
            limit: limits.max_message_bytes,
        }
        .into());
    }
    let payload = String::from_utf8(data).map_err(|_| KinesisError::NotUtf8 {
        sequence_number: record.sequence_number.clone(),
    })?;
    let (region, account, stream) = record.stream_parts();
    let origin = Arc::new(Origin {
        hostname: account.to_owned(),
        app_name: "kinesis".to_owned(),
        source: stream.to_owned(),
        params: vec![
            ("account", account.to_owned()),
            ("region", region.to_owned()),
            ("stream", stream.to_owned()),
            ("partitionKey", record.partition_key.clone()),
        ],
    });
    Ok(vec![Record {
        kind: RecordKind::Log,
        origin,
        timestamp_ms: record.arrival_ms,
        msg_id: "kinesis".into(),
        severity: Severity::Informational,
        id: Some(record.sequence_number.clone()),
        payload,
        detection: None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{base64, gzip};

    fn event_record(data: &[u8]) -> KinesisRecord {
        let raw = serde_json::json!({
            "kinesis": {
                "kinesisSchemaVersion": "1.0", "partitionKey": "pk-1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": base64(data),
                "approximateArrivalTimestamp": 1_795_341_600.123_f64,
            },
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record", "awsRegion": "eu-west-1",
            "invokeIdentityArn": "arn:aws:iam::111122223333:role/forwarder",
            "eventSourceARN": "arn:aws:kinesis:eu-west-1:111122223333:stream/app-events",
        })
        .to_string();
        let raw: Box<RawValue> = serde_json::from_str(&raw).unwrap();
        KinesisRecord::parse(&raw).unwrap()
    }

    #[test]
    fn text_is_one_record_tagged_with_the_stream() {
        let record = event_record(br#"{"user":"alice","action":"login"}"#);
        let records = records(&record, Limits::default(), None).unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.payload, r#"{"user":"alice","action":"login"}"#);
        assert_eq!(r.origin.source, "app-events");
        assert_eq!(r.origin.hostname, "111122223333");
        assert_eq!(r.timestamp_ms, 1_795_341_600_123);
        assert_eq!(r.id.as_deref(), Some(record.sequence_number.as_str()));
        assert!(r.origin.params.contains(&("region", "eu-west-1".into())));
    }

    #[test]
    fn gzip_is_cloudwatch_logs_data_from_the_source_account() {
        let data = br#"{"messageType":"DATA_MESSAGE","owner":"444455556666","logGroup":"/aws/lambda/orders","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1795341600000,"message":"a"},{"id":"2","timestamp":1795341600001,"message":"b"}]}"#;
        let record = event_record(&gzip(data));
        let records = records(&record, Limits::default(), None).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].origin.hostname, "444455556666");
        assert_eq!(records[1].id.as_deref(), Some("2"));
        let err = super::records(&record, Limits::default(), Some("/aws/lambda/orders"));
        assert!(matches!(err, Err(SourceError::OwnLogGroup(_))));
    }

    #[test]
    fn invalid_utf8_and_base64_fail_the_record() {
        let record = event_record(&[0xff, 0xfe, b'a']);
        let err = records(&record, Limits::default(), None).unwrap_err();
        assert!(
            matches!(err, SourceError::Kinesis(KinesisError::NotUtf8 { .. })),
            "{err}"
        );
        let mut record = event_record(b"x");
        record.data = "@@@".into();
        let err = records(&record, Limits::default(), None).unwrap_err();
        assert!(
            matches!(err, SourceError::Kinesis(KinesisError::Base64 { .. })),
            "{err}"
        );
    }
}
