//! Where and how to reach the SIEM's receiver: hosts (a failover list), port, transport (TCP or
//! RELP), timeouts, how long to keep reconnecting.

use std::net::Ipv6Addr;
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
/// How long the forwarder stays on a later SYSLOG_HOST entry before trying the first again.
const DEFAULT_FAILBACK_SECONDS: u64 = 300;
/// How long a delivery keeps reconnecting after a failure: a routine restart of the receiver
/// takes a few seconds.
const DEFAULT_RETRY_SECONDS: u64 = 10;

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

/// A later entry of SYSLOG_HOST: another receiver, tried when those before it fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// The name its certificate must carry over TLS: its own host, unless SYSLOG_TLS_SERVER_NAME
    /// names one for every entry.
    pub server_name: String,
}

/// Where and how to reach the SIEM's syslog receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The first entry of SYSLOG_HOST (its TLS name is `tls.server_name`).
    pub host: String,
    pub port: u16,
    /// The other entries of SYSLOG_HOST, in order.
    pub alternates: Vec<Endpoint>,
    /// After this long on a later entry, a new delivery tries the first one again.
    pub failback: Duration,
    /// How long a delivery keeps reconnecting after a failure (zero: one try).
    pub retry_for: Duration,
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

/// One entry of SYSLOG_HOST: `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port
/// is `None` when the entry names none.
fn parse_entry(entry: &str) -> Result<(String, Option<u16>), String> {
    let entry = entry.trim();
    let bad_port = |port: &str| format!("{port:?} in {entry:?} is not a port from 1 to 65535");
    let port_of = |port: &str| match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad_port(port)),
        Ok(p) => Ok(p),
    };
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return Err(format!("{entry:?} opens [ without closing it"));
        };
        if address.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{address:?} in {entry:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port_of(port)?),
                None => return Err(format!("{entry:?}: after ] only :port may follow")),
            },
        };
        (address.to_owned(), port)
    } else if entry.parse::<Ipv6Addr>().is_ok() {
        // A bare IPv6 address: its colons are not a port separator.
        (entry.to_owned(), None)
    } else {
        match entry.split_once(':') {
            None => (entry.to_owned(), None),
            Some((host, port)) if !port.contains(':') => (host.to_owned(), Some(port_of(port)?)),
            Some(_) => {
                return Err(format!(
                    "{entry:?} has several colons: write an IPv6 address with a port as [v6]:port"
                ));
            }
        }
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
        return Err(format!("{entry:?} names no valid host"));
    }
    Ok((host, port))
}

/// SYSLOG_HOST: a comma-separated list of receivers, each with its port or `default_port`.
fn parse_hosts(value: &str, default_port: u16) -> Result<Vec<(String, u16)>, ConfigError> {
    let fix = "give one or more receivers separated by commas, each host, host:port or \
               [IPv6]:port (the port defaults to SYSLOG_PORT)";
    value
        .split(',')
        .map(|entry| {
            if entry.trim().is_empty() {
                return Err(invalid(
                    "SYSLOG_HOST",
                    value,
                    &format!("an entry is empty; {fix}"),
                ));
            }
            parse_entry(entry)
                .map(|(host, port)| (host, port.unwrap_or(default_port)))
                .map_err(|reason| invalid("SYSLOG_HOST", value, &format!("{reason}; {fix}")))
        })
        .collect()
}

/// A number of seconds (0 allowed).
fn parse_seconds(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    match get(var) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => match parse_number::<u64>(var, &v)? {
            s @ 0..=86_400 => Ok(Duration::from_secs(s)),
            _ => Err(invalid(var, &v, "use a number of seconds from 0 to 86400")),
        },
    }
}

pub(super) fn destination(
    hosts: &str,
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
    let mut entries = parse_hosts(hosts, port)?.into_iter();
    let Some((host, port)) = entries.next() else {
        return Err(invalid("SYSLOG_HOST", hosts, "give at least one receiver"));
    };
    let tls = if tls {
        Some(tls::settings(&host, get)?)
    } else {
        None
    };
    let server_name_override = get("SYSLOG_TLS_SERVER_NAME").map(|n| n.trim().to_owned());
    let alternates = entries
        .map(|(host, port)| Endpoint {
            server_name: server_name_override.clone().unwrap_or_else(|| host.clone()),
            host,
            port,
        })
        .collect();
    Ok(Destination {
        host,
        port,
        alternates,
        failback: parse_seconds(get, "SYSLOG_FAILBACK_SECONDS", DEFAULT_FAILBACK_SECONDS)?,
        retry_for: parse_seconds(get, "SYSLOG_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)?,
        transport,
        tls,
        connect_timeout: parse_millis(get, "SYSLOG_CONNECT_TIMEOUT_MS", 5_000)?,
        write_timeout: parse_millis(get, "SYSLOG_WRITE_TIMEOUT_MS", 10_000)?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Endpoint;
    use crate::config::Transport;
    use crate::config::tests::{config, error_var};
    use crate::syslog::Framing;

    fn endpoint(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            server_name: host.into(),
        }
    }

    #[test]
    fn a_host_list_takes_ports_ipv6_and_the_default_port() {
        let c = config(&[
            ("ORGANISATION", "A"),
            (
                "SYSLOG_HOST",
                " siem-a.example.com , siem-b.example.com:7514,[2001:db8::7]:6515,10.0.0.9,::1",
            ),
        ])
        .unwrap();
        let d = c.destination.unwrap();
        assert_eq!((d.host.as_str(), d.port), ("siem-a.example.com", 6514));
        assert_eq!(
            d.alternates,
            vec![
                endpoint("siem-b.example.com", 7514),
                endpoint("2001:db8::7", 6515),
                endpoint("10.0.0.9", 6514),
                endpoint("::1", 6514),
            ]
        );
        assert_eq!(
            d.tls.unwrap().server_name,
            "siem-a.example.com",
            "each entry is verified against its own name"
        );
        assert_eq!(d.failback, Duration::from_secs(300));
        assert_eq!(d.retry_for, Duration::from_secs(10));

        let c = config(&[
            ("ORGANISATION", "A"),
            ("SYSLOG_HOST", "a,b"),
            ("SYSLOG_PORT", "1514"),
            ("SYSLOG_TLS_SERVER_NAME", "siem.internal"),
            ("SYSLOG_FAILBACK_SECONDS", "30"),
            ("SYSLOG_RETRY_SECONDS", "0"),
        ])
        .unwrap();
        let d = c.destination.unwrap();
        assert_eq!(d.port, 1514);
        assert_eq!(
            d.alternates,
            vec![Endpoint {
                host: "b".into(),
                port: 1514,
                server_name: "siem.internal".into(),
            }]
        );
        assert_eq!(d.failback, Duration::from_secs(30));
        assert_eq!(d.retry_for, Duration::ZERO);
    }

    #[test]
    fn malformed_host_lists_name_the_entry() {
        for bad in [
            "a,,b",
            "a,",
            "a:0",
            "a:99999",
            "a:port",
            "[::1",
            "[not-v6]:514",
            "[::1]514",
            "2001:db8::1:514x",
            "a b",
            ":514",
        ] {
            let vars = [("ORGANISATION", "A"), ("SYSLOG_HOST", bad)];
            assert_eq!(error_var(&vars), "SYSLOG_HOST", "{bad}");
            let err = config(&vars).unwrap_err().to_string();
            assert!(err.contains("host:port"), "{bad}: {err}");
        }
        for (var, bad) in [
            ("SYSLOG_FAILBACK_SECONDS", "-1"),
            ("SYSLOG_RETRY_SECONDS", "ten"),
            ("SYSLOG_RETRY_SECONDS", "100000"),
        ] {
            let vars = [("ORGANISATION", "A"), ("SYSLOG_HOST", "h"), (var, bad)];
            assert_eq!(error_var(&vars), var, "{bad}");
        }
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
}
