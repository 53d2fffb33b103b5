//! Filters and redaction in the pipeline, before anything is sent: a record a detection tagged
//! passes any filter, a secret split across message parts leaves no fragment in any part or
//! structured-data value, and detections still read what they need once every built-in rule ran.

mod harness;

use std::path::PathBuf;
use std::sync::Arc;

use aws_syslog_forwarder::config::FilterSettings;
use aws_syslog_forwarder::detections::Detections;
use aws_syslog_forwarder::filters::{Filters, RedactionCounts, Rule};
use aws_syslog_forwarder::findings::StaticFindings;
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::record::{Origin, Record, RecordKind, Severity};
use aws_syslog_forwarder::syslog::{Formatter, Framing, SyslogSettings};
use aws_syslog_forwarder::transport::{Sink, WriterSink};
use harness::encode::frames;
use harness::forwarding::subscription;

fn fixtures() -> PathBuf {
    harness::project_root().join("tests/fixtures/detections")
}

/// A detection fixture as CloudTrail delivers it: one line of compact JSON.
fn fixture(name: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.json"))).expect("fixture");
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => value.to_string(),
        Err(_) => text.trim_end().to_owned(),
    }
}

fn every_rule() -> Vec<String> {
    Rule::ALL
        .iter()
        .map(|rule| rule.name().to_owned())
        .collect()
}

fn filters(settings: FilterSettings) -> Filters {
    Filters::from_config(&settings).expect("valid filters")
}

fn forwarder(max_message_bytes: usize, filters: Filters) -> Forwarder<StaticFindings> {
    let settings = SyslogSettings {
        organisation: "Acme".into(),
        max_message_bytes,
        ..SyslogSettings::default()
    };
    Forwarder::new(
        settings,
        StaticFindings::default(),
        Sink::Writer(WriterSink::new(tokio::io::sink())),
    )
    .with_detections(Some(Detections::new(&[], Some("aws@32473"))))
    .with_filters(filters)
}

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(10)
}

#[tokio::test]
async fn a_tagged_record_passes_any_filter_and_filtered_records_are_handled() {
    let lines = [
        fixture("forced-repository-delete"),
        fixture("negative-describe-repositories"),
        "START RequestId: 6f1c Version: $LATEST".to_owned(),
        fixture("policy-public"),
        "GET /health 200 3ms".to_owned(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let event = subscription("aws-cloudtrail-logs-123456789012", &refs);
    // Excludes every ECR call and every platform line, and includes nothing at all.
    let forwarder = forwarder(
        8192,
        filters(FilterSettings {
            include: Some("^never$".into()),
            exclude: Some(r#""eventSource":"ecr\.amazonaws\.com"|^START "#.into()),
            ..FilterSettings::default()
        }),
    );
    let records = forwarder.records(&event).await.expect("decodes");
    let kept: Vec<&str> = records.iter().map(|r| r.payload.as_str()).collect();
    assert_eq!(kept, [lines[0].as_str(), lines[3].as_str()]);
    assert!(records.iter().all(|r| r.detection.is_some()));

    let (metrics, outcome) = forwarder.forward_measured(&event, deadline()).await;
    let outcome = outcome.expect("filtered records do not fail the invocation");
    assert_eq!((outcome.records, outcome.delivered), (2, 2));
    assert_eq!(
        (
            metrics.records_in,
            metrics.records_forwarded,
            metrics.records_filtered
        ),
        (2, 2, 3)
    );
    assert_eq!(metrics.detections, 2);

    // Everything filtered: still a success, with nothing sent.
    let event = subscription("/aws/lambda/orders-api", &["START RequestId: 1 Version: 7"]);
    let (metrics, outcome) = forwarder.forward_measured(&event, deadline()).await;
    assert_eq!(outcome.expect("handled").delivered, 0);
    assert_eq!((metrics.records_filtered, metrics.bytes_sent), (1, 0));
}

/// A line of `filler` words with `secret` placed so that its middle falls on the split point of a
/// 480-byte message.
async fn straddling(secret: &str, unredacted: &Forwarder<StaticFindings>) -> String {
    let filler = "word ".repeat(200);
    // Where the first part's payload ends: format once with filler only.
    let probe = subscription("/aws/lambda/orders-api", &[filler.as_str()]);
    let records = unredacted.records(&probe).await.expect("decodes");
    let batch = unredacted.batch(&records).expect("formats");
    let parts = frames(Framing::OctetCounting, batch.bytes());
    let first = parts[0].split_once("Part:1/").expect("split").1;
    let first_payload = first.split_once(',').expect("marker").1.len();
    // A secret longer than a part (the key) starts the line and spans several splits.
    let start = first_payload.saturating_sub(secret.len() / 2);
    format!("{}{secret} {}", &filler[..start], &filler[start..])
}

#[tokio::test]
async fn a_secret_across_the_split_point_leaves_no_fragment_in_any_part() {
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
        "QkFTRTY0UEVNQk9EWXhYeVpaUWtGVFJUWTBVRVZOUWs5RVdYaFllVnBh".repeat(20)
    );
    let secrets = [
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "postgres://app:Zq8VxWmPnKtRyLsJhGfDcB@db.internal/orders",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        pem.as_str(),
    ];
    // What each secret is, without the label a rule keeps.
    let hidden = [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "Zq8VxWmPnKtRyLsJhGfDcB",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        pem.as_str(),
    ];
    let unredacted = forwarder(480, Filters::default());
    let redacting = forwarder(
        480,
        filters(FilterSettings {
            redact: every_rule(),
            ..FilterSettings::default()
        }),
    );
    for (secret, hidden) in secrets.iter().zip(hidden) {
        let line = straddling(secret, &unredacted).await;
        let event = subscription("/aws/lambda/orders-api", &[line.as_str()]);

        // Without redaction the split really cuts the secret: no part holds all of it.
        let records = unredacted.records(&event).await.expect("decodes");
        let parts = frames(
            Framing::OctetCounting,
            unredacted.batch(&records).expect("formats").bytes(),
        );
        assert!(parts.len() > 1, "the line is split");
        assert!(parts.iter().all(|part| !part.contains(hidden)));

        let records = redacting.records(&event).await.expect("decodes");
        let parts = frames(
            Framing::OctetCounting,
            redacting.batch(&records).expect("formats").bytes(),
        );
        for part in &parts {
            for fragment in fragments(hidden, 5) {
                assert!(
                    !part.contains(fragment),
                    "{fragment:?} of a secret survives in {part}"
                );
            }
        }
        let joined: String = parts
            .iter()
            .filter_map(|part| part.split_once(",Part:"))
            .filter_map(|(_, rest)| rest.split_once(','))
            .map(|(_, payload)| payload)
            .collect();
        assert_eq!(
            joined, records[0].payload,
            "the parts join to the redacted line"
        );
        assert!(joined.contains("[REDACTED:"), "{joined}");
    }
}

/// Every substring of `text` with `len` bytes (ASCII text).
fn fragments(text: &str, len: usize) -> impl Iterator<Item = &str> {
    (0..=text.len().saturating_sub(len)).map(move |start| &text[start..start + len])
}

#[test]
fn structured_data_from_the_payload_is_redacted_and_the_envelope_is_not() {
    // A detection element copies eventName, principal, sourceIp, repository and errorCode from the
    // payload. Here the repository name carries a key id and the source IP is an address.
    let payload = fixture("forced-repository-delete")
        .replace(
            r#""repositoryName":"payments-api""#,
            r#""repositoryName":"AKIAIOSFODNN7EXAMPLE""#,
        )
        .replace("203.0.113.24", "198.51.100.99");
    assert!(payload.contains("AKIAIOSFODNN7EXAMPLE") && payload.contains("198.51.100.99"));
    let mut record = Record {
        kind: RecordKind::Log,
        origin: Arc::new(Origin {
            hostname: "123456789012".into(),
            app_name: "cloudtrail".into(),
            source: "aws-cloudtrail-logs".into(),
            params: vec![
                ("account", "123456789012".into()),
                ("logGroup", "aws-cloudtrail-logs".into()),
                ("logStream", "123456789012_CloudTrail_us-east-1".into()),
            ],
            tags: Vec::new(),
        }),
        timestamp_ms: 1_795_341_600_000,
        msg_id: "log".into(),
        severity: Severity::Informational,
        id: Some("40037475458187003690344930304012654267096890197207295769".into()),
        payload,
        detection: None,
    };
    let redaction = filters(FilterSettings {
        redact: every_rule(),
        ..FilterSettings::default()
    });
    let mut counts = RedactionCounts::default();
    redaction.redact(&mut record, &mut counts);
    Detections::new(&[], Some("aws@32473")).apply(std::slice::from_mut(&mut record));
    let element = record.detection.as_ref().expect("the rule still fires");
    let param = |name: &str| {
        element
            .params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(param("repository"), Some("[REDACTED:aws-access-key-id]"));
    assert_eq!(param("sourceIp"), Some("[REDACTED:ipv4]"));
    assert_eq!(param("eventName"), Some("DeleteRepository"));

    let formatter = Formatter::new(SyslogSettings {
        organisation: "Acme".into(),
        ..SyslogSettings::default()
    });
    let message = String::from_utf8(
        formatter
            .batch(&[record])
            .expect("formats")
            .bytes()
            .to_vec(),
    )
    .expect("UTF-8");
    for secret in [
        "AKIAIOSFODNN7EXAMPLE",
        "198.51.100.99",
        "ASIAEXAMPLEKEY000001",
    ] {
        assert!(!message.contains(secret), "{secret} in {message}");
    }
    // The envelope is not the payload: the id and the origin's values are written as they came.
    assert!(message.contains(
        r#"logStream="123456789012_CloudTrail_us-east-1" id="40037475458187003690344930304012654267096890197207295769"]"#
    ));
}

#[test]
fn detections_still_see_event_names_principals_and_policies() {
    let detections = Detections::new(&[], Some("aws@32473"));
    let redaction = filters(FilterSettings {
        redact: every_rule(),
        ..FilterSettings::default()
    });
    let record = |payload: String| Record {
        kind: RecordKind::Log,
        origin: Arc::new(Origin {
            hostname: "123456789012".into(),
            app_name: "cloudtrail".into(),
            source: "aws-cloudtrail-logs".into(),
            params: Vec::new(),
            tags: Vec::new(),
        }),
        timestamp_ms: 0,
        msg_id: "log".into(),
        severity: Severity::Informational,
        id: None,
        payload,
        detection: None,
    };
    let mut cases: Vec<(String, String)> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let payload = fixture(&name);
            (name, payload)
        })
        .collect();
    // Two the fixtures lack: an Identity Center principal (its session name is an address) and
    // a policy whose condition names an address range.
    cases.push((
        "policy-public by an SSO user".into(),
        fixture("policy-public").replace(
            "assumed-role/PlatformAdmin/alice",
            "assumed-role/AWSReservedSSO_Admin_0a1b2c3d/alice@example.com",
        ),
    ));
    cases.push((
        "policy with a source IP condition".into(),
        fixture("negative-policy-with-condition").replace(
            r#"{\"StringEquals\": {\"aws:PrincipalOrgID\": \"o-a1b2c3d4e5\"}}"#,
            r#"{\"IpAddress\": {\"aws:SourceIp\": \"203.0.113.0/24\"}}"#,
        ),
    ));
    assert!(cases.last().expect("case").1.contains("aws:SourceIp"));
    let mut checked = 0;
    for (name, payload) in cases {
        let mut plain = record(payload);
        let mut redacted = plain.clone();
        let mut counts = RedactionCounts::default();
        redaction.redact(&mut redacted, &mut counts);
        detections.apply(std::slice::from_mut(&mut plain));
        detections.apply(std::slice::from_mut(&mut redacted));

        assert_eq!(plain.severity, redacted.severity, "{name}");
        let params = |r: &Record| -> Vec<(&'static str, String)> {
            r.detection
                .as_ref()
                .map(|d| {
                    d.params
                        .iter()
                        .filter(|(k, _)| *k != "sourceIp")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(params(&plain), params(&redacted), "{name}");

        // The fields the rules read are untouched; the JSON stays JSON.
        let json = |r: &Record| serde_json::from_str::<serde_json::Value>(&r.payload).ok();
        if let (Some(before), Some(after)) = (json(&plain), json(&redacted)) {
            for pointer in [
                "/eventName",
                "/eventSource",
                "/userIdentity/arn",
                "/userIdentity/invokedBy",
                "/recipientAccountId",
                "/errorCode",
                "/requestParameters/repositoryName",
                "/requestParameters/force",
                "/requestParameters/imageTagMutability",
                "/requestParameters/imageScanningConfiguration",
                "/requestParameters/rules",
                "/requestParameters/lifecyclePolicyText",
                "/responseElements/imageScanFindings",
            ] {
                assert_eq!(
                    before.pointer(pointer),
                    after.pointer(pointer),
                    "{name} {pointer}"
                );
            }
            assert_eq!(
                policy_shape(&before),
                policy_shape(&after),
                "{name}: who a policy lets in"
            );
            let key_id = before
                .pointer("/userIdentity/accessKeyId")
                .map(|_| serde_json::Value::from("[REDACTED:aws-access-key-id]"));
            assert_eq!(
                after.pointer("/userIdentity/accessKeyId").cloned(),
                key_id,
                "{name}"
            );
            checked += 1;
        } else {
            assert!(json(&plain).is_none(), "{name}: redaction broke the JSON");
        }
    }
    assert!(
        checked >= 32,
        "every CloudTrail fixture was read ({checked})"
    );
}

/// What the policy rules read of a `policyText`: each statement's effect, principals and the
/// condition operators and keys (a redacted address leaves a condition a condition).
fn policy_shape(trail: &serde_json::Value) -> Option<Vec<serde_json::Value>> {
    let text = trail.pointer("/requestParameters/policyText")?.as_str()?;
    let policy: serde_json::Value = serde_json::from_str(text).expect("the policy stays JSON");
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    Some(
        statements
            .iter()
            .map(|s| {
                let conditions: Vec<String> = s["Condition"]
                    .as_object()
                    .into_iter()
                    .flat_map(|ops| {
                        ops.iter().flat_map(|(op, keys)| {
                            keys.as_object()
                                .into_iter()
                                .flat_map(move |keys| keys.keys().map(move |k| format!("{op}:{k}")))
                        })
                    })
                    .collect();
                serde_json::json!([s["Effect"], s["Principal"], s["NotPrincipal"], conditions])
            })
            .collect(),
    )
}
