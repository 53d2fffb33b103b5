//! Any EventBridge event that has no dedicated source: one record holding the whole event. The
//! findings of AWS's security services carry their own severity, which becomes the message's, so that
//! a SIEM rule on the syslog severity sees them.

use std::sync::Arc;

use serde::Deserialize;

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
            tags: Vec::new(),
        }),
        timestamp_ms: parse_rfc3339_ms(&meta.time).unwrap_or_else(now_ms),
        msg_id: meta.detail_type.clone().into(),
        severity: finding_severity(meta, raw).unwrap_or(Severity::Informational),
        id: Some(meta.id.clone()).filter(|id| !id.is_empty()),
        payload: compact_json(raw),
        detection: None,
    }
}

/// The severity a security finding event states: GuardDuty's number (Low 1.0–3.9, Medium 4.0–6.9,
/// High 7.0–8.9, Critical 9.0–10.0), Inspector's label, the highest label of the Security Hub findings
/// an event imports (or their normalized 0–100 score where there is no label). `None` for any other
/// event, and for one whose severity is missing or of an unknown form.
fn finding_severity(meta: &EventBridgeMeta, raw: &str) -> Option<Severity> {
    #[derive(Deserialize)]
    struct FindingEvent<D> {
        detail: D,
    }
    #[derive(Deserialize)]
    struct Scored {
        severity: Option<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Imported {
        #[serde(default)]
        findings: Vec<SecurityHubFinding>,
    }
    #[derive(Deserialize)]
    struct SecurityHubFinding {
        #[serde(rename = "Severity")]
        severity: Option<SecurityHubSeverity>,
    }
    #[derive(Deserialize)]
    struct SecurityHubSeverity {
        #[serde(rename = "Label")]
        label: Option<String>,
        #[serde(rename = "Normalized")]
        normalized: Option<f64>,
    }
    let detail_of = |raw| {
        serde_json::from_str::<FindingEvent<Scored>>(raw)
            .ok()?
            .detail
            .severity
    };
    match (meta.source.as_str(), meta.detail_type.as_str()) {
        ("aws.guardduty", "GuardDuty Finding") => match detail_of(raw)? {
            serde_json::Value::Number(n) => Some(from_score(n.as_f64()? * 10.0)),
            _ => None,
        },
        ("aws.inspector2", "Inspector2 Finding") => match detail_of(raw)? {
            serde_json::Value::String(label) => Some(Severity::from_finding(&label)),
            _ => None,
        },
        ("aws.securityhub", detail_type) if detail_type.starts_with("Security Hub Findings") => {
            let event: FindingEvent<Imported> = serde_json::from_str(raw).ok()?;
            event
                .detail
                .findings
                .iter()
                .filter_map(|finding| {
                    let severity = finding.severity.as_ref()?;
                    match (&severity.label, severity.normalized) {
                        (Some(label), _) => Some(Severity::from_finding(label)),
                        (None, Some(score)) => Some(from_score(score)),
                        (None, None) => None,
                    }
                })
                .reduce(Severity::more_severe)
        }
        _ => None,
    }
}

/// A 0–100 score on Security Hub's scale: 1–39 low, 40–69 medium, 70–89 high, 90–100 critical.
fn from_score(score: f64) -> Severity {
    match score {
        s if s >= 90.0 => Severity::Critical,
        s if s >= 70.0 => Severity::Error,
        s if s >= 40.0 => Severity::Warning,
        s if s >= 1.0 => Severity::Notice,
        _ => Severity::Informational,
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

    fn severity_of(source: &str, detail_type: &str, detail: &str) -> Severity {
        let raw = format!(
            r#"{{"version":"0","id":"e-1","detail-type":"{detail_type}","source":"{source}","account":"123456789012","time":"2026-11-22T10:00:00Z","region":"us-east-1","resources":[],"detail":{detail}}}"#
        );
        let meta = EventBridgeMeta {
            id: "e-1".into(),
            source: source.into(),
            detail_type: detail_type.into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            time: "2026-11-22T10:00:00Z".into(),
        };
        let r = record(&meta, &raw);
        let forwarded: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
        let event: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(forwarded, event, "the event is forwarded whole");
        r.severity
    }

    #[test]
    fn security_findings_carry_their_severity() {
        let guardduty = |severity: &str| {
            severity_of(
                "aws.guardduty",
                "GuardDuty Finding",
                &format!(
                    r#"{{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"16afba5c5c43e07c9e3e5e2e544e95df","type":"Recon:EC2/PortProbeUnprotectedPort","severity":{severity},"title":"t"}}"#
                ),
            )
        };
        assert_eq!(guardduty("2"), Severity::Notice);
        assert_eq!(guardduty("5.3"), Severity::Warning);
        assert_eq!(guardduty("8"), Severity::Error);
        assert_eq!(guardduty("8.9"), Severity::Error);
        assert_eq!(guardduty("9.0"), Severity::Critical);
        assert_eq!(guardduty(r#""HIGH""#), Severity::Informational);

        let inspector = |label: &str| {
            severity_of(
                "aws.inspector2",
                "Inspector2 Finding",
                &format!(
                    r#"{{"awsAccountId":"123456789012","findingArn":"arn:aws:inspector2:us-east-1:123456789012:finding/f","severity":"{label}","status":"ACTIVE","type":"PACKAGE_VULNERABILITY"}}"#
                ),
            )
        };
        assert_eq!(inspector("CRITICAL"), Severity::Critical);
        assert_eq!(inspector("MEDIUM"), Severity::Warning);
        assert_eq!(inspector("UNTRIAGED"), Severity::Informational);

        let imported = |findings: &str| {
            severity_of(
                "aws.securityhub",
                "Security Hub Findings - Imported",
                &format!(r#"{{"findings":[{findings}]}}"#),
            )
        };
        assert_eq!(
            imported(
                r#"{"SchemaVersion":"2018-10-08","Id":"a","Severity":{"Label":"LOW","Normalized":1}},{"Id":"b","Severity":{"Label":"HIGH","Normalized":70}}"#
            ),
            Severity::Error
        );
        assert_eq!(
            imported(r#"{"Id":"a","Severity":{"Normalized":95}}"#),
            Severity::Critical
        );
        assert_eq!(imported(r#"{"Id":"a"}"#), Severity::Informational);
        // Other events, and findings of another detail-type, stay informational.
        assert_eq!(
            severity_of(
                "aws.guardduty",
                "GuardDuty Malware Protection Object Scan Result",
                r#"{"severity":8}"#
            ),
            Severity::Informational
        );
    }
}
