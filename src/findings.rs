//! A small seam over ECR `DescribeImageScanFindings`: one page at a time, from the AWS SDK or from a
//! saved `aws ecr describe-image-scan-findings` output (offline replay, backfills, benchmarks).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

use serde::{Deserialize, Deserializer};

/// Which image's findings to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanTarget {
    pub registry_id: String,
    pub repository_name: String,
    pub image_digest: String,
    /// The event's region; empty = the client's own.
    pub region: String,
}

/// One response of `DescribeImageScanFindings`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingsPage {
    pub scan: ScanFindings,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScanFindings {
    #[serde(deserialize_with = "epoch_ms")]
    pub image_scan_completed_at: Option<i64>,
    pub finding_severity_counts: BTreeMap<String, u64>,
    pub findings: Vec<BasicFinding>,
    pub enhanced_findings: Vec<EnhancedFinding>,
}

/// A basic-scanning finding.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BasicFinding {
    pub name: Option<String>,
    pub description: Option<String>,
    pub uri: Option<String>,
    pub severity: Option<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Attribute {
    pub key: String,
    pub value: Option<String>,
}

impl BasicFinding {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_deref())
    }
}

/// An enhanced-scanning (Amazon Inspector) finding.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnhancedFinding {
    pub aws_account_id: Option<String>,
    pub finding_arn: Option<String>,
    pub description: Option<String>,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub score: Option<f64>,
    pub fix_available: Option<String>,
    pub exploit_available: Option<String>,
    #[serde(deserialize_with = "epoch_ms")]
    pub first_observed_at: Option<i64>,
    #[serde(deserialize_with = "epoch_ms")]
    pub last_observed_at: Option<i64>,
    #[serde(deserialize_with = "epoch_ms")]
    pub updated_at: Option<i64>,
    pub package_vulnerability_details: Option<PackageVulnerabilityDetails>,
    pub remediation: Option<Remediation>,
    pub score_details: Option<ScoreDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PackageVulnerabilityDetails {
    pub vulnerability_id: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub vendor_severity: Option<String>,
    pub reference_urls: Vec<String>,
    pub related_vulnerabilities: Vec<String>,
    pub cvss: Vec<Cvss>,
    pub vulnerable_packages: Vec<VulnerablePackage>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cvss {
    pub base_score: Option<f64>,
    pub scoring_vector: Option<String>,
    pub source: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VulnerablePackage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Remediation {
    pub recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Recommendation {
    pub text: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScoreDetails {
    pub cvss: Option<CvssScoreDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CvssScoreDetails {
    pub score: Option<f64>,
    pub scoring_vector: Option<String>,
    pub score_source: Option<String>,
    pub version: Option<String>,
}

/// Accepts both timestamp encodings of saved AWS output: epoch seconds (wire format, CLI v1) and
/// ISO 8601 strings (CLI v2).
fn epoch_ms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Seconds(s)) => Ok(Some((s * 1_000.0).round() as i64)),
        Some(Raw::Text(t)) => parse_rfc3339_ms(&t)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {t:?}"))),
    }
}

/// Parses an RFC 3339 / ISO 8601 date-time (offsets allowed) to epoch milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    use aws_sdk_ecr::primitives::{DateTime, DateTimeFormat};
    let parsed = DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset)
        .or_else(|_| DateTime::from_str(text, DateTimeFormat::DateTime))
        .ok()?;
    parsed.to_millis().ok()
}

#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error("ECR DescribeImageScanFindings failed for {repository}@{digest}: {message}")]
    Api {
        repository: String,
        digest: String,
        /// The service's error code (e.g. `ThrottlingException`), when it gave one.
        code: Option<String>,
        message: String,
    },
    #[error("ECR returned the page token {0:?} twice; stopping to avoid a loop")]
    RepeatedToken(String),
    #[error("ECR returned more than {0} pages of findings; stopping")]
    TooManyPages(usize),
    #[error("cannot read findings file {path}: {reason}")]
    File { path: String, reason: String },
    #[error(
        "the findings file is for {file_value} but the event's {field} is {event_value}; \
         pass the findings of the scanned image"
    )]
    Mismatch {
        field: &'static str,
        file_value: String,
        event_value: String,
    },
}

/// One page of `DescribeImageScanFindings` at a time; the caller follows `next_token`.
pub trait FindingsSource: Send + Sync {
    fn page(
        &self,
        target: &ScanTarget,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<FindingsPage, FindingsError>> + Send;
}

/// Findings from the ECR API through `aws-sdk-ecr`. The client is built on first use, from the
/// standard SDK chain (region, credentials, `AWS_ENDPOINT_URL_ECR`), so invocations without an ECR
/// event never pay for it.
#[derive(Debug, Default)]
pub struct EcrFindings {
    client: tokio::sync::OnceCell<aws_sdk_ecr::Client>,
}

/// ECR's largest page for basic findings (enhanced findings come 100 a page regardless).
const MAX_RESULTS: i32 = 1_000;

/// Attempts per ECR request (the first one included) when throttled or on a 5xx.
pub const ECR_MAX_ATTEMPTS: u32 = 5;

/// How the SDK retries ECR: standard mode (exponential backoff with full jitter, 1 s base, 20 s cap,
/// a token bucket against retry storms) with [`ECR_MAX_ATTEMPTS`] attempts. The SDK's own variables
/// `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` take precedence when set.
pub fn ecr_retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(ECR_MAX_ATTEMPTS)
}

impl EcrFindings {
    pub fn lazy() -> EcrFindings {
        EcrFindings::default()
    }

    pub fn with_client(client: aws_sdk_ecr::Client) -> EcrFindings {
        EcrFindings {
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }

    async fn client(&self) -> &aws_sdk_ecr::Client {
        self.client
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                let user_set = ["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]
                    .iter()
                    .any(|var| std::env::var_os(var).is_some());
                if !user_set {
                    loader = loader.retry_config(ecr_retry_config());
                }
                aws_sdk_ecr::Client::new(&loader.load().await)
            })
            .await
    }
}

impl FindingsSource for EcrFindings {
    async fn page(
        &self,
        target: &ScanTarget,
        next_token: Option<String>,
    ) -> Result<FindingsPage, FindingsError> {
        use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata};
        let client = self.client().await;
        let mut request = client
            .describe_image_scan_findings()
            .registry_id(&target.registry_id)
            .repository_name(&target.repository_name)
            .image_id(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(&target.image_digest)
                    .build(),
            )
            .max_results(MAX_RESULTS)
            .set_next_token(next_token)
            .customize();
        let client_region = client.config().region().map(|r| r.as_ref().to_owned());
        if !target.region.is_empty() && client_region.as_deref() != Some(target.region.as_str()) {
            // The scanned image lives in the event's region; ask that region's endpoint.
            request = request.config_override(
                aws_sdk_ecr::config::Builder::default()
                    .region(aws_sdk_ecr::config::Region::new(target.region.clone())),
            );
        }
        let output = request.send().await.map_err(|e| FindingsError::Api {
            repository: target.repository_name.clone(),
            digest: target.image_digest.clone(),
            code: e.code().map(str::to_owned),
            message: DisplayErrorContext(&e).to_string(),
        })?;
        Ok(sdk::page_from_output(output))
    }
}

/// Findings from a saved `aws ecr describe-image-scan-findings` output (the CLI merges all pages).
#[derive(Debug, Clone)]
pub struct FileFindings {
    saved: SavedOutput,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SavedOutput {
    repository_name: Option<String>,
    image_id: Option<SavedImageId>,
    image_scan_findings: ScanFindings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SavedImageId {
    image_digest: Option<String>,
}

impl FileFindings {
    pub fn from_json(text: &str, path: &str) -> Result<FileFindings, FindingsError> {
        let saved = serde_json::from_str(text).map_err(|e| FindingsError::File {
            path: path.to_owned(),
            reason: format!("not a describe-image-scan-findings output: {e}"),
        })?;
        Ok(FileFindings { saved })
    }

    pub fn load(path: &Path) -> Result<FileFindings, FindingsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FindingsError::File {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        FileFindings::from_json(&text, &shown)
    }

    /// Refuses to attach one image's findings to another image's event.
    fn check(&self, target: &ScanTarget) -> Result<(), FindingsError> {
        let digest = self
            .saved
            .image_id
            .as_ref()
            .and_then(|i| i.image_digest.as_deref());
        let pairs = [
            (
                "repository-name",
                self.saved.repository_name.as_deref(),
                &target.repository_name,
            ),
            ("image-digest", digest, &target.image_digest),
        ];
        for (field, file_value, event_value) in pairs {
            if let Some(file_value) = file_value.filter(|v| *v != event_value.as_str()) {
                return Err(FindingsError::Mismatch {
                    field,
                    file_value: file_value.to_owned(),
                    event_value: event_value.clone(),
                });
            }
        }
        Ok(())
    }
}

impl FindingsSource for FileFindings {
    async fn page(
        &self,
        target: &ScanTarget,
        _next_token: Option<String>,
    ) -> Result<FindingsPage, FindingsError> {
        self.check(target)?;
        Ok(FindingsPage {
            scan: self.saved.image_scan_findings.clone(),
            next_token: None,
        })
    }
}

/// Findings handed over in memory (benchmarks, tools that already hold the findings).
#[derive(Debug, Clone, Default)]
pub struct StaticFindings {
    pub pages: Vec<FindingsPage>,
}

impl FindingsSource for StaticFindings {
    async fn page(
        &self,
        _target: &ScanTarget,
        next_token: Option<String>,
    ) -> Result<FindingsPage, FindingsError> {
        let index = next_token
            .and_then(|t| t.parse::<usize>().ok())
            .unwrap_or(0);
        let mut page = self.pages.get(index).cloned().unwrap_or_default();
        page.next_token = (index + 1 < self.pages.len()).then(|| (index + 1).to_string());
        Ok(page)
    }
}

mod sdk {
    //! Conversion of SDK output into the crate's findings model.

    use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
    use aws_sdk_ecr::primitives::DateTime;
    use aws_sdk_ecr::types;

    use super::*;

    fn ms(t: Option<&DateTime>) -> Option<i64> {
        t.and_then(|t| t.to_millis().ok())
    }

    fn text(s: Option<&str>) -> Option<String> {
        s.map(str::to_owned)
    }

    pub fn page_from_output(output: DescribeImageScanFindingsOutput) -> FindingsPage {
        let next_token = output.next_token().map(str::to_owned);
        let scan = output
            .image_scan_findings
            .map(|f| ScanFindings {
                image_scan_completed_at: ms(f.image_scan_completed_at()),
                finding_severity_counts: f
                    .finding_severity_counts()
                    .map(|counts| {
                        counts
                            .iter()
                            .map(|(k, v)| (k.as_str().to_owned(), u64::try_from(*v).unwrap_or(0)))
                            .collect()
                    })
                    .unwrap_or_default(),
                findings: f.findings().iter().map(basic).collect(),
                enhanced_findings: f.enhanced_findings().iter().map(enhanced).collect(),
            })
            .unwrap_or_default();
        FindingsPage { scan, next_token }
    }

    fn basic(f: &types::ImageScanFinding) -> BasicFinding {
        BasicFinding {
            name: text(f.name()),
            description: text(f.description()),
            uri: text(f.uri()),
            severity: f.severity().map(|s| s.as_str().to_owned()),
            attributes: f
                .attributes()
                .iter()
                .map(|a| Attribute {
                    key: a.key().to_owned(),
                    value: text(a.value()),
                })
                .collect(),
        }
    }

    fn enhanced(f: &types::EnhancedImageScanFinding) -> EnhancedFinding {
        EnhancedFinding {
            aws_account_id: text(f.aws_account_id()),
            finding_arn: text(f.finding_arn()),
            description: text(f.description()),
            title: text(f.title()),
            severity: text(f.severity()),
            status: text(f.status()),
            kind: text(f.r#type()),
            score: Some(f.score()).filter(|s| *s != 0.0),
            fix_available: text(f.fix_available()),
            exploit_available: text(f.exploit_available()),
            first_observed_at: ms(f.first_observed_at()),
            last_observed_at: ms(f.last_observed_at()),
            updated_at: ms(f.updated_at()),
            package_vulnerability_details: f.package_vulnerability_details().map(|d| {
                PackageVulnerabilityDetails {
                    vulnerability_id: text(d.vulnerability_id()),
                    source: text(d.source()),
                    source_url: text(d.source_url()),
                    vendor_severity: text(d.vendor_severity()),
                    reference_urls: d.reference_urls().to_vec(),
                    related_vulnerabilities: d.related_vulnerabilities().to_vec(),
                    cvss: d
                        .cvss()
                        .iter()
                        .map(|c| Cvss {
                            base_score: Some(c.base_score()),
                            scoring_vector: text(c.scoring_vector()),
                            source: text(c.source()),
                            version: text(c.version()),
                        })
                        .collect(),
                    vulnerable_packages: d
                        .vulnerable_packages()
                        .iter()
                        .map(|p| VulnerablePackage {
                            name: text(p.name()),
                            version: text(p.version()),
                            fixed_in_version: text(p.fixed_in_version()),
                            package_manager: text(p.package_manager()),
                            file_path: text(p.file_path()),
                            arch: text(p.arch()),
                            release: text(p.release()),
                            epoch: p.epoch().map(i64::from),
                        })
                        .collect(),
                }
            }),
            remediation: f.remediation().map(|r| Remediation {
                recommendation: r.recommendation().map(|rec| Recommendation {
                    text: text(rec.text()),
                    url: text(rec.url()),
                }),
            }),
            score_details: f.score_details().map(|s| ScoreDetails {
                cvss: s.cvss().map(|c| CvssScoreDetails {
                    score: Some(c.score()),
                    scoring_vector: text(c.scoring_vector()),
                    score_source: text(c.score_source()),
                    version: text(c.version()),
                }),
            }),
        }
    }
}
