//! CloudWatch Logs subscription payloads: `awslogs.data` is base64 of gzip (possibly several members)
//! of the log data JSON. One record per log event; control messages yield none.

mod stream;
pub mod tags;

use std::io::Read;
use std::sync::Arc;

use base64::Engine;
use flate2::read::MultiGzDecoder;
use serde::Deserialize;

pub use stream::{EventBuf, LogMeta, LogStream};

use super::Limits;
use crate::record::{Origin, Record, RecordKind, Severity};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("CloudWatch Logs payload: awslogs.data is not valid base64 ({0})")]
    Base64(#[from] base64::DecodeError),
    #[error("CloudWatch Logs payload: awslogs.data is not valid gzip ({0})")]
    Gzip(std::io::Error),
    #[error(
        "CloudWatch Logs payload: decompresses to more than {limit} bytes; refusing it as a \
         possible gzip bomb (real payloads are at most a few MiB)"
    )]
    TooLarge { limit: usize },
    #[error("CloudWatch Logs payload: the decompressed data is not CloudWatch Logs log data ({0})")]
    Json(#[from] serde_json::Error),
    #[error(
        "CloudWatch Logs payload: unknown messageType {0:?} (expected DATA_MESSAGE or CONTROL_MESSAGE)"
    )]
    MessageType(String),
    #[error(
        "CloudWatch Logs payload: the DATA_MESSAGE has no {0:?} field (CloudWatch Logs always sends \
         owner, logGroup, logStream and logEvents); refusing it rather than forwarding nothing"
    )]
    MissingField(&'static str),
    #[error("CloudWatch Logs payload: {count} log events, over the limit of {limit} per payload")]
    TooManyEvents { count: usize, limit: usize },
    #[error(
        "CloudWatch Logs payload: log event {index} has a {bytes}-byte message, over the {limit}-byte \
         limit (CloudWatch Logs events are at most 1 MiB)"
    )]
    MessageTooLong {
        index: usize,
        bytes: usize,
        limit: usize,
    },
}

impl From<crate::sources::input::InputError> for DecodeError {
    fn from(error: crate::sources::input::InputError) -> DecodeError {
        use crate::sources::input::InputError;
        match error {
            InputError::Read(e) => DecodeError::Gzip(e),
            InputError::TooLarge { limit } => DecodeError::TooLarge { limit },
        }
    }
}

/// The decompressed subscription payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogData {
    pub message_type: String,
    pub owner: String,
    pub log_group: String,
    pub log_stream: String,
    pub log_events: Vec<LogEvent>,
}

/// The payload as it arrives: which fields are present is checked per message type.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLogData {
    message_type: String,
    owner: Option<String>,
    log_group: Option<String>,
    log_stream: Option<String>,
    log_events: Option<Vec<LogEvent>>,
}

impl WireLogData {
    /// A DATA_MESSAGE must carry every field; a CONTROL_MESSAGE has an empty group and stream.
    fn validate(self) -> Result<LogData, DecodeError> {
        let data = match self.message_type.as_str() {
            "DATA_MESSAGE" => LogData {
                owner: self.owner.ok_or(DecodeError::MissingField("owner"))?,
                log_group: self
                    .log_group
                    .ok_or(DecodeError::MissingField("logGroup"))?,
                log_stream: self
                    .log_stream
                    .ok_or(DecodeError::MissingField("logStream"))?,
                log_events: self
                    .log_events
                    .ok_or(DecodeError::MissingField("logEvents"))?,
                message_type: self.message_type,
            },
            "CONTROL_MESSAGE" => LogData {
                owner: self.owner.unwrap_or_default(),
                log_group: self.log_group.unwrap_or_default(),
                log_stream: self.log_stream.unwrap_or_default(),
                log_events: self.log_events.unwrap_or_default(),
                message_type: self.message_type,
            },
            other => return Err(DecodeError::MessageType(other.to_owned())),
        };
        Ok(data)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogEvent {
    /// A ~56-digit decimal string: never a number.
    pub id: String,
    pub timestamp: i64,
    pub message: String,
}

/// base64 → gunzip (all members, at most `limits.max_decompressed_bytes`) → JSON. The event size
/// bound (checked on the whole event before this) also bounds the base64.
pub fn decode(data: &str, limits: Limits) -> Result<LogData, DecodeError> {
    let compressed = base64::engine::general_purpose::STANDARD.decode(data.trim())?;
    decode_gzip(&compressed, limits)
}

/// gunzip (all members, at most `limits.max_decompressed_bytes`) → JSON: subscription data as a
/// CloudWatch Logs destination writes it to Kinesis.
pub fn decode_gzip(compressed: &[u8], limits: Limits) -> Result<LogData, DecodeError> {
    let limit = limits.max_decompressed_bytes;
    let mut json = Vec::with_capacity(compressed.len().saturating_mul(8).min(limit));
    MultiGzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut json)
        .map_err(DecodeError::Gzip)?;
    if json.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    // No depth check is needed here: the schema fixes the shape of every known key (nesting there is
    // a type error) and serde_json skips unknown keys without recursion.
    let wire: WireLogData = serde_json::from_slice(&json)?;
    wire.validate()
}

/// One record per log event of a DATA_MESSAGE; nothing for a CONTROL_MESSAGE (a health check).
pub fn records(data: LogData, limits: Limits) -> Result<Vec<Record>, DecodeError> {
    if data.message_type != "DATA_MESSAGE" {
        return Ok(Vec::new());
    }
    if data.log_events.len() > limits.max_log_events {
        return Err(DecodeError::TooManyEvents {
            count: data.log_events.len(),
            limit: limits.max_log_events,
        });
    }
    if let Some((index, event)) = data
        .log_events
        .iter()
        .enumerate()
        .find(|(_, e)| e.message.len() > limits.max_message_bytes)
    {
        return Err(DecodeError::MessageTooLong {
            index,
            bytes: event.message.len(),
            limit: limits.max_message_bytes,
        });
    }
    let origin = origin(&data.owner, &data.log_group, &data.log_stream);
    Ok(data
        .log_events
        .into_iter()
        .map(|event| {
            let mut record = log_record(Arc::clone(&origin));
            record.timestamp_ms = event.timestamp;
            record.id = Some(event.id);
            record.payload = event.message;
            record
        })
        .collect())
}

/// What every record of one payload shares: HOSTNAME and `account` the owner (the source account),
/// APP-NAME the last segment of the log group, Event Source the log group.
pub fn origin(owner: &str, log_group: &str, log_stream: &str) -> Arc<Origin> {
    let app_name = log_group
        .rsplit('/')
        .find(|segment| !segment.is_empty())
        .unwrap_or("cloudwatch")
        .to_owned();
    Arc::new(Origin {
        hostname: owner.to_owned(),
        app_name,
        source: log_group.to_owned(),
        params: vec![
            ("account", owner.to_owned()),
            ("logGroup", log_group.to_owned()),
            ("logStream", log_stream.to_owned()),
        ],
        tags: Vec::new(),
    })
}

/// A log record of `origin` with empty fields, to be filled per log event.
pub fn log_record(origin: Arc<Origin>) -> Record {
    Record {
        kind: RecordKind::Log,
        origin,
        timestamp_ms: 0,
        msg_id: "log".into(),
        severity: Severity::Informational,
        id: Some(String::new()),
        payload: String::new(),
        detection: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{base64 as b64, gzip};

    const DATA: &str = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/orders-api","logStream":"2026/11/22/[$LATEST]abc","subscriptionFilters":["f"],"logEvents":[{"id":"37190000000000000000000000000000000000000000000000000000","timestamp":1795341600123,"message":"first line"},{"id":"37190000000000000000000000000000000000000000000000000001","timestamp":1795341600124,"message":"{\"eventSource\":\"ecr.amazonaws.com\"}\n"}]}"#;

    #[test]
    fn data_message_gives_one_record_per_event() {
        let data = decode(&b64(&gzip(DATA.as_bytes())), Limits::default()).unwrap();
        let records = records(data, Limits::default()).unwrap();
        assert_eq!(records.len(), 2);
        let r = &records[1];
        assert_eq!(r.origin.hostname, "123456789012");
        assert_eq!(r.origin.app_name, "orders-api");
        assert_eq!(r.origin.source, "/aws/lambda/orders-api");
        assert_eq!(r.timestamp_ms, 1_795_341_600_124);
        assert_eq!(
            r.id.as_deref(),
            Some("37190000000000000000000000000000000000000000000000000001")
        );
        assert_eq!(r.payload, "{\"eventSource\":\"ecr.amazonaws.com\"}\n");
    }

    #[test]
    fn control_message_gives_nothing() {
        let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1795341600000,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}"#;
        let data = decode(&b64(&gzip(control.as_bytes())), Limits::default()).unwrap();
        assert!(records(data, Limits::default()).unwrap().is_empty());
    }

    #[test]
    fn a_data_message_missing_a_field_names_it() {
        let full: serde_json::Value = serde_json::from_str(DATA).unwrap();
        for field in ["owner", "logGroup", "logStream", "logEvents"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(field);
            let err = decode(
                &b64(&gzip(partial.to_string().as_bytes())),
                Limits::default(),
            )
            .unwrap_err();
            assert!(
                matches!(err, DecodeError::MissingField(f) if f == field),
                "{field}: {err}"
            );
            assert!(err.to_string().contains(field), "{err}");
        }
        // A control message needs none of them.
        let control = r#"{"messageType":"CONTROL_MESSAGE","logEvents":[]}"#;
        let data = decode(&b64(&gzip(control.as_bytes())), Limits::default()).unwrap();
        assert_eq!(
            (data.log_group.as_str(), data.log_stream.as_str()),
            ("", "")
        );
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let (a, b) = DATA.split_at(100);
        let mut two = gzip(a.as_bytes());
        two.extend(gzip(b.as_bytes()));
        let data = decode(&b64(&two), Limits::default()).unwrap();
        assert_eq!(data.log_events.len(), 2);
    }

    #[test]
    fn gzip_bomb_is_an_error() {
        let bomb = gzip(&vec![b' '; 10 * 1024 * 1024]);
        let limits = Limits {
            max_decompressed_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let err = decode(&b64(&bomb), limits).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { limit } if limit == 1024 * 1024));
    }

    #[test]
    fn every_stage_has_a_bound() {
        let small = Limits {
            max_log_events: 1,
            max_message_bytes: 5,
            ..Limits::default()
        };
        let data = decode(&b64(&gzip(DATA.as_bytes())), Limits::default()).unwrap();
        let err = records(data.clone(), small).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooManyEvents { count: 2, limit: 1 }),
            "{err}"
        );
        let err = records(
            data,
            Limits {
                max_log_events: 2,
                ..small
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::MessageTooLong {
                    index: 0,
                    bytes: 10,
                    limit: 5
                }
            ),
            "{err}"
        );

        // Deep nesting cannot overflow the stack: unknown keys are skipped iteratively, known keys
        // have a fixed shape.
        let depth = 1_000_000;
        let deep = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[],"x":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(decode(&b64(&gzip(deep.as_bytes())), Limits::default()).is_ok());
        let nested_message = format!(
            r#"{{"messageType":"DATA_MESSAGE","logEvents":[{{"id":"1","timestamp":1,"message":{}{}}}]}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let err = decode(&b64(&gzip(nested_message.as_bytes())), Limits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::Json(_)), "{err}");
    }

    #[test]
    fn bad_inputs_name_their_stage() {
        let limits = Limits::default();
        assert!(matches!(decode("@@@", limits), Err(DecodeError::Base64(_))));
        assert!(matches!(
            decode(&b64(b"plain"), limits),
            Err(DecodeError::Gzip(_))
        ));
        assert!(matches!(
            decode(&b64(&gzip(b"[1]")), limits),
            Err(DecodeError::Json(_))
        ));
        let numeric_id = DATA.replace(
            "\"37190000000000000000000000000000000000000000000000000000\"",
            "42",
        );
        assert!(matches!(
            decode(&b64(&gzip(numeric_id.as_bytes())), limits),
            Err(DecodeError::Json(_))
        ));
        let other = r#"{"messageType":"OTHER"}"#;
        assert!(matches!(
            decode(&b64(&gzip(other.as_bytes())), limits),
            Err(DecodeError::MessageType(t)) if t == "OTHER"
        ));
        let other =
            r#"{"messageType":"OTHER","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#;
        assert!(matches!(
            decode(&b64(&gzip(other.as_bytes())), limits),
            Err(DecodeError::MessageType(t)) if t == "OTHER"
        ));
    }
}
