//! Delivery to a real rsyslog over TCP and TLS: what rsyslog stores is exactly what was sent, and the
//! SIEM's extraction regexes find tenant and source in it.

mod harness;

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
