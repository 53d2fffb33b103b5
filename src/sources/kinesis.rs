//! Kinesis Data Streams records. A record's data is CloudWatch Logs subscription data when it is
//! gzip (what a CloudWatch Logs destination writes), a KPL aggregate of user records when it starts
//! with the KPL magic, and otherwise one record of UTF-8 text from another producer. Data that is
//! none of these can never be decoded: it is forwarded base64-encoded rather than retried, since a
//! retry would block the shard and decode it no better.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{cloudwatch, kpl};
use crate::record::{Origin, Record, RecordKind, Severity};

#[derive(Debug, thiserror::Error)]
pub enum KinesisError {
    #[error(
        "Kinesis record: not the expected shape ({0}); expected kinesis.data, kinesis.sequenceNumber and eventSourceARN"
    )]
    Shape(serde_json::Error),
}

/// One record of a Kinesis event, as Lambda's event source mapping delivers it, borrowed from the
/// event (base64 and sequence numbers hold no escapes).
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisRecord<'a> {
    pub sequence_number: Cow<'a, str>,
    pub partition_key: Cow<'a, str>,
    /// base64 of the record's data.
    pub data: Cow<'a, str>,
    /// When Kinesis received the record, epoch milliseconds.
    pub arrival_ms: i64,
    pub stream_arn: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    kinesis: WireKinesis<'a>,
    #[serde(rename = "eventSourceARN", borrow)]
    event_source_arn: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireKinesis<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow)]
    sequence_number: Cow<'a, str>,
    #[serde(default, borrow)]
    partition_key: Cow<'a, str>,
    approximate_arrival_timestamp: f64,
}

impl<'a> KinesisRecord<'a> {
    pub fn parse(raw: &'a RawValue) -> Result<KinesisRecord<'a>, KinesisError> {
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

    /// The record's data, base64-decoded into `out`; the reason when it is not base64 (Lambda
    /// always sends valid base64, so this is a damaged or hand-made event).
    pub fn decode_into(&self, out: &mut Vec<u8>) -> Result<(), &'static str> {
        out.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(self.data.trim(), out)
            .map_err(|_| "data is not valid base64")
    }
}

/// Which user record of a record's data a piece of data is: the whole record, or one user record
/// of a KPL aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    Whole,
    User {
        index: usize,
        partition_key: &'a str,
    },
}

/// What one piece of Kinesis data holds.
pub enum Data<'a> {
    /// gzip: a CloudWatch Logs subscription payload.
    CloudWatch(&'a [u8]),
    /// A KPL aggregate: its user records, each decoded as a record's data would be.
    Aggregate(&'a [u8]),
    Text(&'a str),
    /// Not decodable: why, in a few words.
    Undecodable(&'static str),
}

impl<'a> Data<'a> {
    /// Tells `data` apart. `max_text` bounds a text record (longer is undecodable).
    pub fn of(data: &'a [u8], part: Part<'_>, max_text: usize) -> Data<'a> {
        if data.starts_with(&[0x1f, 0x8b]) {
            return Data::CloudWatch(data);
        }
        // An aggregate inside an aggregate is not something the KPL writes.
        if part == Part::Whole && kpl::is_aggregated(data) {
            return Data::Aggregate(data);
        }
        if data.len() > max_text {
            return Data::Undecodable("text longer than the 1 MiB record bound");
        }
        match std::str::from_utf8(data) {
            Ok(text) => Data::Text(text),
            Err(_) => Data::Undecodable("neither gzip, nor KPL, nor UTF-8 text"),
        }
    }
}

/// The origin of a record of text (or undecodable data) from `record`'s stream.
fn stream_origin(
    record: &KinesisRecord<'_>,
    part: Part<'_>,
    extra: &[(&'static str, String)],
) -> Arc<Origin> {
    let (region, account, stream) = record.stream_parts();
    let partition_key = match part {
        Part::Whole => &record.partition_key,
        Part::User { partition_key, .. } => partition_key,
    };
    let mut params = vec![
        ("account", account.to_owned()),
        ("region", region.to_owned()),
        ("stream", stream.to_owned()),
        ("partitionKey", partition_key.to_owned()),
    ];
    params.extend_from_slice(extra);
    Arc::new(Origin {
        hostname: account.to_owned(),
        app_name: "kinesis".to_owned(),
        source: stream.to_owned(),
        params,
        tags: Vec::new(),
    })
}

/// `<sequenceNumber>` for a whole record, `<sequenceNumber>:<index>` for a user record.
fn record_id(record: &KinesisRecord<'_>, part: Part<'_>) -> String {
    match part {
        Part::Whole => record.sequence_number.clone().into_owned(),
        Part::User { index, .. } => format!("{}:{index}", record.sequence_number),
    }
}

/// The record of one piece of text.
pub fn text_record(record: &KinesisRecord<'_>, part: Part<'_>, text: &str) -> Record {
    Record {
        kind: RecordKind::Log,
        origin: stream_origin(record, part, &[]),
        timestamp_ms: record.arrival_ms,
        msg_id: "kinesis".into(),
        severity: Severity::Informational,
        id: Some(record_id(record, part)),
        payload: text.to_owned(),
        detection: None,
    }
}

/// The record of data that can never be decoded: the data in standard base64, SD
/// `encoding="base64"` and `reason`, at severity warning.
pub fn undecodable_record(
    record: &KinesisRecord<'_>,
    part: Part<'_>,
    data: &[u8],
    reason: &str,
) -> Record {
    let extra = [
        ("encoding", "base64".to_owned()),
        ("reason", reason.to_owned()),
    ];
    Record {
        kind: RecordKind::Log,
        origin: stream_origin(record, part, &extra),
        timestamp_ms: record.arrival_ms,
        msg_id: "kinesis".into(),
        severity: Severity::Warning,
        id: Some(record_id(record, part)),
        payload: base64::engine::general_purpose::STANDARD.encode(data),
        detection: None,
    }
}

/// A short cause for a CloudWatch Logs payload that cannot be decoded (it becomes an SD value).
pub fn undecodable_reason(error: &cloudwatch::DecodeError) -> &'static str {
    use cloudwatch::DecodeError as E;
    match error {
        E::Base64(_) => "data is not valid base64",
        E::Gzip(_) => "gzip that does not inflate",
        E::TooLarge { .. } => "gzip that decompresses past the bound",
        E::Json(_) => "gzip holding no CloudWatch Logs payload",
        E::MessageType(_) => "CloudWatch Logs payload of an unknown messageType",
        E::MissingField(_) => "CloudWatch Logs payload missing a field",
        E::TooManyEvents { .. } => "CloudWatch Logs payload with too many log events",
        E::MessageTooLong { .. } => "CloudWatch Logs log event past the 1 MiB bound",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_record(data: &str) -> Box<RawValue> {
        let raw = serde_json::json!({
            "kinesis": {
                "kinesisSchemaVersion": "1.0", "partitionKey": "pk-1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": data,
                "approximateArrivalTimestamp": 1_795_341_600.123_f64,
            },
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record", "awsRegion": "eu-west-1",
            "invokeIdentityArn": "arn:aws:iam::111122223333:role/forwarder",
            "eventSourceARN": "arn:aws:kinesis:eu-west-1:111122223333:stream/app-events",
        })
        .to_string();
        serde_json::from_str(&raw).unwrap()
    }

    #[test]
    fn text_is_one_record_tagged_with_the_stream() {
        let raw = raw_record(&crate::test_support::base64(br#"{"user":"alice"}"#));
        let record = KinesisRecord::parse(&raw).unwrap();
        assert!(
            matches!(record.data, Cow::Borrowed(_)),
            "borrowed from the event"
        );
        let mut data = Vec::new();
        record.decode_into(&mut data).unwrap();
        let Data::Text(text) = Data::of(&data, Part::Whole, 1 << 20) else {
            panic!("text");
        };
        let r = text_record(&record, Part::Whole, text);
        assert_eq!(r.payload, r#"{"user":"alice"}"#);
        assert_eq!(r.origin.source, "app-events");
        assert_eq!(r.origin.hostname, "111122223333");
        assert_eq!(r.timestamp_ms, 1_795_341_600_123);
        assert_eq!(r.id.as_deref(), Some(&*record.sequence_number));
        assert!(r.origin.params.contains(&("region", "eu-west-1".into())));
        let user = Part::User {
            index: 3,
            partition_key: "user-key",
        };
        let r = text_record(&record, user, "x");
        assert_eq!(
            r.id.as_deref(),
            Some("49590338271490256608559692538361571095921575989136588898:3")
        );
        assert!(
            r.origin
                .params
                .contains(&("partitionKey", "user-key".into()))
        );
    }

    #[test]
    fn data_is_told_apart() {
        assert!(matches!(
            Data::of(&[0x1f, 0x8b, 8], Part::Whole, 10),
            Data::CloudWatch(_)
        ));
        assert!(matches!(
            Data::of(&[0xff, 0xfe, b'a'], Part::Whole, 10),
            Data::Undecodable("neither gzip, nor KPL, nor UTF-8 text")
        ));
        assert!(matches!(
            Data::of(b"abc", Part::Whole, 2),
            Data::Undecodable(_)
        ));
        let mut aggregate = kpl::KPL_MAGIC.to_vec();
        aggregate.extend_from_slice(&[0; 16]);
        assert!(matches!(
            Data::of(&aggregate, Part::Whole, 100),
            Data::Aggregate(_)
        ));
        let user = Part::User {
            index: 0,
            partition_key: "k",
        };
        assert!(!matches!(
            Data::of(&aggregate, user, 100),
            Data::Aggregate(_)
        ));
    }

    #[test]
    fn undecodable_data_is_forwarded_as_base64_with_its_reason() {
        let raw = raw_record("//4A");
        let record = KinesisRecord::parse(&raw).unwrap();
        let mut data = Vec::new();
        record.decode_into(&mut data).unwrap();
        let r = undecodable_record(&record, Part::Whole, &data, "why");
        assert_eq!(r.payload, "//4A");
        assert!(r.origin.params.contains(&("encoding", "base64".into())));
        assert!(r.origin.params.contains(&("reason", "why".into())));
        assert_eq!(r.origin.source, "app-events");
        let raw = raw_record("@@@");
        let record = KinesisRecord::parse(&raw).unwrap();
        assert_eq!(
            record.decode_into(&mut data),
            Err("data is not valid base64")
        );
    }
}
