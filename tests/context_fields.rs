//! Context on every record, through the built binary under the Runtime API emulator into rsyslog:
//! `SYSLOG_EXTRA_FIELDS` on every input, and with `LOG_GROUP_TAGS=true` the source log group's tags
//! read from moto's CloudWatch Logs. Every stored message parses with the strict RFC 5424 parser.

mod harness;

use std::path::Path;
use std::time::Duration;

use harness::batches::{awslogs_event, kinesis_event, log_data};
use harness::emulator::{Emulator, FunctionProcess};
use harness::encode::gzip;
use harness::moto::Moto;
use harness::rsyslog::{Received, Rsyslog};
use harness::test_dir;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);
/// The account of the log groups in moto and of the payloads. The emulator names no function ARN, so
/// the function takes a payload's owner as its own account; that another account's log groups are
/// never looked up is a unit test of `sources::cloudwatch::tags`.
const FUNCTION_ACCOUNT: &str = "123456789012";
/// A value holding each character RFC 5424 makes SD values escape.
const ODD_VALUE: &str = r#"he said "hi" \ ]"#;

fn start_function(
    emulator: &Emulator,
    rsyslog: &Rsyslog,
    extra: &[(String, String)],
) -> FunctionProcess {
    let mut env: Vec<(String, String)> = vec![
        ("ORGANISATION".into(), "Acme".into()),
        ("SYSLOG_HOST".into(), "127.0.0.1".into()),
        ("SYSLOG_PORT".into(), rsyslog.tcp_port.to_string()),
        ("SYSLOG_TLS".into(), "false".into()),
        (
            "SYSLOG_EXTRA_FIELDS".into(),
            format!("env=prod, team=payments,note={ODD_VALUE}"),
        ),
    ];
    env.extend_from_slice(extra);
    emulator.start_function(Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")), &env)
}

/// Invokes with `event`; returns the function's response.
fn invoke(emulator: &Emulator, function: &FunctionProcess, event: &str) -> Value {
    emulator.invoke_event(function, event)
}

fn subscription(owner: &str, group: &str, tag: &str) -> String {
    awslogs_event(&log_data(owner, group, 0, &[format!("line of {tag}")]))
}

/// The SD-PARAMs of the project's element, as the strict parser reads the stored message.
fn params(received: &Received) -> Vec<(String, String)> {
    let parsed = syslog_rfc5424::parse_message(&received.raw)
        .unwrap_or_else(|e| panic!("not strict RFC 5424 ({e}): {}", received.raw));
    let mut params: Vec<(String, String)> = parsed
        .sd
        .find_sdid("aws@32473")
        .map(|element| {
            element
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    params.sort();
    params
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn one_containing<'a>(received: &'a [Received], text: &str) -> &'a Received {
    let found: Vec<&Received> = received.iter().filter(|r| r.msg.contains(text)).collect();
    assert_eq!(found.len(), 1, "{text}: {received:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn extra_fields_and_log_group_tags_reach_the_siem_as_structured_data() {
    let moto = Moto::start();
    let logs = moto.logs_client();
    logs.create_log_group()
        .log_group_name("/app/tagged")
        .tags("env", "staging")
        .tags("cost center", ODD_VALUE)
        .tags("aws:cloudformation:stack-name", "payments-prod-stack")
        .send()
        .await
        .expect("moto create_log_group");
    logs.create_log_group()
        .log_group_name("/app/untagged")
        .send()
        .await
        .expect("moto create_log_group");
    let rsyslog = Rsyslog::start();
    let emulator = Emulator::start();
    let mut env = moto.env();
    env.push(("LOG_GROUP_TAGS".into(), "true".into()));
    let function = start_function(&emulator, &rsyslog, &env);

    invoke(
        &emulator,
        &function,
        &subscription(FUNCTION_ACCOUNT, "/app/tagged", "tagged"),
    );
    invoke(
        &emulator,
        &function,
        &subscription(FUNCTION_ACCOUNT, "/app/untagged", "untagged"),
    );
    invoke(
        &emulator,
        &function,
        &subscription(FUNCTION_ACCOUNT, "/app/missing", "missing"),
    );
    // A Kinesis record of a CloudWatch Logs destination: the same tags.
    let (kinesis, _) = kinesis_event(&[gzip(
        log_data(
            FUNCTION_ACCOUNT,
            "/app/tagged",
            10,
            &["line of kinesis".to_owned()],
        )
        .to_string()
        .as_bytes(),
    )]);
    let response = invoke(&emulator, &function, &kinesis);
    assert_eq!(response, json!({"batchItemFailures": []}));
    // Any other input carries the fixed fields too.
    let event = json!({"version": "0", "id": "e-1", "detail-type": "ECR Image Action",
        "source": "aws.ecr", "account": FUNCTION_ACCOUNT, "time": "2026-11-22T10:15:30Z",
        "region": "us-east-1", "resources": [],
        "detail": {"action-type": "PUSH", "result": "SUCCESS", "repository-name": "context-check"}});
    invoke(&emulator, &function, &event.to_string());

    let received = rsyslog.wait_for(5, WAIT);
    assert_eq!(received.len(), 5, "{received:#?}");
    for r in &received {
        let p = params(r);
        assert_eq!(param(&p, "env"), Some("prod"), "{}", r.raw);
        assert_eq!(param(&p, "team"), Some("payments"), "{}", r.raw);
        assert_eq!(param(&p, "note"), Some(ODD_VALUE), "{}", r.raw);
    }
    for text in ["line of tagged", "line of kinesis"] {
        let tagged = params(one_containing(&received, text));
        assert_eq!(param(&tagged, "tag.env"), Some("staging"), "{tagged:?}");
        assert_eq!(param(&tagged, "tag.cost_center"), Some(ODD_VALUE));
        assert_eq!(
            param(&tagged, "tag.aws:cloudformation:stack-nam"),
            Some("payments-prod-stack"),
            "cut to 32 bytes: {tagged:?}"
        );
    }
    for text in ["line of untagged", "line of missing", "context-check"] {
        let p = params(one_containing(&received, text));
        assert!(
            p.iter().all(|(name, _)| !name.starts_with("tag.")),
            "{text}: {p:?}"
        );
    }
    let log = function.log();
    assert!(!log.contains("TagLookupsFailed"), "{log}");
    assert!(!log.contains("cannot read the log group's tags"), "{log}");
}

/// A CloudWatch Logs endpoint that accepts connections and never answers: the records go out
/// without tags after one bounded call, the WARN is written once, and the failure is counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_lookup_that_fails_forwards_the_records_without_tags() {
    let black_hole = harness::faulty::SilentServer::start();
    let rsyslog = Rsyslog::start();
    let emulator = Emulator::start();
    let env: Vec<(String, String)> = [
        ("LOG_GROUP_TAGS", "true".to_owned()),
        (
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
            format!("http://127.0.0.1:{}", black_hole.port()),
        ),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let function = start_function(&emulator, &rsyslog, &env);
    for round in 0..2 {
        let started = std::time::Instant::now();
        invoke(
            &emulator,
            &function,
            &subscription(FUNCTION_ACCOUNT, "/app/slow", &format!("round {round}")),
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "one bounded call at most"
        );
    }
    let received = rsyslog.wait_for(2, WAIT);
    assert_eq!(received.len(), 2, "{received:#?}");
    for r in &received {
        let p = params(r);
        assert_eq!(param(&p, "env"), Some("prod"));
        assert!(p.iter().all(|(name, _)| !name.starts_with("tag.")), "{p:?}");
    }
    let log = function.log();
    assert_eq!(
        log.matches("cannot read the log group's tags").count(),
        1,
        "{log}"
    );
    assert!(log.contains("\"TagLookupsFailed\":1"), "{log}");
    assert_eq!(
        black_hole.connections(),
        1,
        "the failure is kept, not retried"
    );
}

/// Names that are not SD-NAMEs, or that the forwarder writes itself, stop the start with an error
/// naming the variable.
#[test]
fn bad_field_names_stop_the_start() {
    let dir = test_dir("context-bad-names");
    let event = dir.join("event.json");
    std::fs::write(&event, subscription(FUNCTION_ACCOUNT, "/app/x", "x")).expect("event");
    for bad in [
        "bad name=1",
        "id=1",
        "account=2",
        "a\"b=1",
        "tag.env=1",
        "env",
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder"))
            .env_clear()
            .env("ORGANISATION", "Acme")
            .env("SYSLOG_EXTRA_FIELDS", bad)
            .arg("replay")
            .arg(&event)
            .output()
            .expect("run the binary");
        assert!(!output.status.success(), "{bad} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("SYSLOG_EXTRA_FIELDS"), "{bad}: {stderr}");
    }
}
