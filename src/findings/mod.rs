//! A small seam over ECR `DescribeImageScanFindings`: one page at a time, from the AWS SDK
//! ([`EcrFindings`]), from a saved `aws ecr describe-image-scan-findings` output ([`FileFindings`]:
//! offline replay, backfills) or from memory ([`StaticFindings`]: benchmarks, tools).

mod ecr_api;
mod file;
mod memory;
mod model;

use std::future::Future;

pub use ecr_api::{ECR_MAX_ATTEMPTS, EcrFindings, ecr_retry_config};
pub use file::FileFindings;
pub use memory::StaticFindings;
pub use model::{
    Attribute, BasicFinding, Cvss, CvssScoreDetails, EnhancedFinding, PackageVulnerabilityDetails,
    Recommendation, Remediation, ScanFindings, ScoreDetails, VulnerablePackage,
};

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

/// Why ECR has no findings for an image any more: retrying cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    ImageNotFound,
    RepositoryNotFound,
    ScanNotFound,
}

impl Unavailable {
    /// The ECR error code, as the SIEM sees it in `findingsUnavailable`.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::ImageNotFound => "ImageNotFoundException",
            Unavailable::RepositoryNotFound => "RepositoryNotFoundException",
            Unavailable::ScanNotFound => "ScanNotFoundException",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Unavailable::ImageNotFound => "the image was deleted after the scan",
            Unavailable::RepositoryNotFound => "the repository was deleted after the scan",
            Unavailable::ScanNotFound => "ECR has no scan for this image any more",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error("ECR DescribeImageScanFindings failed for {repository}@{digest}: {message}")]
    Api {
        repository: String,
        digest: String,
        message: String,
    },
    #[error(
        "ECR has no scan findings for {repository}@{digest}: {} ({})",
        .why.reason(),
        .why.code()
    )]
    Unavailable {
        repository: String,
        digest: String,
        why: Unavailable,
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
