//! Configuration from the environment. Every invalid value stops start-up with a message that names
//! the variable.

mod context;
mod destination;
mod detections;
mod filters;
mod parse;
mod s3;
mod syslog;
#[cfg(test)]
mod tests;
mod tls;

pub use destination::{DEFAULT_RELP_WINDOW, Destination, Endpoint, Transport};
pub use detections::DetectionSettings;
pub use filters::FilterSettings;
pub use parse::ConfigError;
pub(crate) use tls::pem_lines;
pub use tls::{ClientAuth, ClientKey, KeyStore, TlsSettings};

use crate::syslog::SyslogSettings;

/// Every environment variable the configuration reads (a contract with `template.yaml`).
pub const VARIABLES: [&str; 31] = [
    "SYSLOG_HOST",
    "SYSLOG_PORT",
    "SYSLOG_FAILBACK_SECONDS",
    "SYSLOG_RETRY_SECONDS",
    "SYSLOG_TRANSPORT",
    "SYSLOG_RELP_WINDOW",
    "SYSLOG_TLS",
    "SYSLOG_TLS_CA",
    "SYSLOG_TLS_SERVER_NAME",
    "SYSLOG_TLS_CLIENT_CERT",
    "SYSLOG_TLS_CLIENT_KEY",
    "SYSLOG_TLS_CLIENT_KEY_SECRET_ARN",
    "SYSLOG_TLS_PIN_SHA256",
    "ORGANISATION",
    "SYSLOG_FORMAT",
    "SYSLOG_FRAMING",
    "SYSLOG_FACILITY",
    "SYSLOG_MAX_MESSAGE_BYTES",
    "SYSLOG_SD_ID",
    "SYSLOG_UTF8_BOM",
    "SYSLOG_CONNECT_TIMEOUT_MS",
    "SYSLOG_WRITE_TIMEOUT_MS",
    "DETECTIONS",
    "DETECTIONS_DISABLE",
    "FILTER_INCLUDE",
    "FILTER_EXCLUDE",
    "REDACT",
    "REDACT_REGEX",
    "S3_MAX_OBJECT_BYTES",
    "SYSLOG_EXTRA_FIELDS",
    "LOG_GROUP_TAGS",
];

/// The variables without which the Lambda cannot start.
pub const REQUIRED_IN_LAMBDA: [&str; 2] = ["SYSLOG_HOST", "ORGANISATION"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `None` when `SYSLOG_HOST` is unset: replay then writes to stdout.
    pub destination: Option<Destination>,
    pub syslog: SyslogSettings,
    pub detections: DetectionSettings,
    /// The largest S3 object read, decompressed (`S3_MAX_OBJECT_BYTES`).
    pub max_object_bytes: usize,
    pub filters: FilterSettings,
    /// `LOG_GROUP_TAGS`: add the source log group's tags to its records.
    pub log_group_tags: bool,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (a variable name to its value), so tests need not touch
    /// the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |var: &'static str| lookup(var).filter(|v| !v.trim().is_empty());

        // The first invalid variable in this order is the one reported.
        let (syslog, transport) = syslog::settings(&get)?;
        let detections = detections::settings(&get, syslog.sd_id.as_deref())?;
        let filters = filters::settings(&get);
        let max_object_bytes = s3::max_object_bytes(&get)?;
        let log_group_tags = context::log_group_tags(&get, syslog.format, syslog.sd_id.as_deref())?;
        let destination = match get("SYSLOG_HOST") {
            None => None,
            Some(hosts) => Some(destination::destination(&hosts, transport, &get)?),
        };

        Ok(Config {
            destination,
            syslog,
            detections,
            filters,
            max_object_bytes,
            log_group_tags,
        })
    }
}
