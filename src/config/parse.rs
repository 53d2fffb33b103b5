//! One value read: the error that names the variable, and the parsers the settings share.

use std::str::FromStr;
use std::time::Duration;

use crate::syslog::UnknownValue;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

pub(super) fn invalid(var: &'static str, value: &str, fix: &str) -> ConfigError {
    // Values are echoed only when short: a PEM or a pasted secret must not land in logs.
    let shown = if value.len() <= 64 {
        format!("{value:?}")
    } else {
        format!("a {}-character value", value.chars().count())
    };
    ConfigError::Invalid {
        var,
        reason: format!("got {shown}; {fix}"),
    }
}

pub(super) fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(var, value, "use true or false")),
    }
}

pub(super) fn parse_number<T: FromStr>(var: &'static str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(var, value, "use a whole number in range"))
}

pub(super) fn parse_millis(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    match get(var) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => match parse_number::<u64>(var, &v)? {
            0 => Err(invalid(
                var,
                &v,
                "use a number of milliseconds greater than 0",
            )),
            ms => Ok(Duration::from_millis(ms)),
        },
    }
}

/// A variable whose value names one of a type's values (`FromStr`), when set.
pub(super) fn parsed<T: FromStr<Err = UnknownValue>>(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
) -> Result<Option<T>, ConfigError> {
    get(var)
        .map(|value| {
            value
                .parse()
                .map_err(|e: UnknownValue| invalid(var, &value, e.0))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn long_values_are_not_echoed() {
        let pem_like = "A".repeat(500);
        let err = config(&[("ORGANISATION", "A"), ("SYSLOG_FORMAT", &pem_like)]).unwrap_err();
        assert!(!err.to_string().contains(&pem_like));
        assert!(err.to_string().contains("500-character value"));
    }
}
