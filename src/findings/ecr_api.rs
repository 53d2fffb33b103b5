//! Findings from the ECR API through `aws-sdk-ecr`: the client, its retry policy, and the conversion
//! of SDK output into the findings model (fields moved, not cloned).

use aws_sdk_ecr::error::{DisplayErrorContext, SdkError};
use aws_sdk_ecr::operation::describe_image_scan_findings::{
    DescribeImageScanFindingsError, DescribeImageScanFindingsOutput,
};
use aws_sdk_ecr::primitives::DateTime;
use aws_sdk_ecr::types;

use super::model::*;
use super::{FindingsError, FindingsPage, FindingsSource, ScanTarget, Unavailable};

/// Findings from the ECR API. The client is built on first use, from the standard SDK chain (region,
/// credentials, `AWS_ENDPOINT_URL_ECR`), so invocations without an ECR event never pay for it.
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
                // Short timeouts: ECR without a route fails in seconds, naming the endpoint.
                let mut loader = crate::aws::sdk_config_loader();
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
        let client = self.client().await;
        let mut request = client
            .describe_image_scan_findings()
            .registry_id(&target.registry_id)
            .repository_name(&target.repository_name)
            .image_id(
                types::ImageIdentifier::builder()
                    .image_digest(&target.image_digest)
                    .build(),
            )
            .max_results(MAX_RESULTS)
            .set_next_token(next_token)
            .customize();
        let endpoint = crate::aws::EndpointRecorder::default();
        request = request.interceptor(endpoint.clone());
        let client_region = client.config().region().map(|r| r.as_ref().to_owned());
        let region = if target.region.is_empty() {
            client_region.clone().unwrap_or_default()
        } else {
            target.region.clone()
        };
        if !target.region.is_empty() && client_region.as_deref() != Some(target.region.as_str()) {
            // The scanned image lives in the event's region; ask that region's endpoint.
            request = request.config_override(
                aws_sdk_ecr::config::Builder::default()
                    .region(aws_sdk_ecr::config::Region::new(target.region.clone())),
            );
        }
        let output = request
            .send()
            .await
            .map_err(|e| api_error(target, &region, endpoint.endpoint(), e))?;
        Ok(page_from_output(output))
    }
}

/// The typed service errors that mean "gone for good" become [`FindingsError::Unavailable`]; the SDK
/// parses them from the response whatever builds it (the service, moto, a mock). A call that got no
/// answer names the endpoint it tried and the VPC endpoint it needs.
fn api_error<R: std::fmt::Debug>(
    target: &ScanTarget,
    region: &str,
    endpoint: Option<String>,
    error: SdkError<DescribeImageScanFindingsError, R>,
) -> FindingsError {
    if let Some(message) = crate::aws::unanswered(crate::aws::ECR, region, endpoint, &error) {
        return FindingsError::Api {
            repository: target.repository_name.clone(),
            digest: target.image_digest.clone(),
            message,
        };
    }
    let why = match error.as_service_error() {
        Some(DescribeImageScanFindingsError::ImageNotFoundException(_)) => {
            Some(Unavailable::ImageNotFound)
        }
        Some(DescribeImageScanFindingsError::RepositoryNotFoundException(_)) => {
            Some(Unavailable::RepositoryNotFound)
        }
        Some(DescribeImageScanFindingsError::ScanNotFoundException(_)) => {
            Some(Unavailable::ScanNotFound)
        }
        _ => None,
    };
    let repository = target.repository_name.clone();
    let digest = target.image_digest.clone();
    match why {
        Some(why) => FindingsError::Unavailable {
            repository,
            digest,
            why,
        },
        None => FindingsError::Api {
            repository,
            digest,
            message: DisplayErrorContext(&error).to_string(),
        },
    }
}

fn ms(t: Option<DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

pub(super) fn page_from_output(output: DescribeImageScanFindingsOutput) -> FindingsPage {
    let scan = output
        .image_scan_findings
        .map(|f| ScanFindings {
            image_scan_completed_at: ms(f.image_scan_completed_at),
            finding_severity_counts: f
                .finding_severity_counts
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), u64::try_from(v).unwrap_or(0)))
                .collect(),
            findings: f
                .findings
                .unwrap_or_default()
                .into_iter()
                .map(basic)
                .collect(),
            enhanced_findings: f
                .enhanced_findings
                .unwrap_or_default()
                .into_iter()
                .map(enhanced)
                .collect(),
        })
        .unwrap_or_default();
    FindingsPage {
        scan,
        next_token: output.next_token,
    }
}

fn basic(f: types::ImageScanFinding) -> BasicFinding {
    BasicFinding {
        name: f.name,
        description: f.description,
        uri: f.uri,
        severity: f.severity.map(|s| s.as_str().to_owned()),
        attributes: f
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|a| Attribute {
                key: a.key,
                value: a.value,
            })
            .collect(),
    }
}

fn enhanced(f: types::EnhancedImageScanFinding) -> EnhancedFinding {
    EnhancedFinding {
        finding_arn: f.finding_arn,
        description: f.description,
        title: f.title,
        severity: f.severity,
        status: f.status,
        score: Some(f.score).filter(|s| *s != 0.0),
        fix_available: f.fix_available,
        exploit_available: f.exploit_available,
        first_observed_at: ms(f.first_observed_at),
        last_observed_at: ms(f.last_observed_at),
        package_vulnerability_details: f.package_vulnerability_details.map(package_details),
        remediation: f.remediation.map(|r| Remediation {
            recommendation: r.recommendation.map(|rec| Recommendation { url: rec.url }),
        }),
        score_details: f.score_details.map(|s| ScoreDetails {
            cvss: s.cvss.map(|c| CvssScoreDetails {
                score: Some(c.score),
                scoring_vector: c.scoring_vector,
            }),
        }),
    }
}

fn package_details(d: types::PackageVulnerabilityDetails) -> PackageVulnerabilityDetails {
    PackageVulnerabilityDetails {
        vulnerability_id: d.vulnerability_id,
        source_url: d.source_url,
        reference_urls: d.reference_urls.unwrap_or_default(),
        cvss: d
            .cvss
            .unwrap_or_default()
            .into_iter()
            .map(|c| Cvss {
                base_score: Some(c.base_score),
                scoring_vector: c.scoring_vector,
            })
            .collect(),
        vulnerable_packages: d
            .vulnerable_packages
            .unwrap_or_default()
            .into_iter()
            .map(|p| VulnerablePackage {
                name: p.name,
                version: p.version,
                fixed_in_version: p.fixed_in_version,
                package_manager: p.package_manager,
                file_path: p.file_path,
                arch: p.arch,
                release: p.release,
                epoch: p.epoch.map(i64::from),
            })
            .collect(),
    }
}
