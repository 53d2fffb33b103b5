//! Kinesis and SQS batches through the built binary under cargo-lambda's Runtime API emulator into a
//! real rsyslog: partial batch responses name exactly what was not delivered.

mod harness;

use std::path::Path;
use std::time::Duration;

use harness::batches::*;
use harness::emulator::{Emulator, FunctionProcess};
use harness::encode::gzip;
use harness::faulty::{Fault, FaultyProxy};
use harness::rsyslog::{Received, Rsyslog};
use regex::Regex;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);
const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";

fn start_function(emulator: &Emulator, port: u16) -> FunctionProcess {
    start_function_with(emulator, port, &[])
}

fn start_function_with(emulator: &Emulator, port: u16, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut env: Vec<(String, String)> = vec![
        ("ORGANISATION".into(), "Acme".into()),
        ("SYSLOG_HOST".into(), "127.0.0.1".into()),
        ("SYSLOG_PORT".into(), port.to_string()),
        ("SYSLOG_TLS".into(), "false".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    emulator.start_function(Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")), &env)
}

/// Invokes with `event`; returns the function's response.
fn invoke(emulator: &Emulator, function: &FunctionProcess, event: &str) -> Value {
    emulator.invoke_event(function, event)
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures list: {response}"))
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("itemIdentifier")
                .to_owned()
        })
        .collect()
}

fn lines(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"level":"INFO","msg":"{prefix} line {i}"}}"#))
        .collect()
}

fn gz_log_data(owner: &str, group: &str, first_id: usize, messages: &[String]) -> Vec<u8> {
    gzip(
        log_data(owner, group, first_id, messages)
            .to_string()
            .as_bytes(),
    )
}

fn messages_containing<'a>(received: &'a [Received], text: &str) -> Vec<&'a Received> {
    received.iter().filter(|r| r.msg.contains(text)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kinesis_and_sqs_batches_report_exactly_what_was_not_delivered() {
    let rsyslog = Rsyslog::start();
    let emulator = Emulator::start();
    let function = start_function(&emulator, rsyslog.tcp_port);

    // A central stream: two source accounts, a control message, a record from another producer.
    let (event, _) = kinesis_event(&[
        gz_log_data(ACCOUNT_A, "/aws/lambda/orders", 0, &lines("orders", 3)),
        gzip(control_data().to_string().as_bytes()),
        gz_log_data(ACCOUNT_B, "/ecs/payments", 100, &lines("payments", 2)),
        br#"{"producer":"app","event":"signup"}"#.to_vec(),
        gz_log_data(ACCOUNT_A, "/aws/lambda/orders", 200, &lines("orders-2", 1)),
    ]);
    let response = invoke(&emulator, &function, &event);
    assert_eq!(response, json!({"batchItemFailures": []}));
    let received = rsyslog.wait_for(3 + 2 + 1 + 1, WAIT);
    assert_eq!(received.len(), 7, "{received:#?}");
    let tenant =
        Regex::new(r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<source>[^,]+),").unwrap();
    for r in &received {
        let caps = tenant
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("untagged: {}", r.msg));
        assert_eq!(&caps["tenant"], "Acme");
    }
    for r in messages_containing(&received, "orders") {
        assert_eq!(r.hostname, ACCOUNT_A, "HOSTNAME is the source account");
        assert!(
            r.msg.contains("Event Source:/aws/lambda/orders,"),
            "{}",
            r.msg
        );
    }
    for r in messages_containing(&received, "payments line") {
        assert_eq!(r.hostname, ACCOUNT_B);
        assert!(
            r.sd.contains(&format!("account=\"{ACCOUNT_B}\"")),
            "{}",
            r.sd
        );
    }
    let produced = messages_containing(&received, "signup");
    assert_eq!(produced.len(), 1);
    assert_eq!(produced[0].hostname, "999988887777", "the stream's account");
    assert!(
        produced[0].msg.contains("Event Source:central-logs,"),
        "{}",
        produced[0].msg
    );
    assert!(
        produced[0]
            .msg
            .ends_with(r#"{"producer":"app","event":"signup"}"#)
    );
    assert!(
        produced[0]
            .sd
            .contains("id=\"495903382714902566085596925383615710959215759891365800"),
        "{}",
        produced[0].sd
    );
    assert!(
        produced[0].timestamp.starts_with("2026-11-22T10:00:03.5"),
        "{}",
        produced[0].timestamp
    );

    // A corrupt record (neither gzip nor UTF-8) can never be decoded: it is forwarded base64-encoded
    // and the shard goes on past it.
    let (event, sequences) = kinesis_event(&[
        gz_log_data(
            ACCOUNT_A,
            "/aws/lambda/orders",
            300,
            &lines("before-corrupt", 2),
        ),
        vec![0xff, 0xfe, 0x00, 0x80],
        gz_log_data(
            ACCOUNT_A,
            "/aws/lambda/orders",
            400,
            &lines("after-corrupt", 2),
        ),
    ]);
    let response = invoke(&emulator, &function, &event);
    assert!(failures(&response).is_empty(), "{response}");
    let received = rsyslog.wait_for(7 + 5, WAIT);
    assert_eq!(messages_containing(&received, "before-corrupt").len(), 2);
    assert_eq!(messages_containing(&received, "after-corrupt").len(), 2);
    let corrupt = messages_containing(&received, "//4AgA==");
    assert_eq!(corrupt.len(), 1, "{received:#?}");
    assert!(
        corrupt[0].sd.contains(&format!("id=\"{}\"", sequences[1])),
        "{}",
        corrupt[0].sd
    );
    let received = rsyslog.wait_for(7 + 6, Duration::from_secs(1));
    assert_eq!(received.len(), 12);

    // The failure queue redriven: a failure-destination record delivers its original event; an
    // undecodable body is reported and the others are not held back by it.
    let original = awslogs_event(&log_data(
        ACCOUNT_B,
        "/ecs/payments",
        500,
        &lines("redriven", 3),
    ));
    let eventbridge = json!({"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "ECR Image Action", "source": "aws.ecr", "account": ACCOUNT_A,
        "time": "2026-11-22T10:15:30Z", "region": "eu-west-1", "resources": [],
        "detail": {"action-type": "PUSH", "result": "SUCCESS", "repository-name": "redrive-check"}})
    .to_string();
    let (event, ids) = sqs_event(&[
        failure_record(&original),
        "this is not an event".to_owned(),
        eventbridge,
    ]);
    let response = invoke(&emulator, &function, &event);
    assert_eq!(failures(&response), vec![ids[1].clone()]);
    let received = rsyslog.wait_for(12 + 4, WAIT);
    assert_eq!(received.len(), 16, "{:#?}", received.last());
    assert_eq!(messages_containing(&received, "redriven line").len(), 3);
    assert_eq!(messages_containing(&received, "redrive-check").len(), 1);

    let log = function.log();
    assert!(log.contains("\"BatchItemsIn\":3"), "{log}");
    assert!(log.contains("\"BatchItemsFailed\":1"), "{log}");
    assert!(log.contains("\"IteratorAgeMs\":"), "{log}");

    // An EventBridge rule publishing to an SNS topic the queue subscribes to: the event inside the
    // notification is forwarded whole, at the severity the finding states (8 is high: 3).
    let finding = json!({"version": "0", "id": "c1f3a7e2-5b9d-4e08-a6c4-2d7e9f1b3a55",
        "detail-type": "GuardDuty Finding", "source": "aws.guardduty", "account": ACCOUNT_A,
        "time": "2026-11-22T10:15:31Z", "region": "eu-west-1", "resources": [],
        "detail": {"schemaVersion": "2.0", "severity": 8, "type": "Recon:EC2/PortProbeUnprotectedPort",
                   "title": "sns-fanout-check"}})
    .to_string();
    let notification =
        json!({"Type": "Notification", "MessageId": "5b7a1c9e-2f4d-4a36-8e1b-9c0d7f6a2e41",
        "TopicArn": format!("arn:aws:sns:eu-west-1:{ACCOUNT_A}:security-findings"),
        "Message": finding, "Timestamp": "2026-11-22T10:15:32.000Z", "SignatureVersion": "1"})
        .to_string();
    let (event, _) = sqs_event(&[notification]);
    let response = invoke(&emulator, &function, &event);
    assert!(failures(&response).is_empty(), "{response}");
    let received = rsyslog.wait_for(16 + 1, WAIT);
    let forwarded = messages_containing(&received, "sns-fanout-check");
    assert_eq!(forwarded.len(), 1, "{:#?}", received.last());
    assert_eq!(forwarded[0].severity, 3);
    assert!(
        forwarded[0].msg.contains("Event Source:aws.guardduty,"),
        "{}",
        forwarded[0].msg
    );
}

/// The receiver resets in the middle of a large Kinesis batch and stays away (longer than
/// SYSLOG_RETRY_SECONDS): the first item not confirmed is reported, every item before it is
/// stored. A record counts once 4 MiB are acknowledged after it, so the reset comes at 7 MB.
#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_lost_mid_batch_reports_the_first_unconfirmed_kinesis_record() {
    let rsyslog = Rsyslog::start();
    let mut faults = vec![Fault::ResetAfter(7_000_000)];
    faults.extend([Fault::ResetAfter(0); 8]);
    let proxy = FaultyProxy::start(rsyslog.tcp_port, faults);
    let emulator = Emulator::start();
    let function = start_function_with(&emulator, proxy.port(), &[("SYSLOG_RETRY_SECONDS", "1")]);

    let items = 60;
    let per_item = 400;
    let datas: Vec<Vec<u8>> = (0..items)
        .map(|item| {
            let messages: Vec<String> = (0..per_item)
                .map(|i| {
                    format!(
                        r#"{{"item":{item},"line":{i},"pad":"{}"}}"#,
                        "x".repeat(400)
                    )
                })
                .collect();
            gz_log_data(ACCOUNT_A, "/aws/lambda/bulk", item * per_item, &messages)
        })
        .collect();
    let (event, sequences) = kinesis_event(&datas);
    let response = invoke(&emulator, &function, &event);
    let failed = failures(&response);
    assert_eq!(
        failed.len(),
        1,
        "only the first unconfirmed record: {response}"
    );
    let first_failed = sequences
        .iter()
        .position(|s| *s == failed[0])
        .expect("a sequence number of the batch");
    assert!(
        first_failed > 0 && first_failed < items,
        "about 2.8 MB was confirmed before the reset: {first_failed}"
    );
    let received = rsyslog.wait_for(first_failed * per_item, WAIT);
    for item in 0..first_failed {
        let marker = format!(r#""item":{item},"#);
        let stored = messages_containing(&received, &marker).len();
        assert!(
            stored >= per_item,
            "item {item}: {stored} of {per_item} records stored"
        );
    }
    let log = function.log();
    assert!(log.contains("\"BatchItemsFailed\":1"), "{log}");
}

/// Data that can never be decoded (binary, gzip that does not inflate, a KPL aggregate with a wrong
/// digest, a binary KPL user record) is forwarded base64-encoded, KPL aggregates are de-aggregated,
/// and the function's own log group is skipped: nothing is reported, so the shard goes on.
#[tokio::test(flavor = "multi_thread")]
async fn undecodable_aggregated_and_own_kinesis_records_never_block_the_shard() {
    let rsyslog = Rsyslog::start();
    let emulator = Emulator::start();
    let function = start_function(&emulator, rsyslog.tcp_port);

    let mut broken_gzip = gz_log_data(ACCOUNT_A, "/aws/lambda/orders", 0, &lines("lost", 50));
    broken_gzip.truncate(broken_gzip.len() / 2);
    let aggregate = kpl_aggregate(
        &["user-a", "user-b"],
        &[
            (0, br#"{"kpl":"text one"}"#),
            (
                1,
                &gz_log_data(ACCOUNT_B, "/ecs/kpl", 700, &lines("kpl-cw", 2)),
            ),
            (1, &[0xff, 0x00, 0xfe]),
        ],
    );
    let mut bad_digest = kpl_aggregate(&["k"], &[(0, b"never seen")]);
    let last = bad_digest.len() - 1;
    bad_digest[last] ^= 0xff;
    let (event, sequences) = kinesis_event(&[
        gz_log_data(ACCOUNT_A, "/aws/lambda/orders", 0, &lines("first", 2)),
        vec![0xff, 0xfe, 0x00, 0x80],
        broken_gzip,
        aggregate,
        bad_digest,
        gz_log_data(ACCOUNT_A, "/aws/lambda/forwarder", 800, &lines("own", 3)),
        br#"{"after":"all"}"#.to_vec(),
    ]);
    let response = invoke(&emulator, &function, &event);
    assert_eq!(response, json!({"batchItemFailures": []}));
    let received = rsyslog.wait_for(10, WAIT);
    let extra = rsyslog.wait_for(11, Duration::from_secs(1));
    assert_eq!(extra.len(), 10, "{extra:#?}");
    assert_eq!(messages_containing(&received, "first line").len(), 2);
    assert_eq!(messages_containing(&received, "kpl-cw line").len(), 2);
    assert!(messages_containing(&received, "own line").is_empty());
    assert!(messages_containing(&received, "lost line").is_empty());
    assert_eq!(
        messages_containing(&received, r#"{"after":"all"}"#).len(),
        1
    );

    let undecodable: Vec<&Received> = received
        .iter()
        .filter(|r| r.sd.contains("encoding=\"base64\""))
        .collect();
    assert_eq!(undecodable.len(), 4, "{undecodable:#?}");
    for r in &undecodable {
        assert!(r.msg.contains("Event Source:central-logs,"), "{}", r.msg);
        assert!(r.sd.contains("reason=\""), "{}", r.sd);
    }
    let by_id = |id: &str| -> &Received {
        received
            .iter()
            .find(|r| r.sd.contains(&format!("id=\"{id}\"")))
            .unwrap_or_else(|| panic!("no record with id {id}: {received:#?}"))
    };
    let binary = by_id(&sequences[1]);
    assert!(binary.msg.ends_with(",//4AgA=="), "{}", binary.msg);
    assert!(
        binary
            .sd
            .contains("reason=\"neither gzip, nor KPL, nor UTF-8 text\""),
        "{}",
        binary.sd
    );
    assert!(
        by_id(&sequences[2])
            .sd
            .contains("reason=\"gzip that does not inflate\""),
        "{}",
        by_id(&sequences[2]).sd
    );
    let digest = by_id(&sequences[4]);
    assert!(digest.sd.contains("MD5"), "{}", digest.sd);
    let user_text = by_id(&format!("{}:0", sequences[3]));
    assert!(user_text.msg.ends_with(r#"{"kpl":"text one"}"#));
    assert!(
        user_text.sd.contains("partitionKey=\"user-a\""),
        "{}",
        user_text.sd
    );
    let user_binary = by_id(&format!("{}:2", sequences[3]));
    assert!(
        user_binary.sd.contains("partitionKey=\"user-b\""),
        "{}",
        user_binary.sd
    );
    assert!(user_binary.msg.ends_with(",/wD+"), "{}", user_binary.msg);

    let log = function.log();
    assert!(log.contains("\"UndecodableRecords\":4"), "{log}");
    assert!(log.contains("\"RecordsSkipped\":1"), "{log}");
    assert!(
        log.contains(&sequences[1]),
        "the WARN names the record: {log}"
    );
}

/// A FIFO queue keeps each message group's order: at the first message that fails, it and every
/// message after it are reported, and nothing after it is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_batch_stops_at_its_first_failure() {
    let rsyslog = Rsyslog::start();
    let emulator = Emulator::start();
    let function = start_function(&emulator, rsyslog.tcp_port);
    let action = |name: &str| {
        json!({"version": "0", "id": format!("{name}-0000-4000-8000-000000000000"),
            "detail-type": "ECR Image Action", "source": "aws.ecr", "account": ACCOUNT_A,
            "time": "2026-11-22T10:15:30Z", "region": "eu-west-1", "resources": [],
            "detail": {"action-type": "PUSH", "result": "SUCCESS", "repository-name": name}})
        .to_string()
    };
    let (event, ids) = sqs_fifo_event(&[
        action("fifo-one"),
        action("fifo-two"),
        "this is not an event".to_owned(),
        action("fifo-four"),
    ]);
    let response = invoke(&emulator, &function, &event);
    assert_eq!(failures(&response), ids[2..].to_vec());
    let received = rsyslog.wait_for(2, WAIT);
    let received_later = rsyslog.wait_for(3, Duration::from_secs(1));
    assert_eq!(received_later.len(), 2, "{received_later:#?}");
    assert_eq!(messages_containing(&received, "fifo-one").len(), 1);
    assert_eq!(messages_containing(&received, "fifo-two").len(), 1);
    assert!(function.log().contains("\"BatchItemsFailed\":2"));

    // The same messages from a standard queue: only the broken one is reported.
    let standard = event.replace(FIFO_QUEUE_ARN, QUEUE_ARN);
    let response = invoke(&emulator, &function, &standard);
    assert_eq!(failures(&response), vec![ids[2].clone()]);
    let received = rsyslog.wait_for(5, WAIT);
    assert_eq!(messages_containing(&received, "fifo-four").len(), 1);
}
