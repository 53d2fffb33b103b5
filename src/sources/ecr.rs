//! ECR image scans (basic: `aws.ecr` "ECR Image Scan"; enhanced: `aws.inspector2` "Inspector2 Scan"):
//! one record per finding, read from `DescribeImageScanFindings` page by page, plus one summary.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::EventBridgeMeta;
use crate::findings::{
    BasicFinding, EnhancedFinding, FindingsError, FindingsSource, ScanTarget, Unavailable,
    VulnerablePackage,
};
use crate::record::{Origin, Record, RecordKind, Severity};
use crate::time::{now_ms, parse_rfc3339_ms, rfc3339};

/// The `Event Source:` of every scan record.
pub const SOURCE: &str = "AWS.ECR";
/// Stops a service that keeps returning new tokens.
const MAX_PAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{kind} event: detail is not the expected object ({source})")]
    Detail {
        kind: &'static str,
        source: serde_json::Error,
    },
    #[error("{kind} event with scan-status {status}: detail.{field} is missing or empty")]
    MissingField {
        kind: &'static str,
        status: String,
        field: &'static str,
    },
    #[error(transparent)]
    Findings(#[from] FindingsError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// ECR basic scanning.
    Basic,
    /// ECR enhanced scanning through Amazon Inspector.
    Enhanced,
}

impl ScanKind {
    pub fn of(source: &str, detail_type: &str) -> Option<ScanKind> {
        match (source, detail_type) {
            ("aws.ecr", "ECR Image Scan") => Some(ScanKind::Basic),
            ("aws.inspector2", "Inspector2 Scan") => Some(ScanKind::Enhanced),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ScanKind::Basic => "ECR Image Scan",
            ScanKind::Enhanced => "Inspector2 Scan",
        }
    }

    fn complete_status(self) -> &'static str {
        match self {
            ScanKind::Basic => "COMPLETE",
            ScanKind::Enhanced => "INITIAL_SCAN_COMPLETE",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Detail {
    #[serde(rename = "scan-status")]
    scan_status: String,
    #[serde(rename = "repository-name")]
    repository_name: String,
    #[serde(rename = "image-digest")]
    image_digest: String,
    #[serde(rename = "image-tags")]
    image_tags: Vec<String>,
    #[serde(rename = "finding-severity-counts")]
    finding_severity_counts: BTreeMap<String, u64>,
}

/// What a scan event's detail turned out to be.
#[derive(Debug)]
pub enum Parsed {
    Scan(ScanEvent),
    /// An Inspector2 scan of something else than an ECR image (an EC2 instance, a Lambda function,
    /// a machine image): no image to read findings of, so it is forwarded like any other event.
    NotAnImage(EventBridgeMeta),
}

/// A scan event, with the fields the findings call and the records need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEvent {
    pub kind: ScanKind,
    pub meta: EventBridgeMeta,
    pub scan_status: String,
    /// The repository's name (for enhanced scans, the part of the ARN after `:repository/`).
    pub repository_name: String,
    pub image_digest: String,
    pub image_tags: Vec<String>,
    pub finding_severity_counts: BTreeMap<String, u64>,
}

impl ScanEvent {
    pub fn parse(kind: ScanKind, meta: EventBridgeMeta, detail: &str) -> Result<Parsed, ScanError> {
        let detail: Detail = serde_json::from_str(detail).map_err(|source| ScanError::Detail {
            kind: kind.name(),
            source,
        })?;
        // Inspector's initial scans of EC2 instances, Lambda functions and machine images share
        // this detail-type; they name neither a repository nor an image.
        if kind == ScanKind::Enhanced
            && detail.repository_name.is_empty()
            && detail.image_digest.is_empty()
        {
            return Ok(Parsed::NotAnImage(meta));
        }
        let repository_name = match detail.repository_name.split_once(":repository/") {
            Some((_, name)) => name.to_owned(),
            None => detail.repository_name,
        };
        let event = ScanEvent {
            kind,
            meta,
            scan_status: detail.scan_status,
            repository_name,
            image_digest: detail.image_digest,
            image_tags: detail.image_tags,
            finding_severity_counts: detail.finding_severity_counts,
        };
        if event.is_complete() {
            event.require("repository-name", &event.repository_name)?;
            event.require("image-digest", &event.image_digest)?;
        }
        Ok(Parsed::Scan(event))
    }

    fn require(&self, field: &'static str, value: &str) -> Result<(), ScanError> {
        if value.is_empty() {
            return Err(ScanError::MissingField {
                kind: self.kind.name(),
                status: self.scan_status.clone(),
                field,
            });
        }
        Ok(())
    }

    /// Only a completed scan has findings to read.
    pub fn is_complete(&self) -> bool {
        self.scan_status == self.kind.complete_status()
    }

    fn target(&self) -> ScanTarget {
        ScanTarget {
            registry_id: self.meta.account.clone(),
            repository_name: self.repository_name.clone(),
            image_digest: self.image_digest.clone(),
            region: self.meta.region.clone(),
        }
    }
}

/// All findings of a completed scan (every page), then the summary; the summary alone otherwise.
pub async fn records(
    event: &ScanEvent,
    source: &impl FindingsSource,
) -> Result<Vec<Record>, ScanError> {
    let mut fetched = Fetched::default();
    if event.is_complete() {
        fetched = fetch_all(event, source).await?;
    }
    let scan_ms = fetched
        .completed_at_ms
        .or_else(|| parse_rfc3339_ms(&event.meta.time))
        .unwrap_or_else(now_ms);
    let scan_time = rfc3339(scan_ms).unwrap_or_else(|| "-".to_owned());
    let origin = Arc::new(Origin {
        hostname: event.meta.account.clone(),
        app_name: "ecr-scan".to_owned(),
        source: SOURCE.to_owned(),
        params: vec![
            ("account", event.meta.account.clone()),
            ("region", event.meta.region.clone()),
            ("repository", event.repository_name.clone()),
            ("imageDigest", event.image_digest.clone()),
        ],
        tags: Vec::new(),
    });
    let common = Common {
        scan_time: &scan_time,
        aws_account: &event.meta.account,
        region: &event.meta.region,
        repository_name: &event.repository_name,
        image_digest: &event.image_digest,
        image_tags: &event.image_tags,
    };

    let total = fetched.basic.len() + fetched.enhanced.len();
    let mut out = Vec::with_capacity(total + 1);
    let mut highest: Option<Severity> = None;
    let mut push = |severity: Severity, id: String, payload: String| {
        highest = Some(highest.map_or(severity, |h| h.more_severe(severity)));
        out.push(Record {
            kind: RecordKind::Finding,
            origin: Arc::clone(&origin),
            timestamp_ms: scan_ms,
            msg_id: "finding".into(),
            severity,
            id: Some(id),
            payload,
            detection: None,
        });
    };
    for finding in &fetched.basic {
        let (severity, id, payload) = basic_record(&common, finding);
        push(severity, id, payload);
    }
    for finding in &fetched.enhanced {
        let (severity, id, payload) = enhanced_record(&common, finding);
        push(severity, id, payload);
    }

    let counts = if fetched.pages > 0 && !fetched.severity_counts.is_empty() {
        &fetched.severity_counts
    } else {
        &event.finding_severity_counts
    };
    let severity = if is_failed(&event.scan_status) {
        Severity::Warning
    } else {
        highest
            .or_else(|| highest_counted(counts))
            .unwrap_or(Severity::Informational)
    };
    let summary = Summary {
        kind: "scanSummary",
        common: &common,
        scan_type: scan_type(event.kind),
        scan_status: &event.scan_status,
        finding_severity_counts: counts,
        findings_forwarded: total,
        findings_unavailable: fetched.unavailable.map(Unavailable::code),
        reason: fetched.unavailable.map(Unavailable::reason),
    };
    out.push(Record {
        kind: RecordKind::ScanSummary,
        origin,
        timestamp_ms: scan_ms,
        msg_id: "scanSummary".into(),
        severity,
        id: Some(if event.meta.id.is_empty() {
            format!("scan:{}", event.image_digest)
        } else {
            event.meta.id.clone()
        }),
        payload: to_json(&summary),
        detection: None,
    });
    Ok(out)
}

#[derive(Debug, Default)]
struct Fetched {
    pages: usize,
    completed_at_ms: Option<i64>,
    severity_counts: BTreeMap<String, u64>,
    basic: Vec<BasicFinding>,
    enhanced: Vec<EnhancedFinding>,
    unavailable: Option<Unavailable>,
}

async fn fetch_all(event: &ScanEvent, source: &impl FindingsSource) -> Result<Fetched, ScanError> {
    let target = event.target();
    let mut fetched = Fetched::default();
    let mut seen = HashSet::new();
    let mut token = None;
    loop {
        if fetched.pages == MAX_PAGES {
            return Err(FindingsError::TooManyPages(MAX_PAGES).into());
        }
        let page = match source.page(&target, token).await {
            Ok(page) => page,
            // The image or repository was deleted after the scan, or ECR no longer has the scan:
            // retrying cannot help, and the summary still tells the SIEM that the scan happened.
            Err(FindingsError::Unavailable { why, .. }) => {
                tracing::warn!(
                    repository = %target.repository_name,
                    digest = %target.image_digest,
                    code = why.code(),
                    findings_read = fetched.basic.len() + fetched.enhanced.len(),
                    "scan findings are gone; forwarding the summary with the reason"
                );
                fetched.unavailable = Some(why);
                return Ok(fetched);
            }
            Err(error) => return Err(error.into()),
        };
        fetched.pages += 1;
        let scan = page.scan;
        fetched.completed_at_ms = fetched.completed_at_ms.or(scan.image_scan_completed_at);
        if fetched.severity_counts.is_empty() {
            fetched.severity_counts = scan.finding_severity_counts;
        }
        fetched.basic.extend(scan.findings);
        fetched.enhanced.extend(scan.enhanced_findings);
        match page.next_token.filter(|t| !t.is_empty()) {
            None => return Ok(fetched),
            Some(next) if !seen.insert(next.clone()) => {
                return Err(FindingsError::RepeatedToken(next).into());
            }
            Some(next) => token = Some(next),
        }
    }
}

fn is_failed(status: &str) -> bool {
    matches!(
        status,
        "FAILED" | "UNSUPPORTED_IMAGE" | "FINDINGS_UNAVAILABLE" | "LIMIT_EXCEEDED"
    )
}

fn highest_counted(counts: &BTreeMap<String, u64>) -> Option<Severity> {
    counts
        .iter()
        .filter(|(level, count)| **count > 0 && level.as_str() != "TOTAL")
        .map(|(level, _)| Severity::from_finding(level))
        .min()
}

fn scan_type(kind: ScanKind) -> &'static str {
    match kind {
        ScanKind::Basic => "basic",
        ScanKind::Enhanced => "enhanced",
    }
}

fn to_json(value: &impl Serialize) -> String {
    // Serializing plain structs of strings and numbers cannot fail; an empty object keeps the record.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Common<'a> {
    scan_time: &'a str,
    aws_account: &'a str,
    region: &'a str,
    repository_name: &'a str,
    image_digest: &'a str,
    image_tags: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    common: &'a Common<'a>,
    scan_type: &'static str,
    scan_status: &'a str,
    finding_severity_counts: &'a BTreeMap<String, u64>,
    findings_forwarded: usize,
    /// Why the findings could not be read (the image or repository is gone), when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    findings_unavailable: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// The payload of one finding record; keys shared by basic and enhanced findings come first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FindingPayload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    common: &'a Common<'a>,
    scan_type: &'static str,
    cve_name: &'a str,
    severity: String,
    description: &'a str,
    reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_vector: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    enhanced: Option<EnhancedExtra<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnhancedExtra<'a> {
    vulnerability_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    finding_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inspector_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix_available: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_in_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploit_available: Option<&'a str>,
    vulnerable_packages: &'a [VulnerablePackage],
    #[serde(skip_serializing_if = "Option::is_none")]
    first_observed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_observed_at: Option<String>,
}

fn severity_label(severity: Option<&str>) -> String {
    match severity {
        Some(s) if !s.is_empty() => s.to_ascii_uppercase(),
        _ => "UNDEFINED".to_owned(),
    }
}

fn basic_record(common: &Common<'_>, f: &BasicFinding) -> (Severity, String, String) {
    let severity = severity_label(f.severity.as_deref());
    let package_name = f.attribute("package_name");
    let cvss_score = ["CVSS3_SCORE", "CVSS2_SCORE"]
        .iter()
        .find_map(|key| f.attribute(key).and_then(|v| v.trim().parse::<f64>().ok()));
    let cvss_vector = ["CVSS3_VECTOR", "CVSS2_VECTOR"]
        .iter()
        .find_map(|key| f.attribute(key));
    let cve_name = f.name.as_deref().unwrap_or("");
    let payload = FindingPayload {
        kind: "finding",
        common,
        scan_type: "basic",
        cve_name,
        severity: severity.clone(),
        description: f.description.as_deref().unwrap_or(""),
        reference: f.uri.as_deref().unwrap_or(""),
        package_name,
        package_version: f.attribute("package_version"),
        cvss_score,
        cvss_vector,
        enhanced: None,
    };
    let id = match package_name {
        Some(package) => format!("{cve_name}:{package}@{}", common.image_digest),
        None => format!("{cve_name}@{}", common.image_digest),
    };
    (Severity::from_finding(&severity), id, to_json(&payload))
}

fn enhanced_record(common: &Common<'_>, f: &EnhancedFinding) -> (Severity, String, String) {
    let severity = severity_label(f.severity.as_deref());
    let details = f.package_vulnerability_details.as_ref();
    let vulnerability_id = details
        .and_then(|d| d.vulnerability_id.as_deref())
        .or(f.title.as_deref())
        .unwrap_or("");
    let packages = details.map_or(&[][..], |d| d.vulnerable_packages.as_slice());
    let first_package = packages.first();
    let score_cvss = f.score_details.as_ref().and_then(|s| s.cvss.as_ref());
    let first_cvss = details.and_then(|d| d.cvss.first());
    let reference = details
        .and_then(|d| {
            d.source_url
                .as_deref()
                .or(d.reference_urls.first().map(String::as_str))
        })
        .or_else(|| {
            f.remediation
                .as_ref()
                .and_then(|r| r.recommendation.as_ref())
                .and_then(|r| r.url.as_deref())
        })
        .unwrap_or("");
    let payload = FindingPayload {
        kind: "finding",
        common,
        scan_type: "enhanced",
        cve_name: vulnerability_id,
        severity: severity.clone(),
        description: f.description.as_deref().unwrap_or(""),
        reference,
        package_name: first_package.and_then(|p| p.name.as_deref()),
        package_version: first_package.and_then(|p| p.version.as_deref()),
        cvss_score: score_cvss
            .and_then(|c| c.score)
            .or_else(|| first_cvss.and_then(|c| c.base_score)),
        cvss_vector: score_cvss
            .and_then(|c| c.scoring_vector.as_deref())
            .or_else(|| first_cvss.and_then(|c| c.scoring_vector.as_deref())),
        enhanced: Some(EnhancedExtra {
            vulnerability_id,
            finding_arn: f.finding_arn.as_deref(),
            title: f.title.as_deref(),
            status: f.status.as_deref(),
            inspector_score: f.score,
            fix_available: f.fix_available.as_deref(),
            fixed_in_version: first_package.and_then(|p| p.fixed_in_version.as_deref()),
            exploit_available: f.exploit_available.as_deref(),
            vulnerable_packages: packages,
            first_observed_at: f.first_observed_at.and_then(rfc3339),
            last_observed_at: f.last_observed_at.and_then(rfc3339),
        }),
    };
    let id = f
        .finding_arn
        .clone()
        .unwrap_or_else(|| format!("{vulnerability_id}@{}", common.image_digest));
    (Severity::from_finding(&severity), id, to_json(&payload))
}
