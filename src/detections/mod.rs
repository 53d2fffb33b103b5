//! Detections: CloudTrail records of risky ECR activity get a raised syslog severity and a
//! structured-data element naming the rules, MITRE technique and tactic, outcome, principal and
//! source IP. The message itself (MSG) is never changed.

mod policy;
mod rules;

use serde_json::Value;

pub use rules::{RULES, Rule};

use crate::record::{Record, RecordKind, SdElement, Severity};

/// The SD-ID's name; the enterprise number follows the configured `SYSLOG_SD_ID`.
const SD_NAME: &str = "detection";
/// Every CloudTrail record of ECR carries this exact text; anything without it is not parsed.
const PRE_CHECK: &str = "\"ecr.amazonaws.com\"";

/// Every rule id, for configuration and documentation.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|rule| rule.id)
}

/// The detection element's SD-ID: `detection@` and the enterprise number of the configured
/// SYSLOG_SD_ID (the default's when it has none).
pub fn sd_id(configured: Option<&str>) -> String {
    let enterprise = |id: &'static str| id.split_once('@').map(|(_, number)| number);
    let enterprise = configured
        .and_then(|id| id.split_once('@').map(|(_, number)| number))
        .or_else(|| enterprise(crate::syslog::DEFAULT_SD_ID))
        .unwrap_or_default();
    format!("{SD_NAME}@{enterprise}")
}

/// The enabled rules and the SD-ID they write.
#[derive(Debug, Clone)]
pub struct Detections {
    rules: Vec<&'static Rule>,
    sd_id: String,
}

impl Detections {
    /// All rules except those in `disabled` (ids checked by the configuration). `sd_id` is the
    /// configured SYSLOG_SD_ID, whose enterprise number the detection element shares.
    pub fn new(disabled: &[String], sd_id: Option<&str>) -> Detections {
        Detections {
            rules: RULES
                .iter()
                .filter(|rule| !disabled.iter().any(|d| d == rule.id))
                .collect(),
            sd_id: self::sd_id(sd_id),
        }
    }

    /// Tags every CloudTrail record of ECR that a rule matches; other records are untouched.
    pub fn apply(&self, records: &mut [Record]) {
        if self.rules.is_empty() {
            return;
        }
        for record in records.iter_mut() {
            if record.kind == RecordKind::Log && record.payload.contains(PRE_CHECK) {
                self.tag(record);
            }
        }
    }

    fn tag(&self, record: &mut Record) {
        // Malformed or non-CloudTrail JSON is forwarded untagged: detections never fail an event.
        let Some(trail) = rules::Trail::parse(&record.payload) else {
            return;
        };
        let failed = trail.error_code().is_some();
        let mut fired: Vec<(&Rule, Severity)> = self
            .rules
            .iter()
            .filter_map(|rule| (rule.matches)(&trail).map(|severity| (*rule, severity)))
            .map(|(rule, severity)| {
                (
                    rule,
                    if failed {
                        one_step_lower(severity)
                    } else {
                        severity
                    },
                )
            })
            .collect();
        if fired.is_empty() {
            return;
        }
        fired.sort_by_key(|(_, severity)| *severity);
        let severity = fired[0].1;
        record.severity = record.severity.more_severe(severity);
        record.detection = Some(Box::new(self.element(&trail, &fired, failed)));
    }

    fn element(
        &self,
        trail: &rules::Trail,
        fired: &[(&Rule, Severity)],
        failed: bool,
    ) -> SdElement {
        let join = |field: fn(&Rule) -> &'static str| {
            let mut values: Vec<&str> = Vec::with_capacity(fired.len());
            for (rule, _) in fired {
                if !values.contains(&field(rule)) {
                    values.push(field(rule));
                }
            }
            values.join(",")
        };
        let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
        let mut params = vec![
            ("rule", join(|r| r.id)),
            ("technique", join(|r| r.technique)),
            ("tactic", join(|r| r.tactic)),
            (
                "outcome",
                if failed { "failure" } else { "success" }.to_owned(),
            ),
            ("eventName", trail.event_name().to_owned()),
            ("principal", text(trail.principal())),
            ("sourceIp", text(trail.source_ip())),
            (
                "repository",
                text(trail.request("repositoryName").and_then(Value::as_str)),
            ),
            ("errorCode", text(trail.error_code())),
        ];
        if trail.event_name() == "CreateRepository" {
            // What AWS applies when the request leaves them out.
            let mutability = trail
                .request("imageTagMutability")
                .and_then(Value::as_str)
                .unwrap_or("MUTABLE");
            let scan_on_push = trail
                .request("imageScanningConfiguration")
                .and_then(|c| c.get("scanOnPush"))
                .map_or("false".to_owned(), |v| match v {
                    Value::String(s) => s.to_ascii_lowercase(),
                    other => other.to_string(),
                });
            params.push(("imageTagMutability", mutability.to_owned()));
            params.push(("scanOnPush", scan_on_push));
        }
        SdElement {
            id: self.sd_id.clone(),
            params,
        }
    }
}

/// A failed attempt ranks one step below the success it tried for (syslog: one code higher).
fn one_step_lower(severity: Severity) -> Severity {
    match severity {
        Severity::Emergency => Severity::Alert,
        Severity::Alert => Severity::Critical,
        Severity::Critical => Severity::Error,
        Severity::Error => Severity::Warning,
        Severity::Warning => Severity::Notice,
        Severity::Notice => Severity::Informational,
        Severity::Informational | Severity::Debug => Severity::Debug,
    }
}

#[cfg(test)]
mod tests;
