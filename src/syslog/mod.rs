//! Records to framed syslog bytes: RFC 5424 (default) or RFC 3164, octet counting (RFC 6587 / 5425)
//! or LF framing, split into parts when longer than the receiver accepts.

mod batch;
mod format;
pub mod sanitize;
pub mod timestamp;

pub use batch::{Batch, Segment};
pub use format::{FormatError, Formatter};

/// The SD-ID of the structured-data element unless SYSLOG_SD_ID says otherwise (32473 is the
/// enterprise number RFC 5612 reserves for documentation and examples).
pub const DEFAULT_SD_ID: &str = "aws@32473";

/// Which syslog header to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    Rfc5424,
    Rfc3164,
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
    /// 0–23.
    pub facility: u8,
    /// Longest message (without framing) in bytes; 0 = no cap.
    pub max_message_bytes: usize,
    /// SD-ID of the structured-data element; `None` writes no structured data.
    pub sd_id: Option<String>,
    pub utf8_bom: bool,
}

impl Default for SyslogSettings {
    fn default() -> Self {
        SyslogSettings {
            organisation: String::new(),
            format: SyslogFormat::Rfc5424,
            framing: Framing::OctetCounting,
            facility: 16,
            max_message_bytes: 8192,
            sd_id: Some(DEFAULT_SD_ID.to_owned()),
            utf8_bom: false,
        }
    }
}
