//! Records to framed syslog bytes: RFC 5424 (default) or RFC 3164, octet counting (RFC 6587 / 5425)
//! or LF framing, split into parts when longer than the receiver accepts.

mod batch;
mod format;
pub mod sanitize;
pub mod timestamp;

pub use batch::{Batch, Segment};
pub use format::{FormatError, Formatter, Scratch};

use std::str::FromStr;

/// The SD-ID of the structured-data element unless SYSLOG_SD_ID says otherwise (32473 is the
/// enterprise number RFC 5612 reserves for documentation and examples).
pub const DEFAULT_SD_ID: &str = "aws@32473";

/// The SD-PARAM names the forwarder itself writes in its element (a source's origin, the record's
/// id): `SYSLOG_EXTRA_FIELDS` may not reuse them.
pub const OWN_SD_PARAMS: &[&str] = &[
    "id",
    "account",
    "region",
    "logGroup",
    "logStream",
    "stream",
    "partitionKey",
    "encoding",
    "reason",
    "bucket",
    "key",
    "versionId",
    "repository",
    "imageDigest",
];

/// What the names of a log group's tags start with (`tag.env`, `tag.team`).
pub const TAG_PARAM_PREFIX: &str = "tag.";

/// Which syslog header to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    Rfc5424,
    Rfc3164,
}

/// A setting's text is none of its known values; the message says which are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownValue(pub &'static str);

impl FromStr for SyslogFormat {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<SyslogFormat, UnknownValue> {
        match text.trim().to_ascii_lowercase().as_str() {
            "rfc5424" => Ok(SyslogFormat::Rfc5424),
            "rfc3164" => Ok(SyslogFormat::Rfc3164),
            _ => Err(UnknownValue("use rfc5424 or rfc3164")),
        }
    }
}

impl FromStr for Framing {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Framing, UnknownValue> {
        match text.trim().to_ascii_lowercase().as_str() {
            "octet-counting" => Ok(Framing::OctetCounting),
            "lf" => Ok(Framing::Lf),
            _ => Err(UnknownValue("use octet-counting or lf")),
        }
    }
}

/// A syslog facility, 0–23 (RFC 5424 section 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

/// Facility names in code order (RFC 5424 table 1, as rsyslog and syslog-ng name them).
const FACILITY_NAMES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl Facility {
    pub const LOCAL0: Facility = Facility(16);

    pub fn new(code: u8) -> Option<Facility> {
        (code <= 23).then_some(Facility(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }
}

impl FromStr for Facility {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Facility, UnknownValue> {
        let text = text.trim().to_ascii_lowercase();
        let by_name = FACILITY_NAMES.iter().position(|name| *name == text);
        by_name
            .and_then(|code| u8::try_from(code).ok())
            .or_else(|| text.parse::<u8>().ok())
            .and_then(Facility::new)
            .ok_or(UnknownValue(
                "use a facility name (kern, user, ..., local0-local7) or a number from 0 to 23",
            ))
    }
}

/// How messages are delimited on the stream (RFC 6587).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `LEN SP MSG`: any byte may appear inside a message.
    OctetCounting,
    /// `MSG LF`: CR and LF inside a message are escaped so a record cannot end early.
    Lf,
}

/// Everything that decides how a record looks on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogSettings {
    pub organisation: String,
    pub format: SyslogFormat,
    pub framing: Framing,
    pub facility: Facility,
    /// Longest message (without framing) in bytes; 0 = no cap.
    pub max_message_bytes: usize,
    /// SD-ID of the structured-data element; `None` writes no structured data.
    pub sd_id: Option<String>,
    pub utf8_bom: bool,
    /// `SYSLOG_EXTRA_FIELDS`: SD-PARAMs added to the element of every record (names checked).
    pub extra_fields: Vec<(String, String)>,
}

impl Default for SyslogSettings {
    fn default() -> Self {
        SyslogSettings {
            organisation: String::new(),
            format: SyslogFormat::Rfc5424,
            framing: Framing::OctetCounting,
            facility: Facility::LOCAL0,
            max_message_bytes: 8192,
            sd_id: Some(DEFAULT_SD_ID.to_owned()),
            utf8_bom: false,
            extra_fields: Vec::new(),
        }
    }
}
