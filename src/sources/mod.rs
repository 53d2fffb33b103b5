//! Input decoding: each source turns one incoming event into [`Record`]s and knows nothing of syslog.

pub mod cloudwatch;
pub mod ecr;
pub mod eventbridge;
pub mod input;
pub mod kinesis;
pub mod sqs;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::findings::FindingsSource;
use crate::record::Record;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "unsupported event: {0}; expected a CloudWatch Logs subscription payload \
         ({{\"awslogs\":{{\"data\":\"...\"}}}}), an EventBridge event (source, detail-type, detail), \
         a Kinesis or SQS event (Records), or an on-failure destination record (requestPayload)"
    )]
    Unsupported(String),
    #[error(transparent)]
    CloudWatch(#[from] cloudwatch::DecodeError),
    #[error(
        "refusing to forward log group {0}: it is this function's own log group, and forwarding it \
         would feed the function its own output in a loop; remove that subscription filter"
    )]
    OwnLogGroup(String),
    #[error(transparent)]
    Scan(#[from] ecr::ScanError),
    #[error(transparent)]
    Kinesis(#[from] kinesis::KinesisError),
    #[error(transparent)]
    Sqs(#[from] sqs::SqsError),
    #[error(
        "event: {bytes} bytes, over the {limit}-byte limit (Lambda delivers at most 6 MB); refusing it"
    )]
    EventTooLarge { bytes: usize, limit: usize },
    #[error(
        "event: JSON nested deeper than {limit} levels; AWS events are shallow, so refusing it"
    )]
    EventTooDeep { limit: usize },
}

/// The top-level keys that tell the kinds of event apart.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    awslogs: Option<AwsLogs<'a>>,
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<&'a RawValue>>,
    /// A Lambda on-failure destination record: the original event.
    #[serde(rename = "requestPayload", borrow, default)]
    request_payload: Option<&'a RawValue>,
    /// What a Kinesis event source mapping sends to its on-failure destination.
    #[serde(rename = "KinesisBatchInfo", borrow, default)]
    kinesis_batch_info: Option<&'a RawValue>,
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "detail-type", default)]
    detail_type: Option<String>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    time: Option<String>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

/// The EventBridge envelope fields every EventBridge-borne record uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBridgeMeta {
    pub id: String,
    pub source: String,
    pub detail_type: String,
    pub account: String,
    pub region: String,
    pub time: String,
}

/// A classified event, ready to become records.
#[derive(Debug)]
pub enum Event<'a> {
    /// `awslogs.data`: base64 of gzip of the log data JSON.
    CloudWatchLogs(Cow<'a, str>),
    /// An ECR basic scan or an Inspector2 (enhanced) scan of an ECR image.
    Scan(ecr::ScanEvent),
    /// Any other EventBridge event: forwarded whole.
    EventBridge { meta: EventBridgeMeta, raw: &'a str },
    /// A Kinesis Data Streams batch: each record is an item of its own, in order.
    Kinesis(Vec<&'a RawValue>),
    /// An SQS batch: each message is an item of its own.
    Sqs(Vec<&'a RawValue>),
}

/// Which event source mapping sent a `Records` batch.
#[derive(Deserialize)]
struct EventSource<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    event_source: Option<Cow<'a, str>>,
}

/// Tells what `raw` (one JSON event) is, without decoding its bulk.
pub fn classify(raw: &str) -> Result<Event<'_>, SourceError> {
    let envelope: Envelope = serde_json::from_str(raw).map_err(|e| {
        SourceError::Unsupported(format!("not a JSON object with the expected keys ({e})"))
    })?;
    if let Some(awslogs) = envelope.awslogs {
        return Ok(Event::CloudWatchLogs(awslogs.data));
    }
    if let Some(records) = envelope.records {
        return classify_batch(records);
    }
    if let Some(original) = envelope.request_payload {
        // An on-failure destination record of this function: redriving it forwards the original
        // event. Batches are invoked synchronously and never land in that destination.
        return match classify(original.get())? {
            Event::Kinesis(_) | Event::Sqs(_) => Err(SourceError::Unsupported(
                "its requestPayload is itself a Kinesis or SQS batch".into(),
            )),
            event => Ok(event),
        };
    }
    if envelope.kinesis_batch_info.is_some() {
        return Err(SourceError::Unsupported(
            "it is a Kinesis on-failure record (KinesisBatchInfo), which holds only the shard and \
             sequence numbers, not the data; read that range from the stream (aws kinesis \
             get-shard-iterator / get-records) and replay the records"
                .into(),
        ));
    }
    let (Some(source), Some(detail_type), Some(detail)) =
        (envelope.source, envelope.detail_type, envelope.detail)
    else {
        return Err(SourceError::Unsupported(
            "it has neither awslogs nor source, detail-type and detail".into(),
        ));
    };
    if !detail.get().trim_start().starts_with('{') {
        return Err(SourceError::Unsupported(
            "its detail is not a JSON object".into(),
        ));
    }
    let meta = EventBridgeMeta {
        id: envelope.id.unwrap_or_default(),
        source,
        detail_type,
        account: envelope.account.unwrap_or_default(),
        region: envelope.region.unwrap_or_default(),
        time: envelope.time.unwrap_or_default(),
    };
    match ecr::ScanKind::of(&meta.source, &meta.detail_type) {
        Some(kind) => Ok(Event::Scan(ecr::ScanEvent::parse(
            kind,
            meta,
            detail.get(),
        )?)),
        None => Ok(Event::EventBridge { meta, raw }),
    }
}

fn classify_batch(records: Vec<&RawValue>) -> Result<Event<'_>, SourceError> {
    let source_of = |record: &RawValue| {
        serde_json::from_str::<EventSource>(record.get())
            .ok()
            .and_then(|s| s.event_source)
            .map(Cow::into_owned)
    };
    let Some(first) = records.first().map(|r| source_of(r)) else {
        return Err(SourceError::Unsupported("its Records list is empty".into()));
    };
    if let Some(other) = records.iter().map(|r| source_of(r)).find(|s| *s != first) {
        return Err(SourceError::Unsupported(format!(
            "its Records mix event sources ({first:?} and {other:?})"
        )));
    }
    match first.as_deref() {
        Some("aws:kinesis") => Ok(Event::Kinesis(records)),
        Some("aws:sqs") => Ok(Event::Sqs(records)),
        Some(other) => Err(SourceError::Unsupported(format!(
            "its Records come from {other}, which this forwarder does not read"
        ))),
        None => Err(SourceError::Unsupported(
            "its Records carry no eventSource".into(),
        )),
    }
}

/// Bounds on every decode stage: what one event may be and expand to. A violation fails the event
/// before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The raw JSON event (and so its base64 `awslogs.data`).
    pub max_event_bytes: usize,
    /// Nesting of the raw JSON event.
    pub max_json_depth: usize,
    /// The gunzipped subscription payload (gzip bombs).
    pub max_decompressed_bytes: usize,
    /// Log events in one subscription payload.
    pub max_log_events: usize,
    /// One log event's message.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Lambda's synchronous payload limit is 6 MB and the asynchronous one 1 MB; replayed
            // failure-queue messages are at most 1 MiB (SQS).
            max_event_bytes: 8 * 1024 * 1024,
            max_json_depth: 64,
            max_decompressed_bytes: 64 * 1024 * 1024,
            // CloudWatch Logs accepts at most 10,000 events per PutLogEvents call.
            max_log_events: 100_000,
            // CloudWatch Logs' largest log event is 1 MiB.
            max_message_bytes: 1024 * 1024,
        }
    }
}

/// Whether the JSON text nests arrays and objects at most `limit` deep (brackets inside strings do
/// not count). Checked before parsing, so a hostile event costs one linear scan; string contents
/// (almost all of a subscription event: the base64 payload) are skipped with `memchr`.
pub fn json_depth_within(text: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = text.get(at) {
        at += 1;
        match b {
            b'"' => at = string_end(text, at),
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The offset just past the closing quote of the string whose contents start at `at` (the end of
/// the text for an unterminated one).
fn string_end(text: &[u8], mut at: usize) -> usize {
    while let Some(found) = memchr::memchr2(b'"', b'\\', &text[at..]) {
        let quote_or_backslash = at + found;
        if text[quote_or_backslash] == b'"' {
            return quote_or_backslash + 1;
        }
        // Skip the escaped character, whatever it is.
        at = (quote_or_backslash + 2).min(text.len());
    }
    text.len()
}

/// Checks the raw event against the size and depth bounds, before anything parses it.
pub fn check_bounds(raw: &str, limits: Limits) -> Result<(), SourceError> {
    if raw.len() > limits.max_event_bytes {
        return Err(SourceError::EventTooLarge {
            bytes: raw.len(),
            limit: limits.max_event_bytes,
        });
    }
    if !json_depth_within(raw.as_bytes(), limits.max_json_depth) {
        return Err(SourceError::EventTooDeep {
            limit: limits.max_json_depth,
        });
    }
    Ok(())
}

/// Decodes one event that is not a batch into records; ECR scans read their findings from
/// `findings`. A subscription of `own_log_group` (the function's own logs) is refused.
pub async fn records(
    raw: &str,
    limits: Limits,
    own_log_group: Option<&str>,
    findings: &impl FindingsSource,
) -> Result<Vec<Record>, SourceError> {
    check_bounds(raw, limits)?;
    event_records(classify(raw)?, limits, own_log_group, findings).await
}

/// The records of one classified event that is not a batch (batches are split into items first).
pub async fn event_records(
    event: Event<'_>,
    limits: Limits,
    own_log_group: Option<&str>,
    findings: &impl FindingsSource,
) -> Result<Vec<Record>, SourceError> {
    match event {
        Event::CloudWatchLogs(data) => {
            let log_data = cloudwatch::decode(&data, limits)?;
            if own_log_group.is_some_and(|own| own == log_data.log_group) {
                return Err(SourceError::OwnLogGroup(log_data.log_group));
            }
            Ok(cloudwatch::records(log_data, limits)?)
        }
        Event::Scan(scan) => Ok(ecr::records(&scan, findings).await?),
        Event::EventBridge { meta, raw } => Ok(vec![eventbridge::record(&meta, raw)]),
        Event::Kinesis(_) | Event::Sqs(_) => Err(SourceError::Unsupported(
            "a Kinesis or SQS batch inside a batch".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_kinds() {
        assert!(matches!(
            classify(r#"{"awslogs":{"data":"H4sI"}}"#),
            Ok(Event::CloudWatchLogs(d)) if d == "H4sI"
        ));
        let other = r#"{"id":"1","source":"aws.ecr","detail-type":"ECR Image Action","account":"1","region":"r","time":"2026-11-22T10:00:00Z","detail":{"action-type":"PUSH"}}"#;
        assert!(
            matches!(classify(other), Ok(Event::EventBridge { meta, .. }) if meta.detail_type == "ECR Image Action")
        );
        let scan = r#"{"source":"aws.ecr","detail-type":"ECR Image Scan","detail":{"scan-status":"COMPLETE","repository-name":"r","image-digest":"sha256:1"}}"#;
        assert!(matches!(classify(scan), Ok(Event::Scan(_))));
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert!(json_depth_within(br#"{"a":[{"b":"[[[[{{{{"}]}"#, 3));
        assert!(!json_depth_within(br#"{"a":[{"b":[]}]}"#, 3));
        assert!(json_depth_within(br#"{"a":"\"[[[["}"#, 1));
        assert!(!json_depth_within(&b"[".repeat(65), 64));
        assert!(json_depth_within(&b"[".repeat(64), 64));
        // An escaped backslash does not escape the quote after it: the string closes there.
        assert!(!json_depth_within(br#"{"a":"\\","b":[[]]}"#, 2));
        assert!(json_depth_within(br#"{"a":"\\","b":[[]]}"#, 3));
        // Unterminated strings and a trailing backslash end the scan without panicking.
        assert!(json_depth_within(br#"["abc"#, 1));
        assert!(json_depth_within(br#"["abc\"#, 1));
        assert!(json_depth_within(b"\"", 0));
    }

    /// The byte-by-byte definition the `memchr` scan must agree with.
    fn depth_within_reference(text: &[u8], limit: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &b in text {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > limit {
                        return false;
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        true
    }

    proptest::proptest! {
        #[test]
        fn depth_scan_agrees_with_the_byte_by_byte_definition(
            text in proptest::collection::vec(
                proptest::sample::select(b"[]{}\"\\a:,".to_vec()),
                0..200,
            ),
            limit in 0usize..8,
        ) {
            proptest::prop_assert_eq!(
                json_depth_within(&text, limit),
                depth_within_reference(&text, limit)
            );
        }
    }

    #[test]
    fn anything_else_is_unsupported() {
        for raw in [
            "{}",
            "[]",
            "42",
            "\"text\"",
            "not json",
            r#"{"source":"aws.ecr","detail-type":"x"}"#,
            r#"{"source":"aws.ecr","detail-type":"x","detail":"a string"}"#,
            r#"{"awslogs":{"data":42}}"#,
            r#"{"Records":[{"eventSource":"aws:s3"}]}"#,
        ] {
            let err = classify(raw).unwrap_err();
            assert!(matches!(err, SourceError::Unsupported(_)), "{raw}: {err}");
            assert!(err.to_string().starts_with("unsupported event"), "{err}");
        }
    }
}
