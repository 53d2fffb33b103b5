//! Detections end to end: a subscription payload of mixed CloudTrail records and ordinary log lines
//! goes to a real rsyslog, which stores the raised severities and the detection element, with every
//! message body unchanged.

mod harness;

use aws_syslog_forwarder::detections::Detections;
use harness::forwarding::*;
use harness::rsyslog::Rsyslog;

fn fixture(name: &str) -> String {
    let path = harness::project_root()
        .join("tests/fixtures/detections")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    // CloudTrail delivers each record as one line of compact JSON.
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => value.to_string(),
        Err(_) => text.trim_end().to_owned(),
    }
}

#[tokio::test]
async fn mixed_payload_arrives_with_severities_and_detection_elements() {
    let rsyslog = Rsyslog::start();
    let lines = [
        fixture("forced-repository-delete"),
        "GET /health 200 3ms".to_owned(),
        fixture("policy-public"),
        fixture("negative-unrelated-service"),
        fixture("image-pushed"),
        fixture("negative-malformed"),
        fixture("failed-forced-repository-delete"),
        fixture("negative-tag-immutable"),
        fixture("lifecycle-policy-first-priority"),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let raw = subscription("aws-cloudtrail-logs-123456789012", &refs);
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings())
        .with_detections(Some(Detections::new(&[], Some("aws@32473"))));
    let expected = expected_messages(&forwarder, &raw).await;
    forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");

    let stored = rsyslog.wait_for(lines.len(), WAIT);
    assert_eq!(
        stored.iter().map(|r| r.raw.clone()).collect::<Vec<_>>(),
        expected
            .iter()
            .map(|m| as_rsyslog_stores(m))
            .collect::<Vec<_>>(),
        "stored exactly as sent"
    );
    let expectations: [(u8, Option<&str>); 9] = [
        (2, Some("ecr-forced-repository-delete")),
        (6, None),
        (1, Some("ecr-policy-public,ecr-repository-policy-changed")),
        (6, None),
        (6, Some("ecr-image-pushed")),
        (6, None),
        (3, Some("ecr-forced-repository-delete")),
        (6, None),
        (3, Some("ecr-lifecycle-policy-put")),
    ];
    for ((message, line), (severity, rule)) in stored.iter().zip(&lines).zip(expectations) {
        assert_eq!(message.severity, severity, "{}", message.raw);
        assert!(
            message.msg.ends_with(line.as_str()),
            "MSG unchanged: {}",
            message.msg
        );
        match rule {
            Some(rule) => {
                assert!(
                    message
                        .sd
                        .contains(&format!("[detection@32473 rule=\"{rule}\"")),
                    "{}",
                    message.sd
                );
                assert!(message.sd.starts_with("[aws@32473 "), "{}", message.sd);
            }
            None => assert!(!message.sd.contains("detection@"), "{}", message.sd),
        }
    }
    assert!(
        stored[0]
            .sd
            .contains("technique=\"T1485\" tactic=\"TA0040\" outcome=\"success\"")
    );
    assert!(stored[6].sd.contains("outcome=\"failure\""));
    assert!(stored[2].sd.contains(
        "principal=\"arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice\" sourceIp=\"203.0.113.24\""
    ));
}
