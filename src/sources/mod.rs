//! Input decoding: each source turns one incoming event into [`Record`]s and knows nothing of syslog.

pub mod cloudwatch;
pub mod ecr;
pub mod eventbridge;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::findings::FindingsSource;
use crate::record::Record;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "unsupported event: {0}; expected a CloudWatch Logs subscription payload \
         ({{\"awslogs\":{{\"data\":\"...\"}}}}) or an EventBridge event (source, detail-type, detail)"
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
}

/// Tells what `raw` (one JSON event) is, without decoding its bulk.
pub fn classify(raw: &str) -> Result<Event<'_>, SourceError> {
    let envelope: Envelope = serde_json::from_str(raw).map_err(|e| {
        SourceError::Unsupported(format!("not a JSON object with the expected keys ({e})"))
    })?;
    if let Some(awslogs) = envelope.awslogs {
        return Ok(Event::CloudWatchLogs(awslogs.data));
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

/// Decodes one event into records; ECR scans read their findings from `findings`. A subscription of
/// `own_log_group` (the function's own logs) is refused.
pub async fn records(
    raw: &str,
    limits: Limits,
    own_log_group: Option<&str>,
    findings: &impl FindingsSource,
) -> Result<Vec<Record>, SourceError> {
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
    match classify(raw)? {
        Event::CloudWatchLogs(data) => {
            let log_data = cloudwatch::decode(&data, limits)?;
            if own_log_group.is_some_and(|own| own == log_data.log_group) {
                return Err(SourceError::OwnLogGroup(log_data.log_group));
            }
            Ok(cloudwatch::records(log_data, limits)?)
        }
        Event::Scan(scan) => Ok(ecr::records(&scan, findings).await?),
        Event::EventBridge { meta, raw } => Ok(vec![eventbridge::record(&meta, raw)]),
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
