//! Per-invocation metrics as one CloudWatch Embedded Metric Format (EMF) log line: CloudWatch turns
//! it into metrics without an SDK call. Names are a contract with the dashboard in `template.yaml`.

use serde_json::{Map, Value, json};

use crate::filters::{RedactionCounts, Rule};
use crate::record::{Record, RecordKind, Severity};
use crate::transport::{DeliveryStats, RelpStats};

pub const NAMESPACE: &str = "AwsSyslogForwarder";

/// Counts and timings of one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub records_in: u64,
    pub records_forwarded: u64,
    pub records_failed: u64,
    /// Messages added by splitting long records (a record sent as 3 parts adds 2).
    pub split_parts: u64,
    pub findings: FindingCounts,
    /// Records a detection rule tagged.
    pub detections: u64,
    /// Records FILTER_INCLUDE / FILTER_EXCLUDE dropped: handled, never sent, not in `records_in`.
    pub records_filtered: u64,
    /// Kinesis records skipped as the function's own log group (they would loop).
    pub records_skipped: u64,
    /// Kinesis records (or KPL user records) that could never be decoded, forwarded base64-encoded.
    pub undecodable_records: u64,
    /// Log group tag lookups that failed (throttled, denied, no answer): records went without tags.
    pub tag_lookups_failed: u64,
    /// Matches replaced by redaction, per rule.
    pub redactions: RedactionCounts,
    pub bytes_sent: u64,
    pub connect_ms: Option<f64>,
    pub flush_ms: Option<f64>,
    /// Items of a Kinesis or SQS batch (records or messages); 0 for other events.
    pub batch_items_in: u64,
    /// Items reported in `batchItemFailures`.
    pub batch_items_failed: u64,
    /// Time since Kinesis received the oldest record of the batch, when it was a Kinesis batch.
    pub iterator_age_ms: Option<f64>,
    /// RELP frames acknowledged, refused and resent, when delivery went over RELP.
    pub relp: Option<RelpStats>,
    /// Switches between SYSLOG_HOST entries (to a later one, or back to the first).
    pub receiver_failovers: u64,
}

/// ECR findings forwarded, by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FindingCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub other: u64,
}

impl FindingCounts {
    /// Counts the finding records among `records` (scan summaries are not findings).
    pub fn of(records: &[Record]) -> FindingCounts {
        let mut counts = FindingCounts::default();
        for record in records.iter().filter(|r| r.kind == RecordKind::Finding) {
            match record.severity {
                Severity::Critical => counts.critical += 1,
                Severity::Error => counts.high += 1,
                Severity::Warning => counts.medium += 1,
                Severity::Notice => counts.low += 1,
                _ => counts.other += 1,
            }
        }
        counts
    }

    pub fn add(&mut self, other: FindingCounts) {
        self.critical += other.critical;
        self.high += other.high;
        self.medium += other.medium;
        self.low += other.low;
        self.other += other.other;
    }
}

impl Metrics {
    /// Adds what one delivery cost (bytes, connect and flush time, RELP frames).
    pub fn add_delivery(&mut self, stats: &DeliveryStats) {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1_000.0;
        self.bytes_sent += stats.bytes_sent;
        self.receiver_failovers += stats.failovers;
        if let Some(connect) = stats.connect {
            self.connect_ms = Some(self.connect_ms.unwrap_or_default() + ms(connect));
        }
        if let Some(flush) = stats.flush {
            self.flush_ms = Some(self.flush_ms.unwrap_or_default() + ms(flush));
        }
        if let Some(frames) = stats.relp {
            let total = self.relp.get_or_insert_default();
            total.acknowledged += frames.acknowledged;
            total.refused += frames.refused;
            total.resent += frames.resent;
        }
    }

    /// The EMF JSON line, with `FunctionName` as the dimension.
    pub fn to_emf(&self, function_name: &str, timestamp_ms: i64) -> String {
        let mut values: Vec<(&str, &str, Value)> = vec![
            ("RecordsIn", "Count", self.records_in.into()),
            ("RecordsForwarded", "Count", self.records_forwarded.into()),
            ("RecordsFailed", "Count", self.records_failed.into()),
            ("SplitParts", "Count", self.split_parts.into()),
            ("FindingsCritical", "Count", self.findings.critical.into()),
            ("FindingsHigh", "Count", self.findings.high.into()),
            ("FindingsMedium", "Count", self.findings.medium.into()),
            ("FindingsLow", "Count", self.findings.low.into()),
            ("FindingsOther", "Count", self.findings.other.into()),
            ("Detections", "Count", self.detections.into()),
            ("RecordsFiltered", "Count", self.records_filtered.into()),
            ("Redactions", "Count", self.redactions.total().into()),
            ("BytesSent", "Bytes", self.bytes_sent.into()),
            ("ReceiverFailovers", "Count", self.receiver_failovers.into()),
        ];
        // One line carries one value per name, so the per-rule counts are metrics of their own
        // (a `Rule` dimension would need a line per rule); only rules that replaced something.
        for rule in Rule::ALL.map(Some).into_iter().chain([None]) {
            let count = self.redactions.of(rule);
            if count > 0 {
                values.push((redaction_metric(rule), "Count", count.into()));
            }
        }
        if self.batch_items_in > 0 || self.records_skipped > 0 || self.undecodable_records > 0 {
            values.push(("RecordsSkipped", "Count", self.records_skipped.into()));
            values.push((
                "UndecodableRecords",
                "Count",
                self.undecodable_records.into(),
            ));
        }
        if self.tag_lookups_failed > 0 {
            values.push(("TagLookupsFailed", "Count", self.tag_lookups_failed.into()));
        }
        if self.batch_items_in > 0 {
            values.push(("BatchItemsIn", "Count", self.batch_items_in.into()));
            values.push(("BatchItemsFailed", "Count", self.batch_items_failed.into()));
        }
        if let Some(ms) = self.iterator_age_ms {
            values.push(("IteratorAgeMs", "Milliseconds", ms.into()));
        }
        if let Some(frames) = self.relp {
            values.push((
                "RelpFramesAcknowledged",
                "Count",
                frames.acknowledged.into(),
            ));
            values.push(("RelpFramesRefused", "Count", frames.refused.into()));
            values.push(("RelpFramesResent", "Count", frames.resent.into()));
        }
        if let Some(ms) = self.connect_ms {
            values.push(("ConnectMs", "Milliseconds", ms.into()));
        }
        if let Some(ms) = self.flush_ms {
            values.push(("FlushMs", "Milliseconds", ms.into()));
        }
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": definitions,
                }],
            }),
        );
        line.insert("FunctionName".into(), function_name.into());
        for (name, _, value) in values {
            line.insert(name.into(), value);
        }
        Value::Object(line).to_string()
    }
}

/// `Redactions_<rule name>`, or `Redactions_custom` for REDACT_REGEX (`None`).
pub fn redaction_metric(rule: Option<Rule>) -> &'static str {
    match rule {
        Some(Rule::PrivateKey) => "Redactions_private-key",
        Some(Rule::AwsSecretAccessKey) => "Redactions_aws-secret-access-key",
        Some(Rule::BearerToken) => "Redactions_bearer-token",
        Some(Rule::PasswordInUrl) => "Redactions_password-in-url",
        Some(Rule::AwsAccessKeyId) => "Redactions_aws-access-key-id",
        Some(Rule::Email) => "Redactions_email",
        Some(Rule::Ipv4) => "Redactions_ipv4",
        None => "Redactions_custom",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactions() -> RedactionCounts {
        let mut counts = RedactionCounts::default();
        counts.count(Some(Rule::Ipv4), 5);
        counts.count(None, 2);
        counts
    }

    #[test]
    fn redaction_metrics_are_named_after_the_rules() {
        for rule in Rule::ALL {
            assert_eq!(
                redaction_metric(Some(rule)),
                format!("Redactions_{}", rule.name())
            );
        }
    }

    #[test]
    fn deliveries_add_up() {
        let mut metrics = Metrics::default();
        let relp = DeliveryStats {
            bytes_sent: 100,
            connect: Some(std::time::Duration::from_millis(2)),
            flush: None,
            relp: Some(RelpStats {
                acknowledged: 3,
                refused: 1,
                resent: 1,
            }),
            failovers: 1,
        };
        metrics.add_delivery(&relp);
        metrics.add_delivery(&relp);
        assert_eq!(metrics.bytes_sent, 200);
        assert_eq!(metrics.receiver_failovers, 2);
        assert_eq!(metrics.connect_ms, Some(4.0));
        assert_eq!(metrics.flush_ms, None);
        assert_eq!(
            metrics.relp,
            Some(RelpStats {
                acknowledged: 6,
                refused: 2,
                resent: 2
            })
        );
        let mut tcp = Metrics::default();
        tcp.add_delivery(&DeliveryStats::default());
        assert_eq!(tcp.relp, None);
    }

    #[test]
    fn emf_line_declares_every_value_it_carries() {
        let metrics = Metrics {
            records_in: 10,
            records_forwarded: 9,
            records_failed: 1,
            split_parts: 2,
            findings: FindingCounts {
                critical: 1,
                high: 2,
                medium: 3,
                low: 4,
                other: 5,
            },
            detections: 3,
            records_filtered: 4,
            records_skipped: 6,
            undecodable_records: 7,
            tag_lookups_failed: 8,
            redactions: redactions(),
            bytes_sent: 12_345,
            connect_ms: Some(1.5),
            flush_ms: None,
            batch_items_in: 100,
            batch_items_failed: 3,
            iterator_age_ms: Some(1_250.0),
            relp: Some(RelpStats {
                acknowledged: 40,
                refused: 2,
                resent: 7,
            }),
            receiver_failovers: 2,
        };
        let line: Value = serde_json::from_str(&metrics.to_emf("fwd", 1_795_341_600_000)).unwrap();
        let aws = &line["_aws"];
        assert_eq!(aws["Timestamp"], 1_795_341_600_000_i64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(line["FunctionName"], "fwd");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &names {
            assert!(line.get(*name).is_some(), "{name} declared but missing");
        }
        assert!(names.contains(&"ConnectMs") && !names.contains(&"FlushMs"));
        assert_eq!(line["RecordsFailed"], 1);
        assert_eq!(line["FindingsOther"], 5);
        assert_eq!(line["Detections"], 3);
        assert_eq!(line["RecordsFiltered"], 4);
        assert_eq!(line["RecordsSkipped"], 6);
        assert_eq!(line["UndecodableRecords"], 7);
        assert_eq!(line["TagLookupsFailed"], 8);
        assert_eq!(line["Redactions"], 7);
        assert_eq!(line["Redactions_ipv4"], 5);
        assert_eq!(line["Redactions_custom"], 2);
        assert!(
            !names.contains(&"Redactions_email"),
            "a rule that replaced nothing adds no metric"
        );
        assert_eq!(line["BytesSent"], 12_345);
        assert_eq!(line["ReceiverFailovers"], 2);
        assert_eq!(line["BatchItemsIn"], 100);
        assert_eq!(line["BatchItemsFailed"], 3);
        assert_eq!(line["IteratorAgeMs"], 1_250.0);
        assert_eq!(line["RelpFramesAcknowledged"], 40);
        assert_eq!(line["RelpFramesRefused"], 2);
        assert_eq!(line["RelpFramesResent"], 7);
        let single = Metrics::default().to_emf("fwd", 0);
        assert!(!single.contains("BatchItemsIn") && !single.contains("IteratorAgeMs"));
        assert!(
            !single.contains("RelpFrames"),
            "only when delivery went over RELP"
        );
        assert!(single.contains(r#""RecordsFiltered":0"#) && single.contains(r#""Redactions":0"#));
        assert!(!single.contains("Redactions_"));
        assert!(!metrics.to_emf("fwd", 0).contains('\n'), "one line");
    }
}
