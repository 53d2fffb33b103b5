//! The fault-injection suite: the receiver misbehaves, the network fails, ECR throttles, and every
//! record is still either stored by rsyslog or reported undelivered; nothing is forged.
//!
//! Scenarios (numbered as in the delivery guarantees of the README):
//! 1 receiver down, 2 restart between warm invocations, 3 reset mid-batch, 4 window full,
//! 5 close right after the last record, 6 unknown CA, 7 wrong name, 8 expired certificate,
//! 9 mutual TLS, 10 pinning, 11 ECR throttling, 12 image deleted after the scan (`tests/moto_ecr.rs`),
//! 13 deadline too short, 14 LF forgery.

mod harness;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use aws_syslog_forwarder::config::{ClientAuth, ClientKey, Destination, TlsSettings};
use aws_syslog_forwarder::findings::{ECR_MAX_ATTEMPTS, EcrFindings, ecr_retry_config};
use aws_syslog_forwarder::handler::{ForwardError, Forwarder};
use aws_syslog_forwarder::syslog::{Framing, SyslogSettings};
use aws_syslog_forwarder::transport::{Sink, SyslogSender, TransportError};
use harness::faulty::{CountingRelay, Fault, FaultyProxy, SilentServer, SlowReader};
use harness::forwarding::*;
use harness::moto::{ACCOUNT, Moto, REGION, findings_response};
use harness::rsyslog::{Received, Rsyslog, RsyslogOptions};
use harness::throttle::ThrottlingFront;
use tokio::time::Instant;

/// Asserts that rsyslog stored every expected message at least once and nothing else (no forged,
/// truncated or merged record); returns how many duplicates the resends caused.
fn assert_none_lost_none_forged(stored: &[Received], expected: &[String]) -> usize {
    let mut wanted: HashMap<String, usize> =
        expected.iter().map(|m| (as_rsyslog_stores(m), 0)).collect();
    for message in stored {
        match wanted.get_mut(&message.raw) {
            Some(count) => *count += 1,
            None => panic!(
                "rsyslog stored a record that was never sent: {}",
                message.raw
            ),
        }
    }
    let lost: Vec<&String> = wanted
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(m, _)| m)
        .collect();
    assert!(
        lost.is_empty(),
        "{} records lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    stored.len() - expected.len()
}

/// Proves that nothing of an earlier, refused attempt was stored: a marker record sent afterwards
/// over plain TCP is the first and only thing rsyslog holds once it arrives (rsyslog stores what it
/// read from a connection before that connection is gone, and the refused one is gone by now).
async fn assert_nothing_stored_before_a_marker(rsyslog: &Rsyslog, already: usize) {
    let marker = subscription("/marker", &["nothing was stored before this marker"]);
    forwarder(&tcp(rsyslog.tcp_port), settings())
        .forward(&marker, deadline())
        .await
        .expect("the marker is delivered over plain TCP");
    let stored = rsyslog.wait_for(already + 1, WAIT);
    assert_eq!(stored.len(), already + 1, "{:#?}", &stored[already..]);
    assert!(
        stored[already..][0]
            .msg
            .ends_with("nothing was stored before this marker"),
        "{:?}",
        stored.last()
    );
}

/// A subscription event with `count` distinct ~400-byte log lines (about 1.2 MB of syslog).
fn large_subscription(count: usize) -> String {
    let lines: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "{{\"requestId\":\"{i:08}\",\"level\":\"INFO\",\"msg\":\"{}\"}}",
                "x".repeat(360)
            )
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    subscription("/aws/lambda/orders-api", &refs)
}

fn with_tls(destination: Destination, tls: TlsSettings) -> Destination {
    Destination {
        tls: Some(tls),
        ..destination
    }
}

fn tls_settings(ca_pem: Option<&str>) -> TlsSettings {
    TlsSettings {
        ca_pem: ca_pem.map(str::to_owned),
        server_name: "localhost".into(),
        client_auth: None,
        pins: Vec::new(),
    }
}

/// The SHA-256 fingerprint as `openssl x509 -noout -fingerprint -sha256` prints it.
fn openssl_fingerprint(cert_pem: &str) -> String {
    let dir = harness::test_dir("pin");
    let path = dir.join("cert.pem");
    std::fs::write(&path, cert_pem).expect("write cert.pem");
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&path)
        .output()
        .expect("openssl not found: run `make test`, which installs it");
    assert!(output.status.success(), "openssl failed");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

fn parse_pin(text: &str) -> [u8; 32] {
    let hex: String = text
        .rsplit('=')
        .next()
        .expect("fingerprint")
        .replace(':', "");
    let mut pin = [0u8; 32];
    for (i, byte) in pin.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    pin
}

#[tokio::test]
async fn s1_receiver_down_fails_and_says_none_was_delivered() {
    let port = harness::free_port();
    let forwarder = forwarder(&tcp(port), settings());
    let err = forwarder
        .forward(&event("cloudtrail-ecr.json"), deadline())
        .await
        .expect_err("nothing listens");
    let ForwardError::Delivery(delivery) = &err else {
        panic!("expected a delivery error, got {err}");
    };
    assert_eq!((delivery.delivered, delivery.failed), (0, 9));
    assert!(
        err.to_string().contains("0 of 9 records delivered"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn s2_receiver_restarted_between_warm_invocations_loses_nothing() {
    let mut rsyslog = Rsyslog::start();
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings());
    let first = event("cloudtrail-ecr.json");
    let second = event("ecr-image-scan.json");
    let mut expected = expected_messages(&forwarder, &first).await;
    expected.extend(expected_messages(&forwarder, &second).await);
    forwarder
        .forward(&first, deadline())
        .await
        .expect("first delivered");
    assert_eq!(rsyslog.wait_for(9, WAIT).len(), 9);

    rsyslog.restart();
    let outcome = forwarder
        .forward(&second, deadline())
        .await
        .expect("second delivered after reconnecting");
    assert_eq!(outcome.delivered, 8);
    let stored = rsyslog.wait_for(17, WAIT);
    assert_eq!(assert_none_lost_none_forged(&stored, &expected), 0);
}

#[tokio::test]
async fn s3_reset_mid_batch_resends_on_a_new_connection() {
    let rsyslog = Rsyslog::start();
    let proxy = FaultyProxy::start(rsyslog.tcp_port, vec![Fault::ResetAfter(300_000)]);
    let forwarder = forwarder(&tcp(proxy.port()), settings());
    let raw = large_subscription(2_000);
    let expected = expected_messages(&forwarder, &raw).await;
    let batch_bytes: usize = expected.iter().map(|m| m.len() + 6).sum();
    assert!(
        batch_bytes > 1_000_000,
        "the batch outgrows the first connection"
    );

    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered after the reset");
    assert_eq!(outcome.delivered, 2_000);
    assert_eq!(proxy.connections(), 2, "one reset, one reconnect");
    let stored = rsyslog.wait_for(2_000 + 600, WAIT);
    let duplicates = assert_none_lost_none_forged(&stored, &expected);
    assert!(
        duplicates > 0,
        "what the first connection carried is sent again"
    );
}

/// One reset after `reset_after` bytes of the first connection, while `count` records (more than
/// `min_bytes` formatted) are delivered: everything arrives on the reconnect, none lost or forged.
/// Returns the duplicates stored and the bytes of one record.
async fn reset_once_then_delivered(
    reset_after: usize,
    count: usize,
    min_bytes: usize,
) -> (usize, usize) {
    let rsyslog = Rsyslog::start();
    let proxy = FaultyProxy::start(rsyslog.tcp_port, vec![Fault::ResetAfter(reset_after)]);
    let forwarder = forwarder(&tcp(proxy.port()), settings());
    let raw = large_subscription(count);
    let expected = expected_messages(&forwarder, &raw).await;
    let batch_bytes: usize = expected.iter().map(|m| m.len() + 6).sum();
    assert!(
        batch_bytes > min_bytes,
        "{batch_bytes} bytes, wanted more than {min_bytes}"
    );

    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered after the reset");
    assert_eq!(outcome.delivered, count);
    assert_eq!(proxy.connections(), 2, "one reset, one reconnect");
    let stored = rsyslog.wait_for(count, WAIT);
    // Let any resent duplicates land before counting them.
    let stored = rsyslog.wait_for(stored.len() + 1, Duration::from_secs(1));
    let duplicates = assert_none_lost_none_forged(&stored, &expected);
    let per_record = batch_bytes / count;
    eprintln!(
        "reset after {reset_after} bytes: {duplicates} duplicates, {} bytes resent",
        duplicates * per_record
    );
    (duplicates, per_record)
}

/// What a reset makes the forwarder send again is bounded: the resend tail (4 MiB, what a
/// receiver may have held unread or unkept), what was unacknowledged (1 MiB) and one chunk and
/// record; what came before is not sent again.
const RESEND_BOUND: usize = 4 * 1024 * 1024 + 1024 * 1024 + 256 * 1024 + 1_000;

/// Records confirmed before a reset (4 MiB behind the acknowledged edge) are not sent again.
#[tokio::test]
async fn s3_a_reset_after_confirmed_segments_resends_only_the_unconfirmed_rest() {
    let (duplicates, per_record) = reset_once_then_delivered(8_000_000, 20_000, 8_500_000).await;
    let resent = duplicates * per_record;
    assert!(
        resent <= RESEND_BOUND,
        "{duplicates} duplicates ({resent} bytes) after a reset at 8 MB: resent more than the tail \
         and what was unacknowledged"
    );
}

/// A reset while a later batch is written (the batches before it confirmed, their tail kept):
/// nothing is lost, and what is resent stays within the same bound, not a batch.
#[tokio::test]
async fn s3_a_reset_in_a_later_batch_resends_only_what_was_unacknowledged() {
    // More than two batches.
    let (duplicates, per_record) = reset_once_then_delivered(9_000_000, 24_000, 10_000_000).await;
    assert!(
        duplicates * per_record <= RESEND_BOUND,
        "{duplicates} duplicates ({} bytes): resent more than the tail and what was \
         unacknowledged",
        duplicates * per_record
    );
}

/// A receiver lost for good in the middle of a batch: the error counts the records it confirmed
/// (4 MiB acknowledged after them, so the reset comes at 7 MB), and those records are stored.
#[tokio::test]
async fn s3_a_receiver_lost_mid_batch_reports_what_it_confirmed() {
    let rsyslog = Rsyslog::start();
    let faults = vec![
        Fault::ResetAfter(7_000_000),
        Fault::ResetAfter(0),
        Fault::ResetAfter(0),
        Fault::ResetAfter(0),
    ];
    let proxy = FaultyProxy::start(rsyslog.tcp_port, faults);
    let forwarder = forwarder(&tcp(proxy.port()), settings());
    let count = 20_000;
    let raw = large_subscription(count);
    let err = forwarder
        .forward(&raw, deadline())
        .await
        .expect_err("the receiver is gone");
    let ForwardError::Delivery(delivery) = &err else {
        panic!("{err}");
    };
    // After the failure nothing more is read: the records not yet formatted are not counted.
    if delivery.rest_unread {
        assert!(delivery.delivered + delivery.failed < count, "{err}");
        assert!(
            err.to_string().contains(&format!(
                "{} records delivered (confirmed by the receiver), the rest unconfirmed",
                delivery.delivered
            )),
            "{err}"
        );
    } else {
        assert_eq!(delivery.delivered + delivery.failed, count, "{err}");
        assert!(
            err.to_string().contains(&format!(
                "{} of {count} records delivered",
                delivery.delivered
            )),
            "{err}"
        );
    }
    assert!(
        delivery.delivered > 0 && delivery.delivered < count,
        "{err}"
    );
    assert_eq!(err.error_type(), "DeliveryFailed");
    let stored = rsyslog.wait_for(delivery.delivered, WAIT);
    assert!(
        stored.len() >= delivery.delivered,
        "{} stored, {} reported delivered",
        stored.len(),
        delivery.delivered
    );
}

#[tokio::test]
async fn s4_receiver_that_never_reads_fails_with_a_write_timeout() {
    let server = SilentServer::start();
    let destination = Destination {
        write_timeout: Duration::from_millis(500),
        ..tcp(server.port())
    };
    let forwarder = forwarder(&destination, settings());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    let err = forwarder
        .forward(&large_subscription(20_000), deadline)
        .await
        .expect_err("nothing is read");
    let text = err.to_string();
    assert!(
        text.contains("stopped reading") || text.contains("did not acknowledge"),
        "{text}"
    );
    // 8 MB of records: the failure comes while the second batch is formatted, so the rest of the
    // payload is neither read nor counted.
    assert!(text.contains("0 records delivered"), "{text}");
    assert!(text.contains("the rest unconfirmed"), "{text}");
    assert_eq!(server.connections(), 3, "first attempt and two reconnects");
    assert!(Instant::now() < deadline, "failed before the deadline");
}

/// A receiver that accepts and never reads, a 20 MB payload, and a write timeout longer than the
/// invocation: only the deadline ends the wait. The error comes before it, with what was confirmed,
/// and the rest of the payload is not inflated just to be counted.
#[tokio::test]
async fn s4b_a_stalled_receiver_fails_before_the_deadline_without_reading_on() {
    let server = SilentServer::start();
    let destination = Destination {
        write_timeout: Duration::from_secs(60),
        ..tcp(server.port())
    };
    let forwarder = forwarder(&destination, settings());
    let raw = large_subscription(52_000);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(6);
    let err = forwarder
        .forward(&raw, deadline)
        .await
        .expect_err("nothing is read");
    let finished = Instant::now();
    let text = err.to_string();
    assert!(text.contains("0 records delivered"), "{text}");
    assert!(text.contains("the rest unconfirmed"), "{text}");
    assert_eq!(err.error_type(), "DeadlineExceeded", "{text}");
    // The function keeps 750 ms of Lambda's deadline back (DEADLINE_MARGIN): what it answers
    // within 250 ms of the deadline it is given reaches Lambda at least 500 ms before its own.
    assert!(
        finished <= deadline + Duration::from_millis(250),
        "the error came {:?} after the deadline",
        finished - deadline
    );
}

#[tokio::test]
async fn s5_receiver_closing_right_after_the_last_record_is_never_a_silent_loss() {
    let rsyslog = Rsyslog::start();
    let forwarder_for = |port| forwarder(&tcp(port), settings());
    let raw = event("cloudtrail-ecr.json");
    let expected = expected_messages(&forwarder_for(rsyslog.tcp_port), &raw).await;
    let batch_bytes: usize = expected
        .iter()
        .map(|m| m.len() + m.len().to_string().len() + 1)
        .sum();

    // Reads everything, then closes in order: the receiver has it all; the next invocation
    // reconnects.
    let proxy = FaultyProxy::start(rsyslog.tcp_port, vec![Fault::CloseAfter(batch_bytes)]);
    let forwarder = forwarder_for(proxy.port());
    forwarder.forward(&raw, deadline()).await.expect("first");
    forwarder
        .forward(&raw, deadline())
        .await
        .expect("second, on a new connection");
    assert_eq!(proxy.connections(), 2);
    let stored = rsyslog.wait_for(18, WAIT);
    assert_eq!(stored.len(), 18, "each invocation's 9 records, once");
    assert_none_lost_none_forged(&stored, &expected);

    // Reads everything, then resets: when the reset is seen the batch is resent on a new
    // connection (9 more records), otherwise it was delivered once; never lost either way.
    let proxy = FaultyProxy::start(rsyslog.tcp_port, vec![Fault::ResetAfter(batch_bytes)]);
    forwarder_for(proxy.port())
        .forward(&raw, deadline())
        .await
        .expect("third");
    let total = match proxy.connections() {
        1 => 27,
        2 => 36,
        n => panic!("{n} connections for one reset"),
    };
    let stored = rsyslog.wait_for(total, WAIT);
    assert_eq!(stored.len(), total);
    assert_none_lost_none_forged(&stored, &expected);
}

#[tokio::test]
async fn s6_s7_tls_refuses_an_unknown_ca_and_a_wrong_name() {
    let rsyslog = Rsyslog::start();
    let other_ca = harness::certs::self_signed_other_ca();
    let cases = [
        (tls(rsyslog.tls_port, &other_ca, "localhost"), "unknown CA"),
        (
            tls(rsyslog.tls_port, &rsyslog.pki.ca_pem, "siem.example.com"),
            "expected name",
        ),
    ];
    for (destination, cause) in cases {
        // A transparent proxy counts the connection attempts the receiver sees.
        let proxy = CountingRelay::start(rsyslog.tls_port);
        let destination = Destination {
            port: proxy.port(),
            ..destination
        };
        let err = forwarder(&destination, settings())
            .forward(&event("ecr-image-action.json"), deadline())
            .await
            .expect_err("verification must fail");
        assert!(err.to_string().contains(cause), "{err}");
        assert!(
            err.to_string().contains("0 of 1 records delivered"),
            "{err}"
        );
        assert_eq!(err.error_type(), "ReceiverRefused");
        assert_eq!(proxy.connections(), 1, "a certificate error is not retried");
    }
    assert_nothing_stored_before_a_marker(&rsyslog, 0).await;
}

#[tokio::test]
async fn s8_tls_refuses_an_expired_certificate() {
    let rsyslog = Rsyslog::start_with(RsyslogOptions {
        expired_certificate: true,
        ..RsyslogOptions::default()
    });
    let destination = tls(rsyslog.tls_port, &rsyslog.pki.ca_pem, "localhost");
    let err = forwarder(&destination, settings())
        .forward(&event("ecr-image-action.json"), deadline())
        .await
        .expect_err("an expired certificate must be refused");
    assert!(err.to_string().contains("expired"), "{err}");
    assert_nothing_stored_before_a_marker(&rsyslog, 0).await;
}

#[tokio::test]
async fn s9_mutual_tls_delivers_with_the_client_certificate_and_fails_without() {
    for driver in ["gtls", "ossl"] {
        let rsyslog = Rsyslog::start_with(RsyslogOptions {
            tls_driver: driver,
            tls_auth_mode: "x509/certvalid",
            ..RsyslogOptions::default()
        });
        let raw = event("ecr-image-action.json");
        // A refused TLS 1.2 client shows as data never acknowledged: do not wait long for that.
        let base = Destination {
            write_timeout: Duration::from_secs(1),
            ..tcp(rsyslog.tls_port)
        };

        let without = with_tls(base.clone(), tls_settings(Some(&rsyslog.pki.ca_pem)));
        let err = forwarder(&without, settings())
            .forward(&raw, deadline())
            .await
            .expect_err("the receiver requires a client certificate");
        // TLS 1.3 (ossl): the receiver's alert arrives after the handshake and is named; TLS 1.2
        // (gtls): the receiver accepts the handshake and drops the data, which the error hints at
        // (unless the last attempt failed in the middle of a write).
        let ForwardError::Delivery(delivery) = &err else {
            panic!("{driver}: expected a delivery error, got {err}");
        };
        if !matches!(delivery.cause, TransportError::Write(_)) {
            assert!(
                err.to_string().contains("SYSLOG_TLS_CLIENT_CERT"),
                "{driver}: {err}"
            );
        }
        assert!(
            err.to_string().contains("0 of 1 records delivered"),
            "{driver}: {err}"
        );

        let (intruder_cert, intruder_key) = harness::certs::untrusted_client_cert();
        let untrusted = with_tls(
            base.clone(),
            TlsSettings {
                client_auth: Some(ClientAuth {
                    cert_pem: intruder_cert,
                    key: ClientKey::Pem(intruder_key),
                }),
                ..tls_settings(Some(&rsyslog.pki.ca_pem))
            },
        );
        forwarder(&untrusted, settings())
            .forward(&raw, deadline())
            .await
            .expect_err("a client certificate from another CA is refused");
        assert_nothing_stored_before_a_marker(&rsyslog, 0).await;

        let with = with_tls(
            base,
            TlsSettings {
                client_auth: Some(ClientAuth {
                    cert_pem: rsyslog.pki.client_cert_pem.clone(),
                    key: ClientKey::Pem(rsyslog.pki.client_key_pem.clone()),
                }),
                ..tls_settings(Some(&rsyslog.pki.ca_pem))
            },
        );
        let forwarder = forwarder(&with, settings());
        let expected = expected_messages(&forwarder, &raw).await;
        forwarder
            .forward(&raw, deadline())
            .await
            .unwrap_or_else(|e| panic!("{driver}: delivered with the client certificate: {e}"));
        let stored = rsyslog.wait_for(2, WAIT);
        assert_eq!(stored.len(), 2, "{driver}: the marker and the record");
        assert_eq!(
            assert_none_lost_none_forged(&stored[1..], &expected),
            0,
            "{driver}"
        );
    }
}

#[tokio::test]
async fn s10_pinned_certificate_is_delivered_to_and_another_is_refused() {
    let rsyslog = Rsyslog::start();
    let raw = event("ecr-image-action.json");
    let pin = parse_pin(&openssl_fingerprint(&rsyslog.pki.server_cert_pem));
    let pinned = |pins: Vec<[u8; 32]>, ca: Option<&str>, name: &str| {
        with_tls(
            tcp(rsyslog.tls_port),
            TlsSettings {
                pins,
                server_name: name.into(),
                ..tls_settings(ca)
            },
        )
    };

    let good = pinned(vec![[7; 32], pin], Some(&rsyslog.pki.ca_pem), "localhost");
    let forwarder_good = forwarder(&good, settings());
    let expected = expected_messages(&forwarder_good, &raw).await;
    forwarder_good
        .forward(&raw, deadline())
        .await
        .expect("pin matches");

    let mut other = pin;
    other[0] ^= 0xff;
    let err = forwarder(
        &pinned(vec![other], Some(&rsyslog.pki.ca_pem), "localhost"),
        settings(),
    )
    .forward(&raw, deadline())
    .await
    .expect_err("pin differs");
    assert!(err.to_string().contains("SYSLOG_TLS_PIN_SHA256"), "{err}");

    // A pin does not excuse a wrong name, and does not stand in for a CA the chain cannot reach.
    let err = forwarder(
        &pinned(vec![pin], Some(&rsyslog.pki.ca_pem), "siem.example.com"),
        settings(),
    )
    .forward(&raw, deadline())
    .await
    .expect_err("wrong name");
    assert!(err.to_string().contains("expected name"), "{err}");
    let err = forwarder(&pinned(vec![pin], None, "localhost"), settings())
        .forward(&raw, deadline())
        .await
        .expect_err("the CA-signed certificate's chain ends at an unknown CA");
    assert!(err.to_string().contains("unknown CA"), "{err}");

    let stored = rsyslog.wait_for(1, WAIT);
    assert_eq!(assert_none_lost_none_forged(&stored, &expected), 0);
}

#[tokio::test]
async fn s10_a_pin_stands_in_for_the_ca_of_a_self_signed_receiver() {
    let rsyslog = Rsyslog::start_with(RsyslogOptions {
        self_signed_certificate: true,
        ..RsyslogOptions::default()
    });
    let raw = event("ecr-image-action.json");
    let pin = parse_pin(&openssl_fingerprint(&rsyslog.pki.server_cert_pem));
    let destination = |pins: Vec<[u8; 32]>, name: &str| {
        with_tls(
            tcp(rsyslog.tls_port),
            TlsSettings {
                pins,
                server_name: name.into(),
                ..tls_settings(None)
            },
        )
    };

    let err = forwarder(&destination(Vec::new(), "localhost"), settings())
        .forward(&raw, deadline())
        .await
        .expect_err("self-signed without a pin");
    assert!(err.to_string().contains("unknown CA"), "{err}");
    let err = forwarder(&destination(vec![pin], "siem.example.com"), settings())
        .forward(&raw, deadline())
        .await
        .expect_err("the name is still checked");
    assert!(err.to_string().contains("expected name"), "{err}");

    let forwarder = forwarder(&destination(vec![pin], "localhost"), settings());
    let expected = expected_messages(&forwarder, &raw).await;
    forwarder
        .forward(&raw, deadline())
        .await
        .expect("pinned self-signed");
    let stored = rsyslog.wait_for(1, WAIT);
    assert_eq!(assert_none_lost_none_forged(&stored, &expected), 0);
}

fn ecr_client_through(front: &ThrottlingFront) -> aws_sdk_ecr::Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(aws_sdk_ecr::config::BehaviorVersion::latest())
        .endpoint_url(front.endpoint())
        .region(aws_sdk_ecr::config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        // The product's policy, with a short first backoff so the test does not sleep seconds.
        .retry_config(ecr_retry_config().with_initial_backoff(Duration::from_millis(20)))
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

fn scan_event(repository: &str, digest: &str) -> String {
    serde_json::json!({
        "version": "0", "id": "4f0e2b1c-7a3d-9e8f-1c2b-3d4e5f6a7b8c", "detail-type": "ECR Image Scan",
        "source": "aws.ecr", "account": ACCOUNT, "time": "2026-11-22T10:15:30Z", "region": REGION,
        "resources": [format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}")],
        "detail": {"scan-status": "COMPLETE", "repository-name": repository, "image-digest": digest,
                   "image-tags": ["v1"], "finding-severity-counts": {"CRITICAL": 1}},
    })
    .to_string()
}

#[tokio::test]
async fn s11_ecr_throttling_is_retried_and_fails_the_event_when_it_persists() {
    const REPOSITORY: &str = "payments-api";
    const DIGEST: &str = "sha256:160634c2f78652f33472b35da0673f4723a831089bbd29c4e38b2bd77a01af13";
    let moto = Moto::start();
    moto.push_scanned_image(REPOSITORY, DIGEST, "v1").await;
    moto.inject_findings(findings_response(REPOSITORY, DIGEST, 6, 3));
    let rsyslog = Rsyslog::start();
    let sender = || {
        Sink::Syslog(Box::new(
            SyslogSender::new(&tcp(rsyslog.tcp_port)).expect("sender"),
        ))
    };
    let raw = scan_event(REPOSITORY, DIGEST);

    let twice = ThrottlingFront::start(moto.port, 2);
    let forwarder = Forwarder::new(
        settings(),
        EcrFindings::with_client(ecr_client_through(&twice)),
        sender(),
    );
    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("throttled twice, then read");
    assert_eq!(outcome.delivered, 10, "9 findings and the summary");
    assert_eq!(twice.requests(), 3);
    let stored = rsyslog.wait_for(10, WAIT);
    assert_eq!(stored.len(), 10);
    assert_eq!(stored.iter().filter(|r| r.msgid == "finding").count(), 9);

    let forever = ThrottlingFront::start(moto.port, usize::MAX);
    let forwarder = Forwarder::new(
        settings(),
        EcrFindings::with_client(ecr_client_through(&forever)),
        sender(),
    );
    let err = forwarder
        .forward(&raw, deadline())
        .await
        .expect_err("throttled on every attempt");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    assert_eq!(forever.requests(), ECR_MAX_ATTEMPTS as usize);
    assert_nothing_stored_before_a_marker(&rsyslog, 10).await;
}

#[tokio::test]
async fn s13_deadline_too_short_for_the_backlog_fails_cleanly_before_it() {
    let reader = SlowReader::start(64 * 1024);
    let forwarder = forwarder(&tcp(reader.port()), settings());
    let event = large_subscription(2_000);
    let deadline = Instant::now() + Duration::from_secs(3);
    let err = forwarder
        .forward(&event, deadline)
        .await
        .expect_err("1.2 MB at 64 KiB/s takes longer than 3 s");
    let text = err.to_string();
    assert!(text.contains("deadline"), "{text}");
    assert!(text.contains("0 of 2000 records delivered"), "{text}");
    assert!(
        Instant::now() < deadline + Duration::from_millis(250),
        "returned at the deadline, not after it"
    );
    assert!(reader.read() > 0, "the receiver was being fed");
}

#[tokio::test]
async fn s14_lf_framing_cannot_forge_a_record() {
    let rsyslog = Rsyslog::start();
    let forwarder = forwarder(
        &tcp(rsyslog.tcp_port),
        SyslogSettings {
            framing: Framing::Lf,
            ..settings()
        },
    );
    let forged = "user input\n<131>1 2026-11-22T10:00:00.000Z evil app - - - Organisation:Evil,Event Source:AWS.ECR,forged";
    let raw = subscription("/app/web", &[forged, "next"]);
    let expected = expected_messages(&forwarder, &raw).await;
    forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");

    let stored = rsyslog.wait_for(3, Duration::from_secs(3));
    assert_eq!(
        stored.len(),
        2,
        "one record per log event: {:?}",
        raws(&stored)
    );
    assert!(stored[0].msg.ends_with(
        "user input#012<131>1 2026-11-22T10:00:00.000Z evil app - - - Organisation#072Evil,Event Source:AWS.ECR,forged"
    ));
    assert!(stored.iter().all(|r| r.hostname == "123456789012"));
    assert!(
        stored[0]
            .msg
            .starts_with("Organisation:Acme,Event Source:/app/web,user input")
    );
    let tenant =
        regex::Regex::new(r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),")
            .expect("regex");
    assert!(
        stored.iter().all(|r| tenant.captures(&r.msg).is_none()),
        "no forged tenant"
    );
    assert_eq!(assert_none_lost_none_forged(&stored, &expected), 0);
}

/// A TLS 1.2-only server (rustls) that demands a client certificate signed by `ca_pem`, answers
/// nothing after the handshake and counts the connections it accepted.
struct Tls12Demanding {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Tls12Demanding {
    async fn start(pki: &harness::certs::TestPki) -> Tls12Demanding {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::sync::Arc;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA");
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("client verifier");
        let chain = CertificateDer::pem_slice_iter(pki.server_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("server PEM");
        let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("TLS 1.2")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake ends here; an accepted one is read until the client goes.
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        let mut sink = Vec::new();
                        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tls, &mut sink).await;
                    }
                });
            }
        });
        Tls12Demanding {
            port,
            accepted,
            task,
        }
    }

    fn connections(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Tls12Demanding {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Without a client certificate, and with one from a CA the receiver does not trust.
fn refused_client_settings(ca_pem: &str) -> [(TlsSettings, &'static str); 2] {
    let (intruder_cert, intruder_key) = harness::certs::untrusted_client_cert();
    [
        (tls_settings(Some(ca_pem)), "without a client certificate"),
        (
            TlsSettings {
                client_auth: Some(ClientAuth {
                    cert_pem: intruder_cert,
                    key: ClientKey::Pem(intruder_key),
                }),
                ..tls_settings(Some(ca_pem))
            },
            "with an untrusted client certificate",
        ),
    ]
}

#[tokio::test]
async fn s9b_a_tls12_receiver_refusing_the_client_certificate_is_not_retried() {
    let raw = event("ecr-image-action.json");
    // rsyslog's gtls driver completes the handshake and only then checks the client certificate:
    // it ends the connection without an alert, over TLS 1.2 (forced) as over TLS 1.3.
    for priority in [Some("NORMAL:-VERS-TLS1.3"), None] {
        let rsyslog = Rsyslog::start_with(RsyslogOptions {
            tls_driver: "gtls",
            tls_auth_mode: "x509/certvalid",
            gnutls_priority: priority,
            ..RsyslogOptions::default()
        });
        for (settings_tls, case) in refused_client_settings(&rsyslog.pki.ca_pem) {
            let case = format!("{case}, {priority:?}");
            let relay = CountingRelay::start(rsyslog.tls_port);
            let destination = with_tls(tcp(relay.port()), settings_tls);
            let err = forwarder(&destination, settings())
                .forward(&raw, deadline())
                .await
                .expect_err("the receiver refuses this client");
            assert_eq!(
                err.error_type(),
                "ReceiverRefused",
                "rsyslog, {case}: {err}"
            );
            assert!(
                err.to_string().contains("right after the handshake")
                    && err.to_string().contains("SYSLOG_TLS_CLIENT_CERT")
                    && err.to_string().contains("0 of 1 records delivered"),
                "rsyslog, {case}: {err}"
            );
            assert_eq!(relay.connections(), 1, "rsyslog, {case}: no retry");
        }
        assert_nothing_stored_before_a_marker(&rsyslog, 0).await;
    }

    // A receiver that refuses during the TLS 1.2 handshake sends an alert (certificate_required,
    // bad_certificate or unknown_ca).
    let pki = harness::certs::generate(&["localhost", "127.0.0.1"]);
    let server = Tls12Demanding::start(&pki).await;
    let mut before = 0;
    for (settings_tls, case) in refused_client_settings(&pki.ca_pem) {
        let destination = with_tls(tcp(server.port), settings_tls);
        let err = forwarder(&destination, settings())
            .forward(&raw, deadline())
            .await
            .expect_err("the receiver refuses this client");
        assert_eq!(err.error_type(), "ReceiverRefused", "rustls, {case}: {err}");
        assert!(
            err.to_string().contains("SYSLOG_TLS_CLIENT_CERT"),
            "rustls, {case}: {err}"
        );
        assert_eq!(server.connections() - before, 1, "rustls, {case}: no retry");
        before = server.connections();
    }
    // The same server takes the certificate its CA signed: the refusals above were about it.
    let trusted = TlsSettings {
        client_auth: Some(ClientAuth {
            cert_pem: pki.client_cert_pem.clone(),
            key: ClientKey::Pem(pki.client_key_pem.clone()),
        }),
        ..tls_settings(Some(&pki.ca_pem))
    };
    forwarder(&with_tls(tcp(server.port), trusted), settings())
        .forward(&raw, deadline())
        .await
        .expect("delivered with the trusted client certificate");
}

/// A TCP relay in front of `upstream` that ends the connection right after the client's Finished
/// of a TLS 1.2 handshake (the first record after its ChangeCipherSpec), without passing it on:
/// the receiver's Finished never comes, as from a receiver that refuses the client there.
struct CloseAfterClientFinished {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CloseAfterClientFinished {
    async fn start(upstream: u16) -> CloseAfterClientFinished {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let (mut client_in, mut client_out) = client.into_split();
                    let (mut server_in, mut server_out) = server.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_in, &mut client_out).await;
                    });
                    let mut after_change_cipher_spec = false;
                    loop {
                        let mut header = [0u8; 5];
                        if client_in.read_exact(&mut header).await.is_err() {
                            break;
                        }
                        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
                        let mut body = vec![0u8; length];
                        if client_in.read_exact(&mut body).await.is_err() {
                            break;
                        }
                        if after_change_cipher_spec {
                            break; // the client's Finished: drop it and the connection
                        }
                        after_change_cipher_spec = header[0] == 20;
                        if server_out.write_all(&header).await.is_err()
                            || server_out.write_all(&body).await.is_err()
                        {
                            break;
                        }
                    }
                    back.abort();
                });
            }
        });
        CloseAfterClientFinished {
            port,
            accepted,
            task,
        }
    }
}

impl Drop for CloseAfterClientFinished {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn s9c_a_tls12_receiver_closing_right_after_our_finished_is_not_retried() {
    let pki = harness::certs::generate(&["localhost", "127.0.0.1"]);
    let server = Tls12Demanding::start(&pki).await;
    let relay = CloseAfterClientFinished::start(server.port).await;
    for (client_auth, case) in [
        (None, "without a client certificate"),
        (
            Some(ClientAuth {
                cert_pem: pki.client_cert_pem.clone(),
                key: ClientKey::Pem(pki.client_key_pem.clone()),
            }),
            "with a client certificate",
        ),
    ] {
        let before = relay.accepted.load(std::sync::atomic::Ordering::SeqCst);
        let with_auth = client_auth.is_some();
        let tls = TlsSettings {
            client_auth,
            ..tls_settings(Some(&pki.ca_pem))
        };
        let err = forwarder(&with_tls(tcp(relay.port), tls), settings())
            .forward(&event("ecr-image-action.json"), deadline())
            .await
            .expect_err("the handshake never completes");
        let text = err.to_string();
        assert_eq!(err.error_type(), "ReceiverRefused", "{case}: {text}");
        assert!(text.contains("right after our Finished"), "{case}: {text}");
        assert_eq!(
            text.contains("SYSLOG_TLS_CLIENT_KEY"),
            !with_auth,
            "{case}: the hint fits the case: {text}"
        );
        let connections = relay.accepted.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(connections, 1, "{case}: no retry");
    }
    // A receiver that is simply not there is still retried: only a close after our last flight
    // is a refusal.
    let silent = harness::faulty::CountingRelay::start(harness::free_port());
    let err = forwarder(
        &with_tls(tcp(silent.port()), tls_settings(Some(&pki.ca_pem))),
        settings(),
    )
    .forward(&event("ecr-image-action.json"), deadline())
    .await
    .expect_err("nobody behind the relay");
    assert_eq!(err.error_type(), "DeliveryFailed", "{err}");
    assert_eq!(silent.connections(), 3, "first attempt and two reconnects");
}
