//! The findings model: what the records read of `DescribeImageScanFindings`, decoded from saved CLI
//! output (serde) or converted from the SDK's types. Fields nothing reads are left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

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
    pub finding_arn: Option<String>,
    pub description: Option<String>,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    pub score: Option<f64>,
    pub fix_available: Option<String>,
    pub exploit_available: Option<String>,
    #[serde(deserialize_with = "epoch_ms")]
    pub first_observed_at: Option<i64>,
    #[serde(deserialize_with = "epoch_ms")]
    pub last_observed_at: Option<i64>,
    pub package_vulnerability_details: Option<PackageVulnerabilityDetails>,
    pub remediation: Option<Remediation>,
    pub score_details: Option<ScoreDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PackageVulnerabilityDetails {
    pub vulnerability_id: Option<String>,
    pub source_url: Option<String>,
    pub reference_urls: Vec<String>,
    pub cvss: Vec<Cvss>,
    pub vulnerable_packages: Vec<VulnerablePackage>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cvss {
    pub base_score: Option<f64>,
    pub scoring_vector: Option<String>,
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
        Some(Raw::Text(t)) => crate::time::parse_rfc3339_ms(&t)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {t:?}"))),
    }
}
