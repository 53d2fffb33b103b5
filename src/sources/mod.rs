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

/// Limits on what one event may expand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_decompressed_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Decodes one event into records; ECR scans read their findings from `findings`. A subscription of
/// `own_log_group` (the function's own logs) is refused.
pub async fn records(
    raw: &str,
    limits: Limits,
    own_log_group: Option<&str>,
    findings: &impl FindingsSource,
) -> Result<Vec<Record>, SourceError> {
    match classify(raw)? {
        Event::CloudWatchLogs(data) => {
            let log_data = cloudwatch::decode(&data, limits)?;
            if own_log_group.is_some_and(|own| own == log_data.log_group) {
                return Err(SourceError::OwnLogGroup(log_data.log_group));
            }
            Ok(cloudwatch::records(log_data))
        }
        Event::Scan(scan) => Ok(ecr::records(&scan, findings).await?),
        Event::EventBridge { meta, raw } => Ok(vec![eventbridge::record(&meta, raw)]),
    }
}

/// Current time in epoch milliseconds, for records whose event carries no usable time.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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
