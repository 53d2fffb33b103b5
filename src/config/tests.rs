//! Tests of the whole configuration, and the helpers every part's tests read it with.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::syslog::{Framing, SyslogFormat};

pub(super) fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

pub(super) fn error_var(vars: &[(&str, &str)]) -> &'static str {
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
