//! What the delivery tests share: sample events, destinations, a forwarder with fast retries, and
//! what rsyslog should store for what was sent.

use std::path::Path;
use std::time::Duration;

use aws_syslog_forwarder::config::{Destination, TlsSettings, Transport};
use aws_syslog_forwarder::findings::FileFindings;
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::syslog::{Framing, SyslogSettings};
use aws_syslog_forwarder::transport::{RelpSender, RetryPolicy, Sink, SyslogSender};
use tokio::time::Instant;

use super::rsyslog::Received;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn event(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn settings() -> SyslogSettings {
    SyslogSettings {
        organisation: "Acme".into(),
        ..SyslogSettings::default()
    }
}

pub fn tcp(port: u16) -> Destination {
    Destination {
        host: "127.0.0.1".into(),
        port,
        alternates: Vec::new(),
        failback: Duration::from_secs(300),
        retry_for: Duration::from_secs(10),
        transport: Transport::Tcp,
        tls: None,
        connect_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_secs(5),
    }
}

pub fn tls(port: u16, ca_pem: &str, server_name: &str) -> Destination {
    Destination {
        tls: Some(TlsSettings {
            ca_pem: Some(ca_pem.to_owned()),
            server_name: server_name.to_owned(),
            client_auth: None,
            pins: Vec::new(),
        }),
        ..tcp(port)
    }
}

/// `tcp(port)` over RELP with the default window.
pub fn relp(port: u16) -> Destination {
    Destination {
        transport: Transport::Relp {
            window: aws_syslog_forwarder::config::DEFAULT_RELP_WINDOW,
        },
        ..tcp(port)
    }
}

/// A forwarder for `destination` (over TCP or RELP, as it says) that retries fast.
pub fn forwarder(destination: &Destination, settings: SyslogSettings) -> Forwarder<FileFindings> {
    let retry = RetryPolicy {
        window: destination.retry_for,
        retries: 2,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
    };
    forwarder_with_retry(destination, settings, retry)
}

pub fn forwarder_with_retry(
    destination: &Destination,
    settings: SyslogSettings,
    retry: RetryPolicy,
) -> Forwarder<FileFindings> {
    let findings =
        FileFindings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("events/findings.json"))
            .expect("events/findings.json loads");
    let sink = match destination.transport {
        Transport::Tcp => Sink::Syslog(Box::new(
            SyslogSender::new(destination)
                .expect("valid TLS settings")
                .with_retry(retry),
        )),
        Transport::Relp { window } => Sink::Relp(Box::new(
            RelpSender::new(destination, window)
                .expect("valid TLS settings")
                .with_retry(retry),
        )),
    };
    Forwarder::new(settings, findings, sink)
}

pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

/// The messages (without framing, octet-counted or LF) the forwarder sends for `raw_event`.
pub async fn expected_messages(
    forwarder: &Forwarder<FileFindings>,
    raw_event: &str,
) -> Vec<String> {
    let records = forwarder.records(raw_event).await.expect("event decodes");
    let batch = forwarder.batch(&records).expect("records format");
    let bytes = batch.bytes();
    // LF-framed messages start with their PRI; octet-counted ones with their length.
    let framing = if bytes.first() == Some(&b'<') {
        Framing::Lf
    } else {
        Framing::OctetCounting
    };
    super::encode::frames(framing, bytes)
}

/// rsyslog drops one trailing LF and writes the other control characters of a received message
/// as `#ooo`.
pub fn as_rsyslog_stores(message: &str) -> String {
    let message = message.strip_suffix('\n').unwrap_or(message);
    let mut out = String::with_capacity(message.len());
    for ch in message.chars() {
        if (ch as u32) < 0x20 {
            out.push_str(&format!("#{:03o}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

pub fn raws(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.raw.clone()).collect()
}

/// A CloudWatch Logs subscription event holding `messages` from one log group.
pub fn subscription(log_group: &str, messages: &[&str]) -> String {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!({"id": format!("{:056}", i), "timestamp": 1_795_341_600_000_i64 + i as i64, "message": m})
        })
        .collect();
    let data = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": log_group,
        "logStream": "stream-1", "subscriptionFilters": ["siem"], "logEvents": events,
    });
    super::encode::awslogs(&data.to_string())
}
