//! Findings handed over in memory: benchmarks and tools that already hold them.

use super::{FindingsError, FindingsPage, FindingsSource, ScanTarget};

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
