//! Any EventBridge event that has no dedicated source: one record holding the whole event.

use std::sync::Arc;

use super::EventBridgeMeta;
use crate::record::{Origin, Record, RecordKind, Severity};
use crate::time::{now_ms, parse_rfc3339_ms};

pub fn record(meta: &EventBridgeMeta, raw: &str) -> Record {
    Record {
        kind: RecordKind::Event,
        origin: Arc::new(Origin {
            hostname: meta.account.clone(),
            app_name: meta.source.clone(),
            source: meta.source.clone(),
            params: vec![
                ("account", meta.account.clone()),
                ("region", meta.region.clone()),
            ],
        }),
        timestamp_ms: parse_rfc3339_ms(&meta.time).unwrap_or_else(now_ms),
        msg_id: meta.detail_type.clone().into(),
        severity: Severity::Informational,
        id: Some(meta.id.clone()).filter(|id| !id.is_empty()),
        payload: compact_json(raw),
        detection: None,
    }
}

/// Removes the whitespace between JSON tokens (never inside strings), so `"key":"value"` patterns
/// match whatever the event's original layout.
pub fn compact_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    compact_json_into(raw, &mut out);
    out
}

/// [`compact_json`] appending to `out`, a buffer the caller reuses. The text is copied in runs
/// between the whitespace it leaves out, which is ASCII, so every cut is a character boundary.
pub fn compact_json_into(raw: &str, out: &mut String) {
    let bytes = raw.as_bytes();
    out.reserve(raw.len());
    let mut in_string = false;
    let mut run_start = 0;
    let mut at = 0;
    while at < bytes.len() {
        if in_string {
            match memchr::memchr2(b'"', b'\\', &bytes[at..]) {
                None => at = bytes.len(),
                Some(found) if bytes[at + found] == b'"' => {
                    in_string = false;
                    at += found + 1;
                }
                Some(found) => {
                    // Skip the escaped character, whatever it is.
                    at = (at + found + 2).min(bytes.len());
                    while !raw.is_char_boundary(at) {
                        at += 1;
                    }
                }
            }
            continue;
        }
        match bytes[at] {
            b'"' => in_string = true,
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.push_str(&raw[run_start..at]);
                run_start = at + 1;
            }
            _ => {}
        }
        at += 1;
    }
    out.push_str(&raw[run_start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_only_between_tokens() {
        let raw = "{\n  \"a\" : \"x y\\\" z\",\n  \"b\": [1, 2],\t\"c\": \"\\\\\" }";
        assert_eq!(compact_json(raw), r#"{"a":"x y\" z","b":[1,2],"c":"\\"}"#);
        let value: serde_json::Value = serde_json::from_str(raw).unwrap();
        let compact: serde_json::Value = serde_json::from_str(&compact_json(raw)).unwrap();
        assert_eq!(value, compact);
    }

    #[test]
    fn record_carries_the_whole_event() {
        let raw = r#"{"version":"0","id":"e-1","detail-type":"ECR Image Action","source":"aws.ecr","account":"123456789012","time":"2026-11-22T10:00:00Z","region":"us-east-1","detail": {"action-type": "PUSH"}}"#;
        let meta = EventBridgeMeta {
            id: "e-1".into(),
            source: "aws.ecr".into(),
            detail_type: "ECR Image Action".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            time: "2026-11-22T10:00:00Z".into(),
        };
        let r = record(&meta, raw);
        assert_eq!(r.origin.source, "aws.ecr");
        assert_eq!(r.origin.hostname, "123456789012");
        assert_eq!(r.timestamp_ms, 1_795_341_600_000);
        assert_eq!(r.id.as_deref(), Some("e-1"));
        assert_eq!(r.severity, Severity::Informational);
        assert!(r.payload.ends_with(r#""detail":{"action-type":"PUSH"}}"#));
    }
}
