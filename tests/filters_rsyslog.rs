//! Filters and redaction end to end, with the README's recipes: a subscription payload of Lambda
//! platform lines, application lines at several levels (some holding secrets) and CloudTrail
//! records, then an ECR scan, go to a real rsyslog. What it stored holds no secret, and exactly
//! the records that should pass.

mod harness;

use aws_syslog_forwarder::config::FilterSettings;
use aws_syslog_forwarder::detections::Detections;
use aws_syslog_forwarder::filters::{Filters, Rule};
use harness::forwarding::*;
use harness::rsyslog::Rsyslog;

/// README, "Filters and redaction": drop Lambda platform lines.
const PLATFORM_LINES: &str = r"^(?:(?:START|END|REPORT) RequestId:|INIT_START Runtime Version:)";
/// README: drop read-only CloudTrail calls except ECR scan findings.
const READ_ONLY_CALLS: &str = r#""eventName":\s*"(?:Get|List|Describe(?:[^I]|I[^m]|Im[^a]|Ima[^g]|Imag[^e]|Image[^S]|ImageS[^c]|ImageSc[^a]|ImageSca[^n]|ImageScan[^F]|ImageScanF[^i]|ImageScanFi[^n]|ImageScanFin[^d]|ImageScanFind[^i]|ImageScanFindi[^n]|ImageScanFindin[^g]|ImageScanFinding[^s]|ImageScanFindings[^"]))"#;
/// README: keep WARN and above (and CloudTrail, which the same function receives).
const WARN_AND_ABOVE: &str = r#"\b(?:WARN|WARNING|ERROR|FATAL|CRITICAL)\b|"level":\s*"(?i:warn|warning|error|fatal|critical)"|"eventSource":"#;

const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const JWT: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const PEM_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
const MARKER: &str = "ERROR end of the filters test";

fn fixture(name: &str) -> String {
    let path = harness::project_root()
        .join("tests/fixtures/detections")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str::<serde_json::Value>(&text)
        .expect("a JSON fixture")
        .to_string()
}

#[test]
fn the_readme_gives_these_recipes() {
    let readme =
        std::fs::read_to_string(harness::project_root().join("README.md")).expect("README");
    for recipe in [PLATFORM_LINES, READ_ONLY_CALLS, WARN_AND_ABOVE] {
        assert!(
            readme.contains(&format!("`{recipe}`")),
            "README lacks the recipe {recipe}"
        );
    }
}

#[tokio::test]
async fn rsyslog_stores_no_secret_and_every_record_that_should_pass() {
    let rsyslog = Rsyslog::start();
    let filters = Filters::from_config(&FilterSettings {
        include: Some(WARN_AND_ABOVE.into()),
        exclude: Some(format!("{PLATFORM_LINES}|{READ_ONLY_CALLS}")),
        redact: Rule::ALL
            .iter()
            .map(|rule| rule.name().to_owned())
            .collect(),
        redact_regex: None,
    })
    .expect("the recipes compile");
    let forwarder = forwarder(&tcp(rsyslog.tcp_port), settings())
        .with_detections(Some(Detections::new(&[], Some("aws@32473"))))
        .with_filters(filters);

    let error_line = format!(
        "[ERROR] payment failed user=alice@example.com ip=203.0.113.9 key=AKIAIOSFODNN7EXAMPLE \
         Authorization: Bearer {JWT} db=postgres://app:Zq8VxWmPnKtRyLsJhGfDcB@db.internal/orders"
    );
    let warn_line = format!(
        "[WARN] loaded the deploy key -----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY----- \
         with aws_secret_access_key={SECRET_KEY}"
    );
    let describe = fixture("negative-describe-repositories");
    let lines: Vec<(String, bool)> = vec![
        ("START RequestId: 8a1f Version: $LATEST".into(), false),
        (
            "INIT_START Runtime Version: python:3.12.v38 Runtime Version ARN: arn:aws:lambda:us-east-1::runtime:0a1b"
                .into(),
            false,
        ),
        (error_line, true),
        ("[INFO] request served in 12 ms".into(), false),
        (warn_line, true),
        ("END RequestId: 8a1f".into(), false),
        (
            "REPORT RequestId: 8a1f Duration: 12.30 ms Billed Duration: 13 ms".into(),
            false,
        ),
        (fixture("forced-repository-delete"), true),
        (describe.clone(), false),
        (fixture("negative-scan-findings-low"), true),
        (fixture("negative-unrelated-service"), true),
        (describe.replace("DescribeRepositories", "ListImages"), false),
        (
            describe.replace("DescribeRepositories", "GetAuthorizationToken"),
            false,
        ),
        (r#"{"level":"warn","msg":"slow query","ms":950}"#.into(), true),
    ];
    let refs: Vec<&str> = lines.iter().map(|(line, _)| line.as_str()).collect();
    let logs = subscription("aws-cloudtrail-logs-123456789012", &refs);
    let scan = event("ecr-image-scan.json");
    let marker = subscription("/aws/lambda/orders-api", &[MARKER]);

    let mut expected = Vec::new();
    for raw in [&logs, &scan, &marker] {
        expected.extend(expected_messages(&forwarder, raw).await);
        let (metrics, outcome) = forwarder.forward_measured(raw, deadline()).await;
        outcome.expect("delivered");
        if raw == &logs {
            assert_eq!(metrics.records_filtered, 8);
            assert_eq!(metrics.redactions.of(Some(Rule::PrivateKey)), 1);
        }
    }
    let kept = lines.iter().filter(|(_, kept)| *kept).count();
    assert_eq!(
        expected.len(),
        kept + 8 + 1,
        "kept lines, 7 findings and the summary, the marker"
    );

    assert!(
        harness::wait_until(WAIT, || rsyslog
            .received()
            .iter()
            .any(|r| r.msg.ends_with(MARKER))),
        "the marker arrives: {}",
        rsyslog.stderr()
    );
    // One connection, in order: once the marker is stored, so is everything before it.
    let stored = rsyslog.received();
    assert_eq!(
        raws(&stored),
        expected
            .iter()
            .map(|m| as_rsyslog_stores(m))
            .collect::<Vec<_>>(),
        "stored exactly what was sent"
    );

    // Nothing secret, in any field.
    for secret in [
        "alice@example.com",
        "203.0.113.9",
        "203.0.113.24",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAEXAMPLEKEY000001",
        JWT,
        "Zq8VxWmPnKtRyLsJhGfDcB",
        PEM_BODY,
        SECRET_KEY,
    ] {
        for message in &stored {
            assert!(!message.raw.contains(secret), "{secret} in {}", message.raw);
        }
    }

    // Nothing filtered that should pass: the kept lines, redacted, in order.
    let bodies: Vec<&str> = stored
        .iter()
        .filter(|r| {
            r.msg
                .contains("Event Source:aws-cloudtrail-logs-123456789012,")
        })
        .map(|r| {
            r.msg
                .split_once("Event Source:aws-cloudtrail-logs-123456789012,")
                .map_or("", |(_, body)| body)
        })
        .collect();
    assert_eq!(bodies.len(), kept, "{bodies:#?}");
    assert_eq!(
        bodies[0],
        "[ERROR] payment failed user=[REDACTED:email] ip=[REDACTED:ipv4] \
         key=[REDACTED:aws-access-key-id] Authorization: Bearer [REDACTED:bearer-token] \
         db=postgres://app:[REDACTED:password-in-url]@db.internal/orders"
    );
    assert_eq!(
        bodies[1],
        "[WARN] loaded the deploy key [REDACTED:private-key] with \
         aws_secret_access_key=[REDACTED:aws-secret-access-key]"
    );
    assert!(bodies[2].contains(r#""eventName":"DeleteRepository""#));
    assert!(bodies[3].contains(r#""eventName":"DescribeImageScanFindings""#));
    assert!(bodies[4].contains(r#""eventName":"PutBucketPolicy""#));
    assert_eq!(bodies[5], r#"{"level":"warn","msg":"slow query","ms":950}"#);
    // The tagged record keeps its detection element, built from the redacted record.
    let tagged = stored
        .iter()
        .find(|r| r.msg.contains(r#""eventName":"DeleteRepository""#))
        .expect("the tagged record");
    assert!(
        tagged
            .sd
            .contains(r#"[detection@32473 rule="ecr-forced-repository-delete""#),
        "{}",
        tagged.sd
    );
    // (RFC 5424 escapes the marker's `]` inside a structured-data value.)
    assert!(
        tagged.sd.contains(
            r#"principal="arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice" sourceIp="[REDACTED:ipv4\]""#
        ),
        "{}",
        tagged.sd
    );
    // Findings and the summary are never filtered (the LOW, MEDIUM and HIGH ones match no
    // alternative of the include).
    assert_eq!(
        stored.iter().filter(|r| r.msgid == "finding").count(),
        7,
        "every finding"
    );
    assert_eq!(
        stored.iter().filter(|r| r.msgid == "scanSummary").count(),
        1
    );
}
