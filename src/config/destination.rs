//! Where and how to reach the SIEM's receiver: host, port, transport (TCP or RELP), timeouts.

use std::time::Duration;

use super::ConfigError;
use super::parse::{invalid, parse_bool, parse_millis, parse_number};
use super::tls::{self, TlsSettings};

/// RELP frames in flight without an answer unless SYSLOG_RELP_WINDOW says otherwise (librelp's
/// default).
pub const DEFAULT_RELP_WINDOW: usize = 128;
/// More frames in flight only fill the receiver's buffers, and a window is a receiver's cost.
const MAX_RELP_WINDOW: usize = 10_000;
/// The port of rsyslog's imrelp examples and librelp's default.
const RELP_PORT: u16 = 20514;

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

/// SYSLOG_TRANSPORT and, read whatever the transport, SYSLOG_RELP_WINDOW.
pub(super) fn transport(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<Transport, ConfigError> {
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

pub(super) fn destination(
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
        Some(tls::settings(&host, get)?)
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

#[cfg(test)]
mod tests {
    use crate::config::Transport;
    use crate::config::tests::config;
    use crate::syslog::Framing;

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
}
