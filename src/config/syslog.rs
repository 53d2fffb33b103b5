//! The syslog settings: organisation, header format, framing, facility, message size, SD-ID, BOM.

use crate::syslog::sanitize::is_sd_name;
use crate::syslog::{Framing, SyslogSettings};

use super::ConfigError;
use super::context;
use super::destination::{self, Transport};
use super::parse::{invalid, parse_bool, parse_number, parsed};

const MIN_MESSAGE_BYTES: usize = 480;

/// The syslog settings, and the transport read on the way: RELP decides the framing.
pub(super) fn settings(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<(SyslogSettings, Transport), ConfigError> {
    let defaults = SyslogSettings::default();
    let organisation = get("ORGANISATION")
        .map(|v| v.trim().to_owned())
        .ok_or(ConfigError::Missing {
            var: "ORGANISATION",
            hint: "set it to the tenant name the SIEM extracts (1-64 printable characters, no comma)",
        })?;
    validate_organisation(&organisation)?;

    let format = parsed(get, "SYSLOG_FORMAT")?.unwrap_or(defaults.format);
    let transport = destination::transport(get)?;
    let framing = parsed(get, "SYSLOG_FRAMING")?.unwrap_or(defaults.framing);
    // RELP frames each message itself (from the batch's message boundaries) and carries any
    // byte: LF framing's escaping would only alter the messages.
    let framing = match transport {
        Transport::Relp { .. } => Framing::OctetCounting,
        Transport::Tcp => framing,
    };
    let facility = parsed(get, "SYSLOG_FACILITY")?.unwrap_or(defaults.facility);
    let max_message_bytes = match get("SYSLOG_MAX_MESSAGE_BYTES") {
        None => defaults.max_message_bytes,
        Some(v) => {
            let n: usize = parse_number("SYSLOG_MAX_MESSAGE_BYTES", &v)?;
            if n != 0 && n < MIN_MESSAGE_BYTES {
                return Err(invalid(
                    "SYSLOG_MAX_MESSAGE_BYTES",
                    &v,
                    "use 0 (no cap) or at least 480, the size every RFC 5424 receiver must accept",
                ));
            }
            n
        }
    };
    let sd_id = match get("SYSLOG_SD_ID") {
        None => defaults.sd_id,
        Some(v) if v == "-" => None,
        Some(v) if is_sd_name(&v) => Some(v),
        Some(v) => {
            return Err(invalid(
                "SYSLOG_SD_ID",
                &v,
                "use 1-32 printable ASCII characters without '=', ' ', ']' or '\"' (e.g. aws@32473), or - for none",
            ));
        }
    };
    let utf8_bom = match get("SYSLOG_UTF8_BOM") {
        None => defaults.utf8_bom,
        Some(v) => parse_bool("SYSLOG_UTF8_BOM", &v)?,
    };
    let extra_fields = context::extra_fields(get, format, sd_id.as_deref())?;

    let settings = SyslogSettings {
        organisation,
        format,
        framing,
        facility,
        max_message_bytes,
        sd_id,
        utf8_bom,
        extra_fields,
    };
    Ok((settings, transport))
}

fn validate_organisation(value: &str) -> Result<(), ConfigError> {
    let chars = value.chars().count();
    if !(1..=64).contains(&chars) {
        return Err(invalid("ORGANISATION", value, "use 1-64 characters"));
    }
    if value.contains(',') {
        return Err(invalid(
            "ORGANISATION",
            value,
            "remove the comma: the SIEM reads the tenant up to the first comma",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(
            "ORGANISATION",
            value,
            "use printable characters only",
        ));
    }
    Ok(())
}
