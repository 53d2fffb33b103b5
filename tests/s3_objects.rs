//! S3 objects against moto's S3 into a real rsyslog: every way S3 reaches the function, a
//! CloudTrail file of 10,000 records, plain NDJSON, keys with spaces and unicode, skipped digests
//! and test events, missing or denied objects as clear errors, and a line longer than a record,
//! cut around the secret it holds, through the built binary.

mod harness;

use std::time::Duration;

use aws_syslog_forwarder::detections::Detections;
use aws_syslog_forwarder::findings::FileFindings;
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::sources::s3::S3Objects;
use harness::emulator::Emulator;
use harness::encode::gzip;
use harness::forwarding::{deadline, forwarder, settings, tcp};
use harness::moto::Moto;
use harness::rsyslog::{Received, Rsyslog};
use harness::s3::*;
use regex::Regex;

const BUCKET: &str = "org-trail-logs";
const WAIT: Duration = Duration::from_secs(30);

fn s3_forwarder(moto: &Moto, rsyslog: &Rsyslog) -> Forwarder<FileFindings> {
    forwarder(&tcp(rsyslog.tcp_port), settings())
        .with_objects(S3Objects::with_client(moto.s3_client()))
        .with_detections(Some(Detections::new(&[], None)))
}

/// The ids (SD `id`) of the stored messages, in order.
fn ids(received: &[Received]) -> Vec<String> {
    let id = Regex::new(r#" id="([^"]+)""#).unwrap();
    received
        .iter()
        .map(|r| {
            id.captures(&r.sd)
                .unwrap_or_else(|| panic!("no id in {}", r.sd))[1]
                .to_owned()
        })
        .collect()
}

fn failures(outcome: &aws_syslog_forwarder::handler::Outcome) -> Vec<String> {
    outcome
        .batch
        .as_ref()
        .expect("a batch response")
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn every_way_s3_reaches_the_function_forwards_the_object() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let file = gzip(&trail_file(3, 0));
    let mut expected = 0;
    for shape in ["direct", "sqs", "sns-in-sqs", "eventbridge"] {
        let key = trail_key(ACCOUNT, shape);
        moto.put_object(BUCKET, &key, file.clone()).await;
        let note = notification(&[(BUCKET, &key, file.len())]);
        let outcome = match shape {
            "direct" => forwarder.forward(&note, deadline()).await,
            "sqs" => forwarder.forward(&sqs(&[note]).0, deadline()).await,
            "sns-in-sqs" => {
                forwarder
                    .forward(&sqs(&[sns_envelope(&note)]).0, deadline())
                    .await
            }
            _ => {
                forwarder
                    .forward(&object_created(BUCKET, &key, file.len()), deadline())
                    .await
            }
        }
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
        assert_eq!((outcome.records, outcome.delivered), (3, 3), "{shape}");
        if shape.contains("sqs") {
            assert_eq!(failures(&outcome), Vec::<String>::new(), "{shape}");
        }
        expected += 3;
        let received = rsyslog.wait_for(expected, WAIT);
        assert_eq!(received.len(), expected, "{shape}");
        for r in &received[expected - 3..] {
            assert!(
                r.sd.contains(&format!("key=\"{key}\"")),
                "{shape}: {}",
                r.sd
            );
        }
    }
}

#[tokio::test]
async fn a_cloudtrail_file_of_ten_thousand_records_arrives_whole_and_matches_the_siem_rules() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    let count = 10_000;
    let key = trail_key(ACCOUNT, "20261122T1020Z_big");
    let file = gzip(&trail_file(count, 300));
    moto.put_object(BUCKET, &key, file.clone()).await;
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let outcome = forwarder
        .forward(&notification(&[(BUCKET, &key, file.len())]), deadline())
        .await
        .expect("delivered");
    assert_eq!((outcome.records, outcome.delivered), (count, count));

    let received = rsyslog.wait_for(count, WAIT * 2);
    assert_eq!(received.len(), count, "every record once");
    let expected_ids: Vec<String> = (0..count)
        .map(|i| format!("{i:08x}-0000-4000-8000-000000000000"))
        .collect();
    assert_eq!(ids(&received), expected_ids, "in order, id = eventID");
    let by_source =
        Regex::new(r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>[^,]+),").unwrap();
    let by_event =
        Regex::new(r#"Organisation:(?P<Tenant>[^,]+).*?"eventSource":"(?P<Computer>[^"]+)"#)
            .unwrap();
    for (i, r) in received.iter().enumerate() {
        let caps = by_source
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("untagged: {}", r.msg));
        assert_eq!((&caps["tenant"], &caps["computer"]), ("Acme", BUCKET));
        let caps = by_event
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("no eventSource: {}", r.msg));
        assert_eq!(&caps["Tenant"], "Acme");
        let source = harness::s3::trail_record(i, 300)["eventSource"].clone();
        assert_eq!(&caps["Computer"], source.as_str().unwrap());
        assert_eq!(
            (r.hostname.as_str(), r.app_name.as_str()),
            (ACCOUNT, "cloudtrail")
        );
        assert_eq!(r.msgid, "log");
        for param in [
            format!("account=\"{ACCOUNT}\""),
            format!("region=\"{REGION}\""),
            format!("bucket=\"{BUCKET}\""),
            format!("key=\"{key}\""),
        ] {
            assert!(r.sd.contains(&param), "{param} in {}", r.sd);
        }
        assert!(
            r.timestamp
                .starts_with(&format!("2026-11-22T10:{:02}:{:02}", (i / 60) % 60, i % 60)),
            "TIMESTAMP is eventTime: {}",
            r.timestamp
        );
    }
    // Detections read CloudTrail records from S3 as from CloudWatch Logs: the ECR pulls are tagged.
    let tagged = received
        .iter()
        .filter(|r| r.sd.contains("[detection@32473"))
        .count();
    assert_eq!(tagged, count / 10, "every BatchGetImage record");
}

#[tokio::test]
async fn plain_ndjson_with_spaces_and_unicode_in_its_key_gives_one_record_per_line() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    let key = "app logs/2026-11-22/ünïcødé 日本 +plus.jsonl";
    let lines: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"level":"INFO","eventSource":"app","line":{i}}}"#))
        .collect();
    let mut body = lines.join("\n").into_bytes();
    body.push(b'\n');
    moto.put_object(BUCKET, key, body.clone()).await;
    let note = notification(&[(BUCKET, key, body.len())]);
    assert!(
        note.contains("app+logs%2F") || note.contains("app+logs/"),
        "{note}"
    );
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let outcome = forwarder
        .forward(&note, deadline())
        .await
        .expect("delivered");
    assert_eq!(outcome.delivered, 50);
    let received = rsyslog.wait_for(50, WAIT);
    assert_eq!(received.len(), 50);
    let expected: Vec<String> = (1..=50).map(|n| format!("{key}:{n}")).collect();
    assert_eq!(ids(&received), expected, "SD id = <key>:<line number>");
    for (r, line) in received.iter().zip(&lines) {
        assert!(
            r.msg
                .ends_with(&format!("Organisation:Acme,Event Source:{BUCKET},{line}")),
            "{}",
            r.msg
        );
        assert_eq!(r.app_name, "s3");
    }
}

#[tokio::test]
async fn digest_files_and_test_events_are_acknowledged_and_skipped() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    let digest = format!(
        "AWSLogs/o-a1b2c3d4e5/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/11/22/{ACCOUNT}_CloudTrail-Digest_{REGION}_x.json.gz"
    );
    moto.put_object(BUCKET, &digest, gzip(br#"{"awsAccountId":"1"}"#))
        .await;
    let marker = "marker/last.log";
    moto.put_object(BUCKET, marker, b"the marker line\n".to_vec())
        .await;
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let (event, _) = sqs(&[
        test_event(BUCKET),
        sns_envelope(&test_event(BUCKET)),
        notification(&[(BUCKET, &digest, 20)]),
        object_created(BUCKET, &digest, 20),
        notification(&[(BUCKET, marker, 16)]),
    ]);
    let outcome = forwarder.forward(&event, deadline()).await.expect("batch");
    assert_eq!(failures(&outcome), Vec::<String>::new());
    assert_eq!(outcome.delivered, 1);
    // Direct and EventBridge invocations for a digest succeed with nothing to send.
    let direct = forwarder
        .forward(&notification(&[(BUCKET, &digest, 20)]), deadline())
        .await
        .expect("direct digest");
    assert_eq!(direct.records, 0);
    let received = rsyslog.wait_for(1, WAIT);
    assert_eq!(received.len(), 1, "only the marker: {received:#?}");
    assert!(received[0].msg.ends_with("the marker line"));
}

#[tokio::test]
async fn missing_and_denied_objects_are_clear_errors_and_fail_only_their_message() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    moto.put_object(BUCKET, "secret/a.log", b"hidden\n".to_vec())
        .await;
    moto.put_object(BUCKET, "open/b.log", b"visible\n".to_vec())
        .await;
    moto.deny_reads(BUCKET, "secret/").await;
    let forwarder = s3_forwarder(&moto, &rsyslog);

    let missing = forwarder
        .forward(&notification(&[(BUCKET, "gone/x.log", 5)]), deadline())
        .await
        .expect_err("a missing key fails the invocation");
    assert_eq!(missing.error_type(), "S3ObjectNotFound");
    let text = missing.to_string();
    assert!(
        text.contains("s3://org-trail-logs/gone/x.log") && text.contains("NoSuchKey"),
        "{text}"
    );

    let no_bucket = forwarder
        .forward(
            &object_created("no-such-bucket-here", "x.log", 5),
            deadline(),
        )
        .await
        .expect_err("a missing bucket fails the invocation");
    assert_eq!(no_bucket.error_type(), "S3ObjectNotFound");
    assert!(
        no_bucket.to_string().contains("no such bucket"),
        "{no_bucket}"
    );

    let denied = forwarder
        .forward(&notification(&[(BUCKET, "secret/a.log", 7)]), deadline())
        .await
        .expect_err("a denied read fails the invocation");
    assert_eq!(denied.error_type(), "S3AccessDenied");
    let text = denied.to_string();
    for needle in [
        "s3://org-trail-logs/secret/a.log",
        "s3:GetObject",
        "S3BucketArns",
        "kms:Decrypt",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }

    // In an SQS batch only the messages naming those objects are reported.
    let (event, ids) = sqs(&[
        notification(&[(BUCKET, "secret/a.log", 7)]),
        notification(&[(BUCKET, "open/b.log", 8)]),
        notification(&[(BUCKET, "gone/x.log", 5)]),
    ]);
    let outcome = forwarder.forward(&event, deadline()).await.expect("batch");
    assert_eq!(failures(&outcome), vec![ids[0].clone(), ids[2].clone()]);
    let received = rsyslog.wait_for(1, WAIT);
    assert_eq!(received.len(), 1);
    assert!(received[0].msg.ends_with("visible"));
}

/// A 50 MB (decompressed) CloudTrail object through the built binary's `replay`, as an operator
/// would redrive it: every record is counted and delivered. (Peak memory is a bench row.)
#[tokio::test]
async fn a_large_object_through_replay_is_read_whole() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET).await;
    let pad = 900;
    let record_bytes = trail_record(0, pad).to_string().len() + 1;
    let count = 50_000_000 / record_bytes;
    let text = trail_file(count, pad);
    assert!(text.len() >= 50_000_000, "{} bytes", text.len());
    let file = gzip(&text);
    drop(text);
    let key = trail_key(ACCOUNT, "20261122T1030Z_large");
    moto.put_object(BUCKET, &key, file.clone()).await;
    let event = harness::test_dir("s3-replay").join("event.json");
    std::fs::write(&event, notification(&[(BUCKET, &key, file.len())])).expect("write the event");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder"))
        .arg("replay")
        .arg(&event)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ORGANISATION", "Acme")
        .envs(moto.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
        .expect("run replay");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "replay failed: {stderr}");
    let summary =
        format!("replay: events=1 records={count} delivered={count} failed=0 rejected_events=0");
    assert!(
        stderr.contains(&summary),
        "expected {summary:?} in {stderr}"
    );
}

/// Delivery per object: when the receiver is gone the object fails (its SQS message is reported),
/// and the retry reads it again from the start; its records keep their ids.
#[tokio::test]
async fn a_failed_object_is_read_again_from_the_start() {
    let moto = Moto::start();
    let mut rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    let key = trail_key(ACCOUNT, "retry");
    let file = gzip(&trail_file(20, 0));
    moto.put_object(BUCKET, &key, file.clone()).await;
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let (event, message_ids) = sqs(&[notification(&[(BUCKET, &key, file.len())])]);
    rsyslog.stop();
    let outcome = forwarder.forward(&event, deadline()).await.expect("batch");
    assert_eq!(
        failures(&outcome),
        message_ids,
        "the message stays in the queue"
    );
    rsyslog.restart();
    let outcome = forwarder.forward(&event, deadline()).await.expect("batch");
    assert_eq!(failures(&outcome), Vec::<String>::new());
    let received = rsyslog.wait_for(20, WAIT);
    let expected: Vec<String> = (0..20)
        .map(|i| format!("{i:08x}-0000-4000-8000-000000000000"))
        .collect();
    assert_eq!(ids(&received), expected);
}

/// An object that cannot be read before the deadline fails cleanly, saying what to raise.
#[tokio::test]
async fn an_object_past_the_deadline_fails_saying_what_to_raise() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    moto.put_object(BUCKET, "late.log", b"late\n".to_vec())
        .await;
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let err = forwarder
        .forward(
            &notification(&[(BUCKET, "late.log", 5)]),
            tokio::time::Instant::now(),
        )
        .await
        .expect_err("no time left");
    assert_eq!(err.error_type(), "DeadlineExceeded");
    let text = err.to_string();
    for needle in [
        "s3://org-trail-logs/late.log",
        "Timeout",
        "MemorySize",
        "from the start",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}

/// A versioned bucket: the key is overwritten after the event was sent, and the built binary (its
/// `replay`, with the standard SDK chain) still reads the version each event names, from a
/// notification (`versionId`) and from EventBridge (`version-id`), into rsyslog with `versionId` in
/// the SD. An event without a version reads the current one and has no `versionId`; a version
/// that is not there is an error naming it.
#[tokio::test]
async fn the_version_an_event_names_is_read_even_after_the_key_is_overwritten() {
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;
    moto.enable_versioning(BUCKET).await;
    let key = "app/2026-11-22/versioned events.jsonl";
    let body = |version: usize, lines: usize| -> Vec<u8> {
        (1..=lines)
            .map(|n| format!("{{\"version\":{version},\"line\":{n}}}\n"))
            .collect::<String>()
            .into_bytes()
    };
    let (first, second) = (body(1, 3), body(2, 2));
    let v1 = moto.put_version(BUCKET, key, first.clone()).await;
    let v2 = moto.put_version(BUCKET, key, second.clone()).await;
    assert_ne!(v1, v2, "two versions of the key");

    let dir = harness::test_dir("s3-version");
    let events = [
        (
            "notification-v1.json",
            versioned_notification(BUCKET, key, first.len(), &v1),
        ),
        (
            "eventbridge-v1.json",
            versioned_object_created(BUCKET, key, first.len(), &v1),
        ),
        ("current.json", notification(&[(BUCKET, key, second.len())])),
    ];
    let files: Vec<std::path::PathBuf> = events
        .iter()
        .map(|(name, event)| {
            let file = dir.join(name);
            std::fs::write(&file, event).expect("write the event");
            file
        })
        .collect();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder"))
        .arg("replay")
        .args(&files)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ORGANISATION", "Acme")
        .env("SYSLOG_HOST", "127.0.0.1")
        .env("SYSLOG_PORT", rsyslog.tcp_port.to_string())
        .env("SYSLOG_TLS", "false")
        .envs(moto.env())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run replay");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "replay failed: {stderr}");
    assert!(
        stderr.contains("replay: events=3 records=8 delivered=8 failed=0 rejected_events=0"),
        "{stderr}"
    );

    let received = rsyslog.wait_for(8, WAIT);
    assert_eq!(received.len(), 8, "{received:#?}");
    let expected_ids: Vec<String> = [1, 2, 3, 1, 2, 3, 1, 2]
        .iter()
        .map(|n| format!("{key}:{n}"))
        .collect();
    assert_eq!(ids(&received), expected_ids, "ids stay <key>:<line>");
    let version_param = Regex::new(r#" versionId="([^"]*)""#).unwrap();
    for (i, r) in received.iter().enumerate() {
        let (version, line, named) = if i < 6 {
            (1, i % 3 + 1, Some(v1.as_str()))
        } else {
            (2, i - 5, None)
        };
        assert!(
            r.msg.ends_with(&format!(
                "Organisation:Acme,Event Source:{BUCKET},{{\"version\":{version},\"line\":{line}}}"
            )),
            "record {i}: {}",
            r.msg
        );
        assert!(
            r.sd.contains(&format!("key=\"{key}\"")),
            "record {i}: {}",
            r.sd
        );
        let in_sd = version_param.captures(&r.sd).map(|c| c[1].to_owned());
        assert_eq!(in_sd.as_deref(), named, "record {i}: {}", r.sd);
    }

    // A version that is not there (or no longer) is an error that names it.
    let forwarder = s3_forwarder(&moto, &rsyslog);
    let gone = "Vx2AZ5S0hF4Mg8Dd_qZBtRMvA9cyxZ1q";
    let err = forwarder
        .forward(&versioned_notification(BUCKET, key, 5, gone), deadline())
        .await
        .expect_err("a missing version fails the invocation");
    assert_eq!(err.error_type(), "S3ObjectNotFound");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "s3://{BUCKET}/{key} (versionId {gone}): no such version"
        )),
        "{text}"
    );
}

/// Text of `len` bytes that no redaction rule matches and rsyslog stores as it is (no spaces, no
/// control characters).
fn filler(len: usize) -> String {
    "lorem-ipsum-dolor;0123456789;"
        .chars()
        .cycle()
        .take(len)
        .collect()
}

/// The payload of each record rsyslog stored, in order of arrival, its parts (`Part:N/M,`) joined:
/// (SD id, payload).
fn records_of(received: &[Received]) -> Vec<(String, String)> {
    let prefix = Regex::new(&format!(
        r"(?s)^Organisation:Acme,Event Source:{BUCKET},(?:Part:(\d+)/(\d+),)?(.*)$"
    ))
    .unwrap();
    let mut records: Vec<(String, String)> = Vec::new();
    let mut part = 0;
    for (id, r) in ids(received).into_iter().zip(received) {
        let caps = prefix
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("not a record of the bucket: {:.200}", r.msg));
        let number: usize = caps.get(1).map_or(1, |n| n.as_str().parse().unwrap());
        match records.last_mut() {
            Some((last, payload)) if *last == id && number == part + 1 => {
                payload.push_str(&caps[3]);
            }
            _ => {
                assert_eq!(number, 1, "{id}: parts in order");
                records.push((id, caps[3].to_owned()));
            }
        }
        part = number;
    }
    records
}

/// The README's promise for a line longer than a record (1 MiB), through the built binary under the
/// Lambda runtime: the line is cut where no secret straddles the cut, so `REDACT` redacts the
/// secret across the 1 MiB boundary, and `FILTER_INCLUDE` keeps or drops the line whole, as its
/// first piece decides.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_straddling_the_cut_of_a_long_line_is_redacted_and_the_line_filtered_whole() {
    const MIB: usize = 1024 * 1024;
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const MARKER: &str = "[REDACTED:aws-secret-access-key]";
    let moto = Moto::start();
    let rsyslog = Rsyslog::start();
    moto.create_bucket(BUCKET).await;

    // Line 1, 1.5 MiB: the 1 MiB boundary falls 20 characters into the secret's value.
    let label = "aws_secret_access_key=";
    let before = format!("KEEP;{}", filler(MIB - 20 - label.len() - 5));
    let secret_line = format!("{before}{label}{SECRET};{}", filler(MIB / 2));
    assert_eq!(&secret_line[MIB - 20..MIB], &SECRET[..20]);
    // Line 2: dropped by its first piece, though the piece after the cut (at exactly 1 MiB, no
    // secret is near) starts with what FILTER_INCLUDE wants.
    let dropped_line = format!("drop;{}KEEP;{}", filler(MIB - 5), filler(200_000));
    let last = "KEEP;the-last-line";
    let body = format!("{secret_line}\n{dropped_line}\n{last}\n").into_bytes();
    let key = "apps/2026-11-22/long-lines.log";
    moto.put_object(BUCKET, key, body.clone()).await;

    let emulator = Emulator::start();
    let mut env: Vec<(String, String)> = vec![
        ("ORGANISATION".into(), "Acme".into()),
        ("SYSLOG_HOST".into(), "127.0.0.1".into()),
        ("SYSLOG_PORT".into(), rsyslog.tcp_port.to_string()),
        ("SYSLOG_TLS".into(), "false".into()),
        ("SYSLOG_MAX_MESSAGE_BYTES".into(), "32768".into()),
        ("REDACT".into(), "aws-secret-access-key".into()),
        ("FILTER_INCLUDE".into(), "^KEEP".into()),
    ];
    env.extend(moto.env());
    let function = emulator.start_function(
        std::path::Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")),
        &env,
    );
    let response = emulator.invoke_event(&function, &notification(&[(BUCKET, key, body.len())]));
    assert_eq!(
        (response["records"].as_u64(), response["delivered"].as_u64()),
        (Some(3), Some(3)),
        "two pieces of line 1 and line 3: {response}"
    );

    assert!(
        harness::wait_until(WAIT, || rsyslog
            .received()
            .iter()
            .any(|r| r.msg.ends_with(last))),
        "the last line arrives: {}",
        rsyslog.stderr()
    );
    let received = rsyslog.received();
    for message in &received {
        assert!(
            !message.raw.contains(SECRET),
            "the secret in {:.200}",
            message.raw
        );
    }
    let records = records_of(&received);
    // Nor half of it in a record, on either side of the 1 MiB boundary.
    for (id, payload) in &records {
        for half in [&SECRET[..20], &SECRET[20..]] {
            assert!(!payload.contains(half), "{half} in {id}");
        }
    }
    let ids: Vec<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        vec![format!("{key}:1"), format!("{key}:1/2"), format!("{key}:3")],
        "line 1 whole, line 2 dropped whole"
    );
    let (first, second) = (&records[0].1, &records[1].1);
    assert!(first.len() < MIB, "cut before the secret: {}", first.len());
    assert!(
        second.starts_with(&format!("secret_access_key={MARKER};")),
        "the piece after the cut starts with the whole secret, redacted: {:.80}",
        second
    );
    let joined = format!("{first}{second}");
    assert_eq!(
        joined,
        secret_line.replace(SECRET, MARKER),
        "the pieces rebuild the line, the secret redacted"
    );
    assert_eq!(records[2].1, last);
}
