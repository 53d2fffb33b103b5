//! Which records are forwarded and what is redacted in them (FILTER_*, REDACT, REDACT_REGEX).

/// Which records are forwarded and what is redacted in them, as configured; compiled (and the rule
/// names and patterns checked) by [`crate::filters::Filters::from_config`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FilterSettings {
    /// `FILTER_INCLUDE`: a regex; when set, only records whose payload matches are forwarded.
    pub include: Option<String>,
    /// `FILTER_EXCLUDE`: a regex; records whose payload matches are dropped (this wins).
    pub exclude: Option<String>,
    /// `REDACT`: built-in rule names.
    pub redact: Vec<String>,
    /// `REDACT_REGEX`: a regex whose matches become `[REDACTED]`.
    pub redact_regex: Option<String>,
}

// A custom redaction pattern may spell out the very secret it hides: show only its length.
impl std::fmt::Debug for FilterSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterSettings")
            .field("include", &self.include)
            .field("exclude", &self.exclude)
            .field("redact", &self.redact)
            .field(
                "redact_regex",
                &self
                    .redact_regex
                    .as_ref()
                    .map(|p| format!("<{} characters>", p.chars().count())),
            )
            .finish()
    }
}

pub(super) fn settings(get: &impl Fn(&'static str) -> Option<String>) -> FilterSettings {
    // Patterns are taken verbatim (a space may be part of one); names are trimmed.
    FilterSettings {
        include: get("FILTER_INCLUDE"),
        exclude: get("FILTER_EXCLUDE"),
        redact: get("REDACT").map_or_else(Vec::new, |names| {
            names
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        redact_regex: get("REDACT_REGEX"),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::FilterSettings;
    use crate::config::tests::config;

    #[test]
    fn filters_are_read_as_given() {
        let c = config(&[("ORGANISATION", "Acme")]).unwrap();
        assert_eq!(c.filters, FilterSettings::default());
        let c = config(&[
            ("ORGANISATION", "Acme"),
            ("FILTER_INCLUDE", " ERROR"),
            ("FILTER_EXCLUDE", "^START "),
            ("REDACT", " email, ipv4 ,,"),
            ("REDACT_REGEX", "hunter2"),
        ])
        .unwrap();
        assert_eq!(c.filters.include.as_deref(), Some(" ERROR"), "verbatim");
        assert_eq!(c.filters.exclude.as_deref(), Some("^START "));
        assert_eq!(c.filters.redact, vec!["email", "ipv4"]);
        assert_eq!(c.filters.redact_regex.as_deref(), Some("hunter2"));
        let shown = format!("{:?}", c.filters);
        assert!(
            !shown.contains("hunter2") && shown.contains("<7 characters>"),
            "{shown}"
        );
    }
}
