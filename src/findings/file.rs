//! Findings from a saved `aws ecr describe-image-scan-findings` output: offline replay and backfills.

use std::path::Path;

use serde::Deserialize;

use super::{FindingsError, FindingsPage, FindingsSource, ScanFindings, ScanTarget};

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
