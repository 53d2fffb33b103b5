//! Hostile and broken input: every bad event fails with an error that names its stage, and nothing
//! is written for it; values that reach a syslog header, the structured data or the MSG prefix
//! cannot add a field, a record or an element.

mod harness;

use std::path::{Path, PathBuf};

use aws_syslog_forwarder::findings::FileFindings;
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::sources::Limits;
use aws_syslog_forwarder::syslog::{Framing, SyslogSettings};
use aws_syslog_forwarder::transport::{Sink, WriterSink};
use harness::forwarding::{deadline, event, settings, subscription};
use regex::Regex;
use serde_json::json;

const OWN_LOG_GROUP: &str = "/aws/lambda/forwarder";

use harness::encode::{base64 as b64, gzip};

fn awslogs(data: &str) -> String {
    json!({"awslogs": {"data": data}}).to_string()
}

fn log_data(events: serde_json::Value) -> String {
    json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/app/web",
           "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events})
    .to_string()
}

fn payload(json_text: &str) -> String {
    awslogs(&b64(&gzip(json_text.as_bytes())))
}

/// A forwarder writing to a file, with small limits so the bounds are reached by small inputs.
fn forwarder(settings: SyslogSettings) -> (Forwarder<FileFindings>, PathBuf) {
    let out = harness::test_dir("bad-inputs").join("out.syslog");
    let file = std::fs::File::create(&out).expect("output file");
    let findings =
        FileFindings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("events/findings.json"))
            .expect("findings");
    let forwarder = Forwarder::new(
        settings,
        findings,
        Sink::Writer(WriterSink::new(tokio::fs::File::from_std(file))),
    )
    .with_limits(Limits {
        max_event_bytes: 64 * 1024,
        max_json_depth: 64,
        max_decompressed_bytes: 256 * 1024,
        max_log_events: 1_000,
        max_message_bytes: 16 * 1024,
        max_object_bytes: 1024 * 1024,
    })
    .with_own_log_group(Some(OWN_LOG_GROUP.into()));
    (forwarder, out)
}

fn bad_inputs() -> Vec<(&'static str, String, &'static str)> {
    let scan = event("ecr-image-scan.json");
    let data = |events| payload(&log_data(events));
    let one =
        |message: serde_json::Value| data(json!([{"id": "1", "timestamp": 1, "message": message}]));
    let mut truncated = gzip(log_data(json!([])).as_bytes());
    truncated.truncate(truncated.len() / 2);
    let mut second_member_corrupt = gzip(log_data(json!([])).as_bytes());
    second_member_corrupt.extend_from_slice(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3]);
    let mut not_utf8 = log_data(json!([{"id": "1", "timestamp": 1, "message": "XX"}])).into_bytes();
    let at = not_utf8
        .windows(2)
        .position(|w| w == b"XX")
        .expect("marker");
    not_utf8[at] = 0xff;
    vec![
        ("empty input", String::new(), "unsupported event"),
        ("not JSON", "hello".into(), "unsupported event"),
        ("a JSON array", "[1,2]".into(), "unsupported event"),
        ("a JSON number", "42".into(), "unsupported event"),
        (
            "an object of unknown shape",
            r#"{"Records":[]}"#.into(),
            "unsupported event",
        ),
        (
            "EventBridge without detail",
            r#"{"source":"aws.ecr","detail-type":"ECR Image Scan"}"#.into(),
            "unsupported event",
        ),
        (
            "EventBridge detail not an object",
            r#"{"source":"x","detail-type":"y","detail":[1]}"#.into(),
            "its detail is not a JSON object",
        ),
        (
            "awslogs.data not a string",
            r#"{"awslogs":{"data":7}}"#.into(),
            "unsupported event",
        ),
        ("awslogs.data empty", awslogs(""), "not valid gzip"),
        ("invalid base64", awslogs("%%%%"), "not valid base64"),
        (
            "base64 of plain text",
            awslogs(&b64(b"plain text")),
            "not valid gzip",
        ),
        (
            "truncated gzip",
            awslogs(&b64(&truncated)),
            "not valid gzip",
        ),
        (
            "corrupt second gzip member",
            awslogs(&b64(&second_member_corrupt)),
            "not valid gzip",
        ),
        (
            "gzip of plain text",
            payload("plain text"),
            "not CloudWatch Logs log data",
        ),
        (
            "gzip of invalid UTF-8",
            awslogs(&b64(&gzip(&not_utf8))),
            "not CloudWatch Logs log data",
        ),
        (
            "log data without messageType",
            payload(r#"{"logEvents":[]}"#),
            "not CloudWatch Logs log data",
        ),
        (
            "unknown messageType",
            payload(r#"{"messageType":"BOGUS","logEvents":[]}"#),
            "unknown messageType",
        ),
        (
            "log event id as a number",
            data(json!([{"id": 1, "timestamp": 1, "message": "m"}])),
            "not CloudWatch Logs log data",
        ),
        (
            "log event timestamp as a string",
            data(json!([{"id": "1", "timestamp": "soon", "message": "m"}])),
            "not CloudWatch Logs log data",
        ),
        (
            "log event message as an object",
            one(json!({"a": 1})),
            "not CloudWatch Logs log data",
        ),
        (
            "gzip bomb",
            payload(&log_data(
                json!([{"id": "1", "timestamp": 1, "message": " ".repeat(300 * 1024)}]),
            )),
            "possible gzip bomb",
        ),
        (
            "base64 longer than the bound",
            awslogs(&"A".repeat(70 * 1024)),
            "over the 65536-byte limit",
        ),
        (
            "too many log events",
            data(serde_json::Value::Array(
                (0..1_001)
                    .map(|i| json!({"id": i.to_string(), "timestamp": 1, "message": "m"}))
                    .collect(),
            )),
            "1001 log events, over the limit of 1000",
        ),
        (
            "message longer than the bound",
            one(json!("x".repeat(17 * 1024))),
            "log event 0 has a 17408-byte message",
        ),
        (
            "event nested too deep",
            format!(
                r#"{{"source":"x","detail-type":"y","detail":{{"a":{}1{}}}}}"#,
                "[".repeat(70),
                "]".repeat(70)
            ),
            "nested deeper than 64 levels",
        ),
        (
            "the function's own log group",
            subscription(OWN_LOG_GROUP, &["START RequestId: 1"]),
            "own log group",
        ),
        (
            "ECR scan without repository-name",
            scan.replace(
                r#""repository-name": "payments-api""#,
                r#""repository-name": """#,
            ),
            "detail.repository-name is missing",
        ),
        (
            "ECR scan without image-digest",
            scan.replace(r#""image-digest""#, r#""image-digest-removed""#),
            "detail.image-digest is missing",
        ),
        (
            "ECR scan detail of the wrong shape",
            scan.replace(r#""image-tags": ["#, r#""image-tags": 5, "x": ["#),
            "detail is not the expected object",
        ),
        (
            "findings of another image",
            scan.replace("payments-api", "billing-api"),
            "the findings file is for",
        ),
    ]
}

#[tokio::test]
async fn every_bad_input_fails_with_its_stage_and_sends_nothing() {
    let cases = bad_inputs();
    assert!(cases.len() >= 25, "{} bad inputs", cases.len());
    for (name, raw, stage) in cases {
        let (forwarder, out) = forwarder(settings());
        let err = forwarder
            .forward(&raw, deadline())
            .await
            .expect_err(name)
            .to_string();
        assert!(err.contains(stage), "{name}: expected {stage:?} in {err:?}");
        let written = std::fs::read(&out).expect("output file");
        assert!(
            written.is_empty(),
            "{name}: {} bytes written",
            written.len()
        );
    }
}

/// Values that end up in syslog headers, structured data and the MSG prefix, chosen to break out of
/// their field.
#[tokio::test]
async fn hostile_names_stay_inside_their_fields() {
    let tenant = Regex::new(r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>[^,]+),")
        .expect("regex");
    let ecr_tenant =
        Regex::new(r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),")
            .expect("regex");
    let hostile_group = "/app/x] [evil@1 a=\"b\"] - Organisation:Evil,Event Source:AWS.ECR,\n<13>1";
    let log_line = "text \"]\\ Organisation:Evil,Event Source:AWS.ECR,\r\n<13>1 forged";
    let subscription_event = subscription(hostile_group, &[log_line]);
    let scan = event("ecr-image-action.json")
        .replace("\"payments-api\"", "\"repo\\\"] [x]\\n\"")
        .replace("\"aws.ecr\"", "\"Organisation:Evil,Event Source:AWS.ECR,\"");
    for framing in [Framing::OctetCounting, Framing::Lf] {
        for raw in [&subscription_event, &scan] {
            let (forwarder, _) = forwarder(SyslogSettings {
                framing,
                ..settings()
            });
            let records = forwarder.records(raw).await.expect("decodes");
            let batch = forwarder.batch(&records).expect("formats");
            assert_eq!(batch.messages(), records.len(), "one message per record");
            for message in batch.record_bytes() {
                let text = std::str::from_utf8(message).expect("UTF-8");
                let text = match framing {
                    Framing::OctetCounting => text.split_once(' ').expect("octet count").1,
                    Framing::Lf => text.strip_suffix('\n').expect("one LF, at the end"),
                };
                if framing == Framing::Lf {
                    assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
                }
                let parsed = syslog_rfc5424::parse_message(text)
                    .unwrap_or_else(|e| panic!("not RFC 5424 ({e}): {text}"));
                assert_eq!(parsed.sd.len(), 1, "one SD element: {text}");
                assert!(parsed.sd.find_sdid("evil@1").is_none());
                let found: Vec<(String, String)> = tenant
                    .captures_iter(&parsed.msg)
                    .map(|c| (c["tenant"].to_owned(), c["computer"].to_owned()))
                    .collect();
                assert_eq!(found.len(), 1, "one tenant field: {}", parsed.msg);
                assert_eq!(found[0].0, "Acme");
                assert!(
                    ecr_tenant.captures(&parsed.msg).is_none(),
                    "not filed as ECR: {}",
                    parsed.msg
                );
            }
        }
    }
}
