//! Which records are forwarded: `FILTER_INCLUDE` and `FILTER_EXCLUDE` on the payload, with the
//! records that matter most exempt from both.

use regex::Regex;

use crate::record::{Record, RecordKind};

#[derive(Debug, Default)]
pub struct Selector {
    include: Option<Regex>,
    exclude: Option<Regex>,
}

impl Selector {
    pub fn new(include: Option<Regex>, exclude: Option<Regex>) -> Selector {
        Selector { include, exclude }
    }

    pub fn is_noop(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// Whether `record` is forwarded: always when a detection rule tagged it (the reason the
    /// forwarder reads CloudTrail at all) or when it is an ECR finding or scan summary (the scan's
    /// result, never noise); otherwise exclude wins over include.
    pub fn keep(&self, record: &Record) -> bool {
        if record.detection.is_some()
            || matches!(record.kind, RecordKind::Finding | RecordKind::ScanSummary)
        {
            return true;
        }
        if self
            .exclude
            .as_ref()
            .is_some_and(|exclude| exclude.is_match(&record.payload))
        {
            return false;
        }
        self.include
            .as_ref()
            .is_none_or(|include| include.is_match(&record.payload))
    }
}
