//! Filters and redaction, applied record by record: [`Filters::redact`] before detections read a
//! record (so they, the splitter and the SIEM never see a secret), [`Filters::keep`] after them (so
//! a record a detection tagged is always forwarded).

mod redact;
mod rules;
mod select;

use regex::Regex;

pub use redact::{CUSTOM_MARKER, RedactionCounts};
pub use rules::Rule;

use crate::config::FilterSettings;
use crate::record::Record;
use crate::sources::s3::CutGuard;
use redact::Redactor;
use select::Selector;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error(
        "REDACT is invalid: unknown rule {name}; use comma-separated names among {}",
        rule_names()
    )]
    UnknownRule { name: String },
    #[error(
        "{var} is invalid: it is not a regular expression in the regex crate's syntax ({reason}); \
         see https://docs.rs/regex/latest/regex/#syntax"
    )]
    NotARegex { var: &'static str, reason: String },
    #[error(
        "{var} is invalid: it matches every payload, even an empty one, so {effect}; remove the \
         empty alternative (a leading or trailing |) or use + instead of *"
    )]
    MatchesEverything {
        var: &'static str,
        effect: &'static str,
    },
}

/// Every built-in rule name, comma-separated.
pub fn rule_names() -> String {
    Rule::ALL.map(Rule::name).join(", ")
}

/// The configured filters and redaction, compiled once at start-up and shared by every invocation.
#[derive(Debug, Default)]
pub struct Filters {
    redactor: Option<Redactor>,
    selector: Selector,
}

impl Filters {
    /// Compiles `FILTER_INCLUDE`, `FILTER_EXCLUDE`, `REDACT` and `REDACT_REGEX`; an error names the
    /// variable to fix.
    pub fn from_config(settings: &FilterSettings) -> Result<Filters, FilterError> {
        let rules = settings
            .redact
            .iter()
            .map(|name| {
                Rule::from_name(name).ok_or_else(|| FilterError::UnknownRule { name: shown(name) })
            })
            .collect::<Result<Vec<Rule>, FilterError>>()?;
        let pattern = |var: &'static str, value: &Option<String>, effect: &'static str| {
            value
                .as_deref()
                .map(|pattern| compile(var, pattern, effect))
                .transpose()
        };
        let include = pattern(
            "FILTER_INCLUDE",
            &settings.include,
            "it would keep every record, as if unset",
        )?;
        let exclude = pattern(
            "FILTER_EXCLUDE",
            &settings.exclude,
            "it would drop every record that no detection tagged",
        )?;
        let custom = pattern(
            "REDACT_REGEX",
            &settings.redact_regex,
            "it would redact every payload",
        )?;
        let redactor =
            (!rules.is_empty() || custom.is_some()).then(|| Redactor::new(&rules, custom));
        Ok(Filters {
            redactor,
            selector: Selector::new(include, exclude),
        })
    }

    /// Nothing configured: [`Filters::redact`] changes nothing and [`Filters::keep`] keeps all.
    pub fn is_noop(&self) -> bool {
        self.redactor.is_none() && self.selector.is_noop()
    }

    /// Whether `FILTER_INCLUDE` or `FILTER_EXCLUDE` is set: whether [`Filters::keep`] may drop a
    /// record.
    pub fn selects(&self) -> bool {
        !self.selector.is_noop()
    }

    /// Replaces what the `REDACT` rules and `REDACT_REGEX` match in the record's payload. Run it
    /// before detections and formatting: the detection element is built from the payload, and the
    /// formatter splits it. Structured data from the event's envelope (`id`, account, log group,
    /// …) is not the payload and is left as it is.
    pub fn redact(&self, record: &mut Record, counts: &mut RedactionCounts) {
        if let Some(redactor) = &self.redactor {
            redactor.redact(&mut record.payload, counts);
        }
    }

    /// Whether the record is forwarded. Run it after detections: a record a detection tagged, and
    /// every ECR finding and scan summary, is always kept; otherwise `FILTER_EXCLUDE` wins over
    /// `FILTER_INCLUDE`. The patterns read the payload as redaction left it.
    pub fn keep(&self, record: &Record) -> bool {
        self.selector.keep(record)
    }
}

/// Where a line of an S3 object longer than a record is cut: never inside a match of `REDACT` or
/// `REDACT_REGEX`, so the piece after the cut holds the secret whole and redacts it.
impl CutGuard for Filters {
    fn guards(&self) -> bool {
        self.redactor.is_some()
    }

    fn cut(&self, text: &str, max: usize) -> usize {
        match &self.redactor {
            Some(redactor) => redactor.safe_cut(text, max),
            None => max,
        }
    }
}

fn compile(var: &'static str, pattern: &str, effect: &'static str) -> Result<Regex, FilterError> {
    let regex = Regex::new(pattern).map_err(|error| FilterError::NotARegex {
        var,
        reason: regex_error(&error),
    })?;
    // What no sane pattern matches all of: nothing, a lone control character, a lone dash.
    if ["", "\u{0}", "-"]
        .iter()
        .all(|sample| regex.is_match(sample))
    {
        return Err(FilterError::MatchesEverything { var, effect });
    }
    Ok(regex)
}

/// The regex crate's reason without the pattern it quotes: a `REDACT_REGEX` may well spell out the
/// secret it is meant to hide, and start-up errors go to the function's log.
fn regex_error(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or("invalid syntax")
            .to_owned(),
        regex::Error::CompiledTooBig(limit) => {
            format!("it compiles to more than {limit} bytes; simplify it")
        }
        _ => "it cannot be compiled".to_owned(),
    }
}

/// A value as an error may show it: quoted when short, else only its length.
fn shown(value: &str) -> String {
    if value.len() <= 64 {
        format!("{value:?}")
    } else {
        format!("(a {}-character value)", value.chars().count())
    }
}

#[cfg(test)]
mod tests;
