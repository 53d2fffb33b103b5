//! The unit of forwarding: one record becomes one syslog message (or several parts when split).

use std::borrow::Cow;
use std::sync::Arc;

/// Syslog severity (RFC 5424 section 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Severity {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Maps an ECR / Inspector finding severity to syslog: CRITICAL → 2, HIGH → 3, MEDIUM → 4, LOW → 5,
    /// anything else (INFORMATIONAL, UNDEFINED, UNTRIAGED, unknown) → 6.
    pub fn from_finding(severity: &str) -> Severity {
        match severity.to_ascii_uppercase().as_str() {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::Error,
            "MEDIUM" => Severity::Warning,
            "LOW" => Severity::Notice,
            _ => Severity::Informational,
        }
    }

    /// The more severe of the two (lower syslog code; `Ord` follows the code, so `Ord::max` would
    /// pick the milder one).
    pub fn more_severe(self, other: Severity) -> Severity {
        std::cmp::min(self, other)
    }
}

/// What all records of one event share: built once per event, referenced by each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// RFC 5424 HOSTNAME: the AWS account id.
    pub hostname: String,
    /// RFC 5424 APP-NAME.
    pub app_name: String,
    /// The `Event Source:` value in the MSG prefix.
    pub source: String,
    /// Structured-data parameters common to every record of the event (account, region, log group, ...).
    pub params: Vec<(&'static str, String)>,
    /// Parameters whose names come from the source itself (a log group's tags, `tag.<key>`, named
    /// by [`crate::syslog::sanitize::tag_param_name`]), written after `params`.
    pub tags: Vec<(String, String)>,
}

/// An extra RFC 5424 structured-data element attached to one record (e.g. detection tags).
/// Values are escaped by the formatter; names must be valid SD-NAMEs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdElement {
    /// SD-ID, e.g. `detection@32473`.
    pub id: String,
    pub params: Vec<(&'static str, String)>,
}

/// What a record is: detections read only logs, metrics count findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A log line: a CloudWatch Logs event or the text of a Kinesis record.
    Log,
    /// One ECR / Inspector finding.
    Finding,
    /// The summary of an ECR image scan.
    ScanSummary,
    /// A whole EventBridge event.
    Event,
}

/// One record to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordKind,
    pub origin: Arc<Origin>,
    /// Milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// RFC 5424 MSGID.
    pub msg_id: Cow<'static, str>,
    pub severity: Severity,
    /// De-duplication id carried in structured data (CloudWatch event id, finding id, event id).
    pub id: Option<String>,
    /// The text after the `Organisation:…,Event Source:…,` prefix.
    pub payload: String,
    /// The detection element a rule attached, written after the origin's (RFC 5424 only).
    pub detection: Option<Box<SdElement>>,
}

impl Record {
    /// Makes this (reused) record the next one a stream decoded: `payload` and `id` move in without
    /// a copy, and the record's previous buffers go back to the decoder for the one after;
    /// severity and detection start afresh for screening.
    pub fn refill(&mut self, timestamp_ms: i64, payload: &mut String, id: &mut String) {
        self.timestamp_ms = timestamp_ms;
        std::mem::swap(&mut self.payload, payload);
        match self.id.as_mut() {
            Some(own) => std::mem::swap(own, id),
            None => self.id = Some(std::mem::take(id)),
        }
        self.severity = Severity::Informational;
        self.detection = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_severity_maps_to_syslog() {
        assert_eq!(Severity::from_finding("CRITICAL").code(), 2);
        assert_eq!(Severity::from_finding("HIGH").code(), 3);
        assert_eq!(Severity::from_finding("medium").code(), 4);
        assert_eq!(Severity::from_finding("LOW").code(), 5);
        assert_eq!(Severity::from_finding("INFORMATIONAL").code(), 6);
        assert_eq!(Severity::from_finding("UNDEFINED").code(), 6);
        assert_eq!(Severity::from_finding("UNTRIAGED").code(), 6);
    }

    #[test]
    fn more_severe_is_the_lower_code() {
        assert_eq!(
            Severity::Warning.more_severe(Severity::Critical),
            Severity::Critical
        );
        assert_eq!(
            Severity::Informational.more_severe(Severity::Notice),
            Severity::Notice
        );
    }
}
