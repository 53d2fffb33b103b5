//! Configuration from the environment. Every invalid value stops start-up with a message that names
//! the variable.

use std::time::Duration;

use crate::syslog::sanitize::is_sd_name;
use std::str::FromStr;

use crate::syslog::{Framing, SyslogSettings, UnknownValue};

/// Every environment variable the configuration reads (a contract with `template.yaml`).
pub const VARIABLES: [&str; 26] = [
    "SYSLOG_HOST",
    "SYSLOG_PORT",
    "SYSLOG_TRANSPORT",
    "SYSLOG_RELP_WINDOW",
    "SYSLOG_TLS",
    "SYSLOG_TLS_CA",
    "SYSLOG_TLS_SERVER_NAME",
    "SYSLOG_TLS_CLIENT_CERT",
    "SYSLOG_TLS_CLIENT_KEY",
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
];

/// The variables without which the Lambda cannot start.
pub const REQUIRED_IN_LAMBDA: [&str; 2] = ["SYSLOG_HOST", "ORGANISATION"];
const MIN_MESSAGE_BYTES: usize = 480;
/// RELP frames in flight without an answer unless SYSLOG_RELP_WINDOW says otherwise (librelp's
/// default).
pub const DEFAULT_RELP_WINDOW: usize = 128;
/// More frames in flight only fill the receiver's buffers, and a window is a receiver's cost.
const MAX_RELP_WINDOW: usize = 10_000;
/// The port of rsyslog's imrelp examples and librelp's default.
const RELP_PORT: u16 = 20514;

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

/// How messages travel to the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Syslog over TCP (RFC 6587) or TLS (RFC 5425): delivered means acknowledged by the
    /// receiver's TCP stack.
    Tcp,
    /// RELP: delivered means answered `200` by the receiving application; `window` frames may
    /// wait for their answers at once.
    Relp { window: usize },
}

/// Where and how to reach the SIEM's syslog receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub port: u16,
    pub transport: Transport,
    /// `None` = plain TCP.
    pub tls: Option<TlsSettings>,
    pub connect_timeout: Duration,
    pub write_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates to trust instead of the Mozilla roots.
    pub ca_pem: Option<String>,
    /// Name (or IP address) the server certificate must carry.
    pub server_name: String,
    /// PEM certificate chain and private key presented to receivers that require mutual TLS.
    pub client_auth: Option<ClientAuth>,
    /// SHA-256 fingerprints of the server certificate, any of which must match (rotation).
    pub pins: Vec<[u8; 32]>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub cert_pem: String,
    pub key_pem: String,
}

// The key is a secret: never print it, not even at debug level.
impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `None` when `SYSLOG_HOST` is unset: replay then writes to stdout.
    pub destination: Option<Destination>,
    pub syslog: SyslogSettings,
    pub detections: DetectionSettings,
    /// The largest S3 object read, decompressed (`S3_MAX_OBJECT_BYTES`).
    pub max_object_bytes: usize,
    pub filters: FilterSettings,
}

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

/// Which detection rules tag CloudTrail records of ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionSettings {
    pub enabled: bool,
    /// Rule ids turned off (each a known rule).
    pub disabled: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (a variable name to its value), so tests need not touch
    /// the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |var: &'static str| lookup(var).filter(|v| !v.trim().is_empty());

        let defaults = SyslogSettings::default();
        let organisation = get("ORGANISATION")
            .map(|v| v.trim().to_owned())
            .ok_or(ConfigError::Missing {
                var: "ORGANISATION",
                hint: "set it to the tenant name the SIEM extracts (1-64 printable characters, no comma)",
            })?;
        validate_organisation(&organisation)?;

        let format = parsed(&get, "SYSLOG_FORMAT")?.unwrap_or(defaults.format);
        let transport = transport(&get)?;
        let framing = parsed(&get, "SYSLOG_FRAMING")?.unwrap_or(defaults.framing);
        // RELP frames each message itself and carries any byte: the RELP sender cuts the batch
        // into messages at their octet counts, and LF framing's escaping would only alter them.
        let framing = match transport {
            Transport::Relp { .. } => Framing::OctetCounting,
            Transport::Tcp => framing,
        };
        let facility = parsed(&get, "SYSLOG_FACILITY")?.unwrap_or(defaults.facility);
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

        let detections = DetectionSettings {
            enabled: match get("DETECTIONS") {
                None => true,
                Some(v) => parse_bool("DETECTIONS", &v)?,
            },
            disabled: match get("DETECTIONS_DISABLE") {
                None => Vec::new(),
                Some(v) => parse_rule_ids(&v)?,
            },
        };

        // Patterns are taken verbatim (a space may be part of one); names are trimmed.
        let filters = FilterSettings {
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
        };

        let detection_sd_id = crate::detections::sd_id(sd_id.as_deref());
        if detections.enabled && !is_sd_name(&detection_sd_id) {
            return Err(invalid(
                "SYSLOG_SD_ID",
                sd_id.as_deref().unwrap_or_default(),
                &format!(
                    "the detection element's SD-ID derived from it, {detection_sd_id}, is longer than \
                     RFC 5424's 32 characters: use a name@number form with a private enterprise \
                     number (e.g. aws@32473)"
                ),
            ));
        }
        let max_object_bytes = match get("S3_MAX_OBJECT_BYTES") {
            None => crate::sources::DEFAULT_MAX_OBJECT_BYTES,
            Some(v) => match parse_number::<usize>("S3_MAX_OBJECT_BYTES", &v)? {
                0 => {
                    return Err(invalid(
                        "S3_MAX_OBJECT_BYTES",
                        &v,
                        "use a number of bytes greater than 0 (the default is 1073741824, 1 GiB)",
                    ));
                }
                n => n,
            },
        };
        let destination = match get("SYSLOG_HOST") {
            None => None,
            Some(host) => Some(destination(host.trim().to_owned(), transport, &get)?),
        };

        Ok(Config {
            destination,
            syslog: SyslogSettings {
                organisation,
                format,
                framing,
                facility,
                max_message_bytes,
                sd_id,
                utf8_bom,
            },
            detections,
            filters,
            max_object_bytes,
        })
    }
}

/// SYSLOG_TRANSPORT and, read whatever the transport, SYSLOG_RELP_WINDOW.
fn transport(get: &impl Fn(&'static str) -> Option<String>) -> Result<Transport, ConfigError> {
    let window = match get("SYSLOG_RELP_WINDOW") {
        None => DEFAULT_RELP_WINDOW,
        Some(v) => match parse_number::<usize>("SYSLOG_RELP_WINDOW", &v)? {
            n @ 1..=MAX_RELP_WINDOW => n,
            _ => {
                return Err(invalid(
                    "SYSLOG_RELP_WINDOW",
                    &v,
                    "use a number of frames from 1 to 10000 (librelp's default is 128)",
                ));
            }
        },
    };
    match get("SYSLOG_TRANSPORT")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("tcp") => Ok(Transport::Tcp),
        Some("relp") => Ok(Transport::Relp { window }),
        Some(other) => Err(invalid(
            "SYSLOG_TRANSPORT",
            other,
            "use tcp (syslog over TCP or TLS) or relp (rsyslog's imrelp)",
        )),
    }
}

fn destination(
    host: String,
    transport: Transport,
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<Destination, ConfigError> {
    let tls = match get("SYSLOG_TLS") {
        None => true,
        Some(v) => parse_bool("SYSLOG_TLS", &v)?,
    };
    let port = match get("SYSLOG_PORT") {
        None if matches!(transport, Transport::Relp { .. }) => RELP_PORT,
        None if tls => 6514,
        None => 514,
        Some(v) => match parse_number::<u16>("SYSLOG_PORT", &v)? {
            0 => return Err(invalid("SYSLOG_PORT", &v, "use a port from 1 to 65535")),
            p => p,
        },
    };
    let tls = if tls {
        let server_name = get("SYSLOG_TLS_SERVER_NAME").unwrap_or_else(|| host.clone());
        Some(TlsSettings {
            ca_pem: get("SYSLOG_TLS_CA").map(pem_newlines),
            server_name: server_name.trim().to_owned(),
            client_auth: client_auth(get)?,
            pins: match get("SYSLOG_TLS_PIN_SHA256") {
                None => Vec::new(),
                Some(v) => parse_pins(&v)?,
            },
        })
    } else {
        None
    };
    Ok(Destination {
        host,
        port,
        transport,
        tls,
        connect_timeout: parse_millis(get, "SYSLOG_CONNECT_TIMEOUT_MS", 5_000)?,
        write_timeout: parse_millis(get, "SYSLOG_WRITE_TIMEOUT_MS", 10_000)?,
    })
}

fn client_auth(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<ClientAuth>, ConfigError> {
    match (get("SYSLOG_TLS_CLIENT_CERT"), get("SYSLOG_TLS_CLIENT_KEY")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(ClientAuth {
            cert_pem: pem_newlines(cert),
            key_pem: pem_newlines(key),
        })),
        (Some(_), None) => Err(ConfigError::Missing {
            var: "SYSLOG_TLS_CLIENT_KEY",
            hint: "SYSLOG_TLS_CLIENT_CERT is set; give the PEM private key of that certificate too",
        }),
        (None, Some(_)) => Err(ConfigError::Missing {
            var: "SYSLOG_TLS_CLIENT_CERT",
            hint: "SYSLOG_TLS_CLIENT_KEY is set; give the PEM certificate (chain) of that key too",
        }),
    }
}

/// Consoles and parameter files often carry a PEM on one line with literal `\n`: restore the lines.
fn pem_newlines(value: String) -> String {
    if !value.contains('\n') && value.contains("\\n") {
        value.replace("\\n", "\n")
    } else {
        value
    }
}

/// Comma-separated SHA-256 fingerprints, each 64 hex digits, colons allowed (`openssl x509
/// -fingerprint -sha256` prints `AB:CD:…`).
fn parse_pins(value: &str) -> Result<Vec<[u8; 32]>, ConfigError> {
    let fix = "use the certificate's SHA-256 fingerprint as 64 hex digits (colons allowed, e.g. the \
               output of openssl x509 -noout -fingerprint -sha256), several separated by commas";
    let mut pins = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let item = item
            .strip_prefix("sha256 Fingerprint=")
            .or_else(|| item.strip_prefix("SHA256 Fingerprint="))
            .unwrap_or(item);
        let hex: Vec<u8> = item.bytes().filter(|b| *b != b':').collect();
        if hex.len() != 64 {
            return Err(invalid("SYSLOG_TLS_PIN_SHA256", value, fix));
        }
        // from_str_radix alone would take a sign ("+a") as part of a number.
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(invalid("SYSLOG_TLS_PIN_SHA256", value, fix));
        }
        let mut pin = [0u8; 32];
        for (byte, pair) in pin.iter_mut().zip(hex.chunks(2)) {
            let digits = std::str::from_utf8(pair).ok();
            *byte = digits
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| invalid("SYSLOG_TLS_PIN_SHA256", value, fix))?;
        }
        pins.push(pin);
    }
    if pins.is_empty() {
        return Err(invalid("SYSLOG_TLS_PIN_SHA256", value, fix));
    }
    Ok(pins)
}

fn parse_rule_ids(value: &str) -> Result<Vec<String>, ConfigError> {
    let mut ids = Vec::new();
    for id in value.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        if !crate::detections::rule_ids().any(|known| known == id) {
            let known: Vec<&str> = crate::detections::rule_ids().collect();
            return Err(ConfigError::Invalid {
                var: "DETECTIONS_DISABLE",
                reason: format!(
                    "unknown rule id {id:?}; use comma-separated ids among {}",
                    known.join(", ")
                ),
            });
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

fn invalid(var: &'static str, value: &str, fix: &str) -> ConfigError {
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

fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(var, value, "use true or false")),
    }
}

fn parse_number<T: std::str::FromStr>(var: &'static str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(var, value, "use a whole number in range"))
}

fn parse_millis(
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
fn parsed<T: FromStr<Err = UnknownValue>>(
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
    use std::collections::HashMap;

    use super::*;
    use crate::syslog::{Framing, SyslogFormat};

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn error_var(vars: &[(&str, &str)]) -> &'static str {
        match config(vars).unwrap_err() {
            ConfigError::Missing { var, .. } | ConfigError::Invalid { var, .. } => var,
        }
    }

    #[test]
    fn defaults() {
        let c = config(&[
            ("ORGANISATION", "Acme"),
            ("SYSLOG_HOST", "siem.example.com"),
        ])
        .unwrap();
        let d = c.destination.unwrap();
        assert_eq!(d.port, 6514);
        assert_eq!(
            d.tls,
            Some(TlsSettings {
                ca_pem: None,
                server_name: "siem.example.com".into(),
                client_auth: None,
                pins: Vec::new(),
            })
        );
        assert_eq!(d.connect_timeout, Duration::from_millis(5000));
        assert_eq!(d.write_timeout, Duration::from_millis(10000));
        assert_eq!(d.transport, Transport::Tcp);
        assert_eq!(c.syslog.format, SyslogFormat::Rfc5424);
        assert_eq!(c.syslog.framing, Framing::OctetCounting);
        assert_eq!(c.syslog.facility.code(), 16);
        assert_eq!(c.syslog.max_message_bytes, 8192);
        assert_eq!(c.syslog.sd_id.as_deref(), Some("aws@32473"));
        assert!(!c.syslog.utf8_bom);
    }

    #[test]
    fn no_host_means_no_destination() {
        assert_eq!(
            config(&[("ORGANISATION", "Acme")]).unwrap().destination,
            None
        );
    }

    #[test]
    fn plain_tcp_defaults_to_514_and_sam_booleans_work() {
        let c = config(&[
            ("ORGANISATION", "A"),
            ("SYSLOG_HOST", "h"),
            ("SYSLOG_TLS", "False"),
        ])
        .unwrap();
        let d = c.destination.unwrap();
        assert_eq!((d.port, d.tls), (514, None));
        let c = config(&[
            ("ORGANISATION", "A"),
            ("SYSLOG_HOST", "h"),
            ("SYSLOG_TLS", "True"),
        ])
        .unwrap();
        assert!(c.destination.unwrap().tls.is_some());
    }

    #[test]
    fn relp_defaults_to_its_port_with_or_without_tls_and_octet_counting() {
        for tls in ["true", "false"] {
            let c = config(&[
                ("ORGANISATION", "A"),
                ("SYSLOG_HOST", "h"),
                ("SYSLOG_TLS", tls),
                ("SYSLOG_TRANSPORT", "RELP"),
                ("SYSLOG_FRAMING", "lf"),
            ])
            .unwrap();
            let d = c.destination.unwrap();
            assert_eq!(d.port, 20514);
            assert_eq!(d.tls.is_some(), tls == "true");
            assert_eq!(d.transport, Transport::Relp { window: 128 });
            assert_eq!(
                c.syslog.framing,
                Framing::OctetCounting,
                "RELP frames itself"
            );
        }
        let c = config(&[
            ("ORGANISATION", "A"),
            ("SYSLOG_HOST", "h"),
            ("SYSLOG_TRANSPORT", "relp"),
            ("SYSLOG_PORT", "2514"),
            ("SYSLOG_RELP_WINDOW", "1"),
        ])
        .unwrap();
        let d = c.destination.unwrap();
        assert_eq!((d.port, d.transport), (2514, Transport::Relp { window: 1 }));
        let tcp = config(&[
            ("ORGANISATION", "A"),
            ("SYSLOG_TRANSPORT", "tcp"),
            ("SYSLOG_FRAMING", "lf"),
        ])
        .unwrap();
        assert_eq!(tcp.syslog.framing, Framing::Lf);
    }

    #[test]
    fn every_option_parses() {
        let c = config(&[
            ("ORGANISATION", "Acme Corp"),
            ("SYSLOG_HOST", "10.0.0.5"),
            ("SYSLOG_PORT", "10514"),
            ("SYSLOG_TLS_SERVER_NAME", "siem.internal"),
            ("SYSLOG_TLS_CA", "-----BEGIN CERTIFICATE-----"),
            ("SYSLOG_FORMAT", "RFC3164"),
            ("SYSLOG_FRAMING", "lf"),
            ("SYSLOG_FACILITY", "auth"),
            ("SYSLOG_MAX_MESSAGE_BYTES", "0"),
            ("SYSLOG_SD_ID", "-"),
            ("SYSLOG_UTF8_BOM", "TRUE"),
            ("SYSLOG_CONNECT_TIMEOUT_MS", "250"),
            ("SYSLOG_WRITE_TIMEOUT_MS", "750"),
        ])
        .unwrap();
        let d = c.destination.unwrap();
        assert_eq!(d.port, 10514);
        let tls = d.tls.unwrap();
        assert_eq!(tls.server_name, "siem.internal");
        assert!(tls.ca_pem.is_some());
        assert_eq!(d.connect_timeout, Duration::from_millis(250));
        assert_eq!(d.write_timeout, Duration::from_millis(750));
        assert_eq!(c.syslog.format, SyslogFormat::Rfc3164);
        assert_eq!(c.syslog.framing, Framing::Lf);
        assert_eq!(c.syslog.facility.code(), 4);
        assert_eq!(c.syslog.max_message_bytes, 0);
        assert_eq!(c.syslog.sd_id, None);
        assert!(c.syslog.utf8_bom);
        let c = config(&[("ORGANISATION", "A"), ("SYSLOG_FACILITY", "23")]).unwrap();
        assert_eq!(c.syslog.facility.code(), 23);
    }

    #[test]
    fn errors_name_the_variable() {
        let org = ("ORGANISATION", "Acme");
        let host = ("SYSLOG_HOST", "h");
        assert_eq!(error_var(&[]), "ORGANISATION");
        assert_eq!(
            config(&[("ORGANISATION", "  Acme Corp \t")])
                .unwrap()
                .syslog
                .organisation,
            "Acme Corp"
        );
        assert_eq!(error_var(&[("ORGANISATION", "a,b")]), "ORGANISATION");
        assert_eq!(
            error_var(&[("ORGANISATION", &"x".repeat(65))]),
            "ORGANISATION"
        );
        assert_eq!(error_var(&[("ORGANISATION", "a\nb")]), "ORGANISATION");
        assert_eq!(error_var(&[org, host, ("SYSLOG_PORT", "0")]), "SYSLOG_PORT");
        assert_eq!(
            error_var(&[org, host, ("SYSLOG_PORT", "70000")]),
            "SYSLOG_PORT"
        );
        assert_eq!(error_var(&[org, host, ("SYSLOG_TLS", "yes")]), "SYSLOG_TLS");
        assert_eq!(
            error_var(&[org, ("SYSLOG_TRANSPORT", "udp")]),
            "SYSLOG_TRANSPORT"
        );
        for window in ["0", "10001", "-1", "many"] {
            assert_eq!(
                error_var(&[org, ("SYSLOG_RELP_WINDOW", window)]),
                "SYSLOG_RELP_WINDOW"
            );
        }
        assert_eq!(
            error_var(&[org, ("SYSLOG_FORMAT", "json")]),
            "SYSLOG_FORMAT"
        );
        assert_eq!(
            error_var(&[org, ("SYSLOG_FRAMING", "nul")]),
            "SYSLOG_FRAMING"
        );
        assert_eq!(
            error_var(&[org, ("SYSLOG_FACILITY", "24")]),
            "SYSLOG_FACILITY"
        );
        assert_eq!(
            error_var(&[org, ("SYSLOG_FACILITY", "local8")]),
            "SYSLOG_FACILITY"
        );
        assert_eq!(
            error_var(&[org, ("SYSLOG_MAX_MESSAGE_BYTES", "100")]),
            "SYSLOG_MAX_MESSAGE_BYTES"
        );
        assert_eq!(
            error_var(&[org, ("SYSLOG_MAX_MESSAGE_BYTES", "-1")]),
            "SYSLOG_MAX_MESSAGE_BYTES"
        );
        assert_eq!(error_var(&[org, ("SYSLOG_SD_ID", "a b")]), "SYSLOG_SD_ID");
        // 32 characters, but detection@<number> would be 40.
        let long = format!("x@{}", "1".repeat(30));
        assert_eq!(error_var(&[org, ("SYSLOG_SD_ID", &long)]), "SYSLOG_SD_ID");
        assert!(config(&[org, ("SYSLOG_SD_ID", &long), ("DETECTIONS", "false")]).is_ok());
        assert!(config(&[org, ("SYSLOG_SD_ID", "x@123456789012345678901")]).is_ok());

        assert_eq!(
            error_var(&[org, ("SYSLOG_UTF8_BOM", "1")]),
            "SYSLOG_UTF8_BOM"
        );
        assert_eq!(
            error_var(&[org, host, ("SYSLOG_CONNECT_TIMEOUT_MS", "0")]),
            "SYSLOG_CONNECT_TIMEOUT_MS"
        );
        assert_eq!(
            error_var(&[org, host, ("SYSLOG_WRITE_TIMEOUT_MS", "soon")]),
            "SYSLOG_WRITE_TIMEOUT_MS"
        );
        assert_eq!(
            error_var(&[org, ("S3_MAX_OBJECT_BYTES", "0")]),
            "S3_MAX_OBJECT_BYTES"
        );
        assert_eq!(
            error_var(&[org, ("S3_MAX_OBJECT_BYTES", "1GiB")]),
            "S3_MAX_OBJECT_BYTES"
        );
    }

    #[test]
    fn the_s3_object_bound_defaults_to_one_gib() {
        let c = config(&[("ORGANISATION", "Acme")]).unwrap();
        assert_eq!(c.max_object_bytes, 1 << 30);
        let c = config(&[("ORGANISATION", "Acme"), ("S3_MAX_OBJECT_BYTES", "5000000")]).unwrap();
        assert_eq!(c.max_object_bytes, 5_000_000);
    }

    #[test]
    fn reads_exactly_the_listed_variables() {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let lookup = |name: &str| {
            asked.borrow_mut().insert(name.to_owned());
            match name {
                "ORGANISATION" => Some("Acme".to_owned()),
                "SYSLOG_HOST" => Some("h".to_owned()),
                _ => None,
            }
        };
        Config::from_lookup(lookup).unwrap();
        let listed: std::collections::BTreeSet<String> =
            VARIABLES.iter().map(|v| v.to_string()).collect();
        assert_eq!(*asked.borrow(), listed);
    }

    #[test]
    fn pins_accept_openssl_output_and_lists() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let value = format!("sha256 Fingerprint={colons}, {hex}");
        let c = config(&[
            ("ORGANISATION", "Acme"),
            ("SYSLOG_HOST", "h"),
            ("SYSLOG_TLS_PIN_SHA256", &value),
        ])
        .unwrap();
        assert_eq!(
            c.destination.unwrap().tls.unwrap().pins,
            vec![[0xab; 32]; 2]
        );
        let signed = format!("+a{}", "0".repeat(62));
        for bad in [
            "ab",
            &"zz".repeat(32),
            &"ab".repeat(33),
            ",",
            "日本",
            &signed,
        ] {
            let vars = [
                ("ORGANISATION", "Acme"),
                ("SYSLOG_HOST", "h"),
                ("SYSLOG_TLS_PIN_SHA256", bad),
            ];
            assert_eq!(error_var(&vars), "SYSLOG_TLS_PIN_SHA256", "{bad}");
        }
    }

    #[test]
    fn client_certificate_needs_its_key_and_the_key_stays_secret() {
        let base = [("ORGANISATION", "Acme"), ("SYSLOG_HOST", "h")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            vars
        };
        assert_eq!(
            error_var(&with(&[("SYSLOG_TLS_CLIENT_CERT", "c")])),
            "SYSLOG_TLS_CLIENT_KEY"
        );
        assert_eq!(
            error_var(&with(&[("SYSLOG_TLS_CLIENT_KEY", "k")])),
            "SYSLOG_TLS_CLIENT_CERT"
        );
        let c = config(&with(&[
            (
                "SYSLOG_TLS_CLIENT_CERT",
                "-----BEGIN CERTIFICATE-----\\nAA\\n",
            ),
            (
                "SYSLOG_TLS_CLIENT_KEY",
                "-----BEGIN PRIVATE KEY-----\\nSECRET\\n",
            ),
        ]))
        .unwrap();
        let auth = c.destination.unwrap().tls.unwrap().client_auth.unwrap();
        assert_eq!(auth.cert_pem, "-----BEGIN CERTIFICATE-----\nAA\n");
        assert!(!format!("{auth:?}").contains("SECRET"));
    }

    #[test]
    fn detections_are_on_by_default_and_rules_can_be_turned_off() {
        let c = config(&[("ORGANISATION", "Acme")]).unwrap();
        assert_eq!(
            c.detections,
            DetectionSettings {
                enabled: true,
                disabled: Vec::new()
            }
        );
        let c = config(&[
            ("ORGANISATION", "Acme"),
            ("DETECTIONS", "False"),
            ("DETECTIONS_DISABLE", "ecr-image-pulled, ecr-image-pushed,"),
        ])
        .unwrap();
        assert!(!c.detections.enabled);
        assert_eq!(
            c.detections.disabled,
            vec!["ecr-image-pulled", "ecr-image-pushed"]
        );
        let err = config(&[
            ("ORGANISATION", "Acme"),
            ("DETECTIONS_DISABLE", "ecr-image-pulld"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("DETECTIONS_DISABLE"), "{err}");
        assert!(
            err.to_string().contains("ecr-image-pulled"),
            "lists the ids: {err}"
        );
        assert_eq!(
            error_var(&[("ORGANISATION", "Acme"), ("DETECTIONS", "yes")]),
            "DETECTIONS"
        );
    }

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

    #[test]
    fn long_values_are_not_echoed() {
        let pem_like = "A".repeat(500);
        let err = config(&[("ORGANISATION", "A"), ("SYSLOG_FORMAT", &pem_like)]).unwrap_err();
        assert!(!err.to_string().contains(&pem_like));
        assert!(err.to_string().contains("500-character value"));
    }
}
