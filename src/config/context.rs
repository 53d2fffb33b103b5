//! Context added to every record: fixed fields (`SYSLOG_EXTRA_FIELDS`) and the source log group's
//! tags (`LOG_GROUP_TAGS`).

use crate::syslog::sanitize::is_sd_name;
use crate::syslog::{OWN_SD_PARAMS, SyslogFormat, TAG_PARAM_PREFIX};

use super::ConfigError;
use super::parse::{invalid, parse_bool};

const EXTRA_FIELDS: &str = "SYSLOG_EXTRA_FIELDS";

/// `name=value,name=value`: each pair an SD-PARAM of the project's own element. Names are RFC 5424
/// SD-NAMEs that the project does not write itself; values are escaped when written.
pub(super) fn extra_fields(
    get: &impl Fn(&'static str) -> Option<String>,
    format: SyslogFormat,
    sd_id: Option<&str>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(text) = get(EXTRA_FIELDS) else {
        return Ok(Vec::new());
    };
    if format != SyslogFormat::Rfc5424 || sd_id.is_none() {
        return Err(ConfigError::Invalid {
            var: EXTRA_FIELDS,
            reason: "fields are structured data, which only RFC 5424 with an SD-ID carries: unset \
                     it, or use SYSLOG_FORMAT=rfc5424 and an SYSLOG_SD_ID other than -"
                .into(),
        });
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(invalid(
                EXTRA_FIELDS,
                pair,
                "write each field as name=value",
            ));
        };
        let name = name.trim();
        if !is_sd_name(name) {
            return Err(invalid(
                EXTRA_FIELDS,
                name,
                "a field name is an RFC 5424 SD-NAME: 1-32 printable US-ASCII characters without \
                 '=', ' ', ']' or '\"'",
            ));
        }
        if OWN_SD_PARAMS.contains(&name) || name.starts_with(TAG_PARAM_PREFIX) {
            return Err(invalid(
                EXTRA_FIELDS,
                name,
                &format!(
                    "the forwarder writes this name itself ({}, and tag.* for log group tags): \
                     choose another",
                    OWN_SD_PARAMS.join(", ")
                ),
            ));
        }
        if fields.iter().any(|(seen, _)| seen == name) {
            return Err(invalid(EXTRA_FIELDS, name, "each name may appear once"));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(EXTRA_FIELDS, pair, "give the field a value"));
        }
        fields.push((name.to_owned(), value.to_owned()));
    }
    Ok(fields)
}

/// `LOG_GROUP_TAGS`: whether the source log group's tags are added (structured data too).
pub(super) fn log_group_tags(
    get: &impl Fn(&'static str) -> Option<String>,
    format: SyslogFormat,
    sd_id: Option<&str>,
) -> Result<bool, ConfigError> {
    let Some(value) = get("LOG_GROUP_TAGS") else {
        return Ok(false);
    };
    let on = parse_bool("LOG_GROUP_TAGS", &value)?;
    if on && (format != SyslogFormat::Rfc5424 || sd_id.is_none()) {
        return Err(ConfigError::Invalid {
            var: "LOG_GROUP_TAGS",
            reason: "tags are structured data, which only RFC 5424 with an SD-ID carries: set it \
                     to false, or use SYSLOG_FORMAT=rfc5424 and an SYSLOG_SD_ID other than -"
                .into(),
        });
    }
    Ok(on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: &str) -> Result<Vec<(String, String)>, ConfigError> {
        let value = value.to_owned();
        extra_fields(
            &move |var| (var == EXTRA_FIELDS).then(|| value.clone()),
            SyslogFormat::Rfc5424,
            Some("aws@32473"),
        )
    }

    #[test]
    fn pairs_are_read_in_order_with_their_values_as_given() {
        let read = fields(r#"env=prod, team=payments ,note=a "b" \c ]d"#).unwrap();
        assert_eq!(
            read,
            [
                ("env".to_owned(), "prod".to_owned()),
                ("team".to_owned(), "payments".to_owned()),
                ("note".to_owned(), r#"a "b" \c ]d"#.to_owned()),
            ]
        );
        assert_eq!(fields("x=a=b").unwrap(), [("x".into(), "a=b".into())]);
    }

    #[test]
    fn bad_names_and_collisions_are_refused_naming_the_variable() {
        for bad in [
            "bad name=1",
            "a]b=1",
            "q\"=1",
            "=1",
            "env",
            "env=",
            "id=1",
            "account=1",
            "logGroup=1",
            "tag.env=1",
            "a=1,a=2",
            "émoji=1",
            &format!("{}=1", "n".repeat(33)),
        ] {
            let err = fields(bad).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { var, .. } if *var == EXTRA_FIELDS),
                "{bad}: {err}"
            );
        }
        assert!(fields(&format!("{}=1", "n".repeat(32))).is_ok());
        let err = extra_fields(
            &|_| Some("env=prod".into()),
            SyslogFormat::Rfc3164,
            Some("aws@32473"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("RFC 5424"), "{err}");
    }
}
