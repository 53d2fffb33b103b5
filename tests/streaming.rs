//! Payloads far larger than one batch go through the streaming path into a real rsyslog: every record
//! arrives once, and a payload that turns out broken after some batches were delivered says so.

mod harness;

use aws_syslog_forwarder::handler::ForwardError;
use harness::encode::{base64, gzip};
use harness::forwarding::*;
use harness::rsyslog::Rsyslog;
use serde_json::json;

/// Log data of `count` distinct ~500-byte lines.
fn log_data(count: usize) -> String {
    let events: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            json!({"id": format!("{i:056}"), "timestamp": 1_795_341_600_000_i64 + i as i64,
                   "message": format!("{{\"line\":{i},\"pad\":\"{}\"}}", "p".repeat(470))})
        })
        .collect();
    json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/bulk",
           "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events})
    .to_string()
}

fn awslogs(compressed: &[u8]) -> String {
    json!({"awslogs": {"data": base64(compressed)}}).to_string()
}

#[tokio::test]
async fn a_payload_of_many_batches_arrives_whole_and_once() {
    let rsyslog = Rsyslog::start();
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings());
    let count = 20_000;
    let data = log_data(count);
    assert!(data.len() > 9 * 1024 * 1024, "more than two batches");
    let raw = awslogs(&gzip(data.as_bytes()));
    let expected = expected_messages(&forwarder, &raw).await;

    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");
    assert_eq!((outcome.records, outcome.delivered), (count, count));
    let stored = rsyslog.wait_for(count, WAIT * 3);
    assert_eq!(stored.len(), count);
    let sent: Vec<String> = expected.iter().map(|m| as_rsyslog_stores(m)).collect();
    assert_eq!(
        raws(&stored),
        sent,
        "in order, each once, exactly as the serde path formats them"
    );
}

#[tokio::test]
async fn a_payload_broken_after_its_first_batches_reports_what_was_delivered() {
    let rsyslog = Rsyslog::start();
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings());
    let count = 20_000;
    let mut compressed = gzip(log_data(count).as_bytes());
    compressed.truncate(compressed.len() - 2_000);
    let err = forwarder
        .forward(&awslogs(&compressed), deadline())
        .await
        .expect_err("a truncated payload is an error");
    let ForwardError::PartlyDelivered { delivered, error } = &err else {
        panic!("{err}");
    };
    assert!(*delivered > 0 && *delivered < count, "{err}");
    assert!(err.to_string().contains("not valid gzip"), "{err}");
    assert_eq!(err.error_type(), "DecodeError", "{error}");
    let stored = rsyslog.wait_for(*delivered, WAIT * 3);
    assert_eq!(
        stored.len(),
        *delivered,
        "exactly the delivered records are stored"
    );
}
