//! Delivery to a real rsyslog over TCP and TLS: what rsyslog stores is exactly what was sent, and the
//! SIEM's extraction regexes find tenant and source in it.

mod harness;

use std::time::Duration;

use aws_syslog_forwarder::handler::ForwardError;
use aws_syslog_forwarder::syslog::{Framing, SyslogSettings};
use harness::forwarding::*;
use harness::rsyslog::{Received, Rsyslog, RsyslogOptions};
use regex::Regex;

const FINDING_REGEX: &str = r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),";
const CLOUDTRAIL_REGEX: &str =
    r#"Organisation:(?P<Tenant>[^,]+).*?"eventSource":"(?P<Computer>[^"]+)"#;

#[tokio::test]
async fn tcp_delivers_cloudtrail_records_exactly() {
    let rsyslog = Rsyslog::start();
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings());
    let raw = event("cloudtrail-ecr.json");
    let expected = expected_messages(&forwarder, &raw).await;
    assert_eq!(expected.len(), 9);

    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");
    assert_eq!((outcome.records, outcome.delivered), (9, 9));

    let received = rsyslog.wait_for(9, WAIT);
    assert_eq!(
        raws(&received),
        expected,
        "rsyslog stores exactly what was sent"
    );
    let cloudtrail = Regex::new(CLOUDTRAIL_REGEX).unwrap();
    let mut sources = Vec::new();
    for r in &received {
        let caps = cloudtrail
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("regex misses {}", r.msg));
        assert_eq!(&caps["Tenant"], "Acme");
        sources.push(caps["Computer"].to_owned());
        assert_eq!(r.hostname, "123456789012");
        assert_eq!(r.severity, 6);
        assert_eq!(r.facility, 16);
        assert!(
            r.sd.starts_with("[aws@32473 account=\"123456789012\""),
            "{}",
            r.sd
        );
    }
    assert_eq!(
        sources.iter().filter(|s| *s == "ecr.amazonaws.com").count(),
        8
    );
    assert_eq!(
        sources.iter().filter(|s| *s == "sts.amazonaws.com").count(),
        1
    );
}

#[tokio::test]
async fn tls_delivers_every_finding_and_the_summary() {
    let rsyslog = Rsyslog::start();
    let destination = tls(rsyslog.tls_port, &rsyslog.pki.ca_pem, "localhost");
    let forwarder = forwarder(&destination, settings());
    let raw = event("ecr-image-scan.json");
    let expected = expected_messages(&forwarder, &raw).await;
    assert_eq!(expected.len(), 8, "4 basic + 3 enhanced findings + summary");

    forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");

    let received = rsyslog.wait_for(8, WAIT);
    assert_eq!(raws(&received), expected);
    let finding = Regex::new(FINDING_REGEX).unwrap();
    for r in &received {
        let caps = finding
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("regex misses {}", r.msg));
        assert_eq!((&caps["tenant"], &caps["computer"]), ("Acme", "AWS.ECR"));
    }
    let severities: Vec<u8> = received.iter().map(|r| r.severity).collect();
    assert_eq!(severities, vec![2, 3, 4, 5, 3, 4, 6, 2]);
    assert_eq!(received[7].msgid, "scanSummary");
}

#[tokio::test]
async fn tls13_connection_is_reused_across_invocations() {
    let rsyslog = Rsyslog::start_with(RsyslogOptions {
        tls_driver: "ossl",
        ..RsyslogOptions::default()
    });
    let destination = tls(rsyslog.tls_port, &rsyslog.pki.ca_pem, "127.0.0.1");
    let forwarder = forwarder(&destination, settings());
    for name in [
        "ecr-image-action.json",
        "ecr-image-scan-failed.json",
        "cloudtrail-ecr.json",
    ] {
        forwarder
            .forward(&event(name), deadline())
            .await
            .expect("delivered");
    }
    let received = rsyslog.wait_for(11, WAIT);
    assert_eq!(received.len(), 11);
    assert_eq!(received[0].app_name, "aws.ecr");
    assert_eq!(received[1].msgid, "scanSummary");
}

#[tokio::test]
async fn long_records_arrive_as_complete_parts_within_rsyslogs_limit() {
    let rsyslog = Rsyslog::start_with(RsyslogOptions {
        max_message_size: 8192,
        ..RsyslogOptions::default()
    });
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings());
    let raw = event("cloudwatch-app-logs.json");
    let expected = expected_messages(&forwarder, &raw).await;
    assert_eq!(expected.len(), 7, "6 log events, one of them split in two");

    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");
    assert_eq!((outcome.records, outcome.messages), (6, 7));

    let received = rsyslog.wait_for(7, WAIT);
    let stored: Vec<String> = received.iter().map(|r| r.raw.clone()).collect();
    let sent: Vec<String> = expected.iter().map(|m| as_rsyslog_stores(m)).collect();
    assert_eq!(stored, sent, "no part truncated, no junk record");
    let parts: Vec<&Received> = received
        .iter()
        .filter(|r| r.msg.contains(",Part:"))
        .collect();
    assert_eq!(parts.len(), 2);
    assert!(
        parts[0]
            .msg
            .starts_with("Organisation:Acme,Event Source:/aws/lambda/orders-api,Part:1/2,")
    );
    assert!(
        parts[1]
            .msg
            .starts_with("Organisation:Acme,Event Source:/aws/lambda/orders-api,Part:2/2,")
    );
}

#[tokio::test]
async fn lf_framing_cannot_forge_a_record() {
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
    forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");

    let received = rsyslog.wait_for(3, Duration::from_secs(3));
    assert_eq!(
        received.len(),
        2,
        "one record per log event: {:?}",
        raws(&received)
    );
    assert!(received[0].msg.ends_with("user input#012<131>1 2026-11-22T10:00:00.000Z evil app - - - Organisation:Evil,Event Source:AWS.ECR,forged"));
    assert!(received.iter().all(|r| r.hostname == "123456789012"));
    assert!(
        received[0]
            .msg
            .starts_with("Organisation:Acme,Event Source:/app/web,user input")
    );
}

#[tokio::test]
async fn receiver_restart_between_invocations_loses_nothing() {
    let mut rsyslog = Rsyslog::start();
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings());
    forwarder
        .forward(&event("cloudtrail-ecr.json"), deadline())
        .await
        .expect("first delivered");
    assert_eq!(rsyslog.wait_for(9, WAIT).len(), 9);

    rsyslog.restart();
    let outcome = forwarder
        .forward(&event("ecr-image-scan.json"), deadline())
        .await
        .expect("second delivered after reconnecting");
    assert_eq!(outcome.delivered, 8);
    let received = rsyslog.wait_for(17, WAIT);
    assert_eq!(received.len(), 17);
    assert_eq!(received.iter().filter(|r| r.msgid == "finding").count(), 7);
}

#[tokio::test]
async fn receiver_down_fails_and_says_how_many_were_delivered() {
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
async fn tls_refuses_an_unknown_ca_and_a_wrong_name() {
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
        let started = std::time::Instant::now();
        let err = forwarder(&destination, settings())
            .forward(&event("ecr-image-action.json"), deadline())
            .await
            .expect_err("verification must fail");
        assert!(err.to_string().contains(cause), "{err}");
        assert!(
            err.to_string().contains("0 of 1 records delivered"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a certificate error is not retried"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        rsyslog.received().is_empty(),
        "nothing reaches the receiver"
    );
}

#[tokio::test]
async fn tls_refuses_an_expired_certificate() {
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
    std::thread::sleep(Duration::from_millis(300));
    assert!(rsyslog.received().is_empty());
}
