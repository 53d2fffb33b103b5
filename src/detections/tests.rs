use std::sync::Arc;

use super::*;
use crate::record::Origin;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/detections/",
            $name,
            ".json"
        ))
    };
}

fn record(payload: &str) -> Record {
    Record {
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
        id: Some("1".into()),
        payload: payload.to_owned(),
        detection: None,
    }
}

fn tagged(payload: &str) -> Record {
    let mut records = [record(payload)];
    Detections::new(&[], Some("aws@32473")).apply(&mut records);
    let [record] = records;
    record
}

fn param<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    let tags = record.detection.as_ref()?;
    tags.params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// Fixture, the rules that fire (most severe first), and the record's severity.
const POSITIVE: &[(&str, &str, &str, u8)] = &[
    (
        "forced-repository-delete",
        fixture!("forced-repository-delete"),
        "ecr-forced-repository-delete",
        2,
    ),
    (
        "repository-delete",
        fixture!("repository-delete"),
        "ecr-repository-delete",
        5,
    ),
    (
        "image-delete",
        fixture!("image-delete"),
        "ecr-image-delete",
        4,
    ),
    (
        "scan-on-push-disabled",
        fixture!("scan-on-push-disabled"),
        "ecr-scan-on-push-disabled",
        3,
    ),
    (
        "registry-scanning-without-rules",
        fixture!("registry-scanning-without-rules"),
        "ecr-scan-on-push-disabled",
        3,
    ),
    (
        "registry-scanning-manual-only",
        fixture!("registry-scanning-manual-only"),
        "ecr-scan-on-push-disabled",
        3,
    ),
    (
        "tag-mutability-enabled",
        fixture!("tag-mutability-enabled"),
        "ecr-tag-mutability-enabled",
        3,
    ),
    (
        "tag-mutability-with-exclusion",
        fixture!("tag-mutability-with-exclusion"),
        "ecr-tag-mutability-enabled",
        3,
    ),
    (
        "lifecycle-policy-first-priority",
        fixture!("lifecycle-policy-first-priority"),
        "ecr-lifecycle-policy-put",
        3,
    ),
    (
        "lifecycle-policy",
        fixture!("lifecycle-policy"),
        "ecr-lifecycle-policy-put",
        5,
    ),
    (
        "repository-policy-set",
        fixture!("repository-policy-set"),
        "ecr-repository-policy-changed",
        4,
    ),
    (
        "repository-policy-deleted",
        fixture!("repository-policy-deleted"),
        "ecr-repository-policy-changed",
        4,
    ),
    (
        "registry-policy-put",
        fixture!("registry-policy-put"),
        "ecr-registry-policy-changed",
        4,
    ),
    (
        "registry-policy-deleted",
        fixture!("registry-policy-deleted"),
        "ecr-registry-policy-changed",
        4,
    ),
    (
        "policy-public",
        fixture!("policy-public"),
        "ecr-policy-public,ecr-repository-policy-changed",
        1,
    ),
    (
        "registry-policy-public",
        fixture!("registry-policy-public"),
        "ecr-policy-public,ecr-registry-policy-changed",
        1,
    ),
    (
        "policy-cross-account",
        fixture!("policy-cross-account"),
        "ecr-repository-policy-changed,ecr-policy-cross-account",
        4,
    ),
    (
        "repository-created",
        fixture!("repository-created"),
        "ecr-repository-created",
        5,
    ),
    (
        "image-pushed",
        fixture!("image-pushed"),
        "ecr-image-pushed",
        6,
    ),
    (
        "image-pulled",
        fixture!("image-pulled"),
        "ecr-image-pulled",
        6,
    ),
    (
        "scan-findings-high",
        fixture!("scan-findings-high"),
        "ecr-scan-findings-high",
        3,
    ),
    (
        "scan-findings-medium",
        fixture!("scan-findings-medium"),
        "ecr-scan-findings-medium",
        4,
    ),
];

#[test]
fn every_rule_fires_on_its_fixture() {
    for (name, payload, rules, severity) in POSITIVE {
        let record = tagged(payload);
        assert_eq!(param(&record, "rule"), Some(*rules), "{name}");
        assert_eq!(record.severity.code(), *severity, "{name}");
        assert_eq!(record.payload, *payload, "{name}: MSG unchanged");
        assert_eq!(param(&record, "outcome"), Some("success"), "{name}");
        assert_eq!(record.detection.as_ref().unwrap().id, "detection@32473");
    }
    let fired: std::collections::BTreeSet<&str> = POSITIVE
        .iter()
        .flat_map(|(_, _, rules, _)| rules.split(','))
        .collect();
    let all: std::collections::BTreeSet<&str> = rule_ids().collect();
    assert_eq!(fired, all, "every rule has a fixture");
}

#[test]
fn tags_name_technique_tactic_principal_and_source() {
    let record = tagged(fixture!("policy-public"));
    assert_eq!(param(&record, "technique"), Some("T1530,T1484"));
    assert_eq!(param(&record, "tactic"), Some("TA0009,TA0004"));
    assert_eq!(param(&record, "eventName"), Some("SetRepositoryPolicy"));
    assert_eq!(
        param(&record, "principal"),
        Some("arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice")
    );
    assert_eq!(param(&record, "sourceIp"), Some("203.0.113.24"));

    let pulled = tagged(fixture!("image-pulled"));
    assert_eq!(param(&pulled, "principal"), Some("ecs-tasks.amazonaws.com"));

    let created = tagged(fixture!("repository-created"));
    assert_eq!(param(&created, "imageTagMutability"), Some("MUTABLE"));
    assert_eq!(param(&created, "scanOnPush"), Some("false"));
}

#[test]
fn a_failed_call_keeps_its_rule_one_step_lower() {
    let record = tagged(fixture!("failed-forced-repository-delete"));
    assert_eq!(param(&record, "rule"), Some("ecr-forced-repository-delete"));
    assert_eq!(param(&record, "outcome"), Some("failure"));
    assert_eq!(record.severity, Severity::Error);
}

#[test]
fn negatives_do_not_fire() {
    for (name, payload) in [
        ("scanOnPush true", fixture!("negative-scan-on-push-enabled")),
        (
            "registry scan on push",
            fixture!("negative-registry-scanning-on-push"),
        ),
        ("IMMUTABLE", fixture!("negative-tag-immutable")),
        ("low findings only", fixture!("negative-scan-findings-low")),
        ("read-only call", fixture!("negative-describe-repositories")),
        ("another service", fixture!("negative-unrelated-service")),
        ("malformed JSON", fixture!("negative-malformed")),
    ] {
        let record = tagged(payload);
        assert!(record.detection.is_none(), "{name}: {:?}", record.detection);
        assert_eq!(record.severity, Severity::Informational, "{name}");
    }
    // A policy change with a condition is still a policy change, but not public.
    let conditioned = tagged(fixture!("negative-policy-with-condition"));
    assert_eq!(
        param(&conditioned, "rule"),
        Some("ecr-repository-policy-changed")
    );
}

#[test]
fn ordinary_logs_and_other_sources_are_untouched() {
    let mut records = [
        record("GET /health 200"),
        record(fixture!("forced-repository-delete")),
    ];
    records[1].msg_id = "finding".into();
    records[1].kind = RecordKind::Finding;
    let before = records.clone();
    Detections::new(&[], None).apply(&mut records);
    assert_eq!(records, before);
}

#[test]
fn disabled_rules_do_not_fire_and_the_sd_id_follows_the_configuration() {
    let disabled = vec!["ecr-policy-public".to_owned()];
    let mut records = [record(fixture!("policy-public"))];
    Detections::new(&disabled, Some("acme@55555")).apply(&mut records);
    assert_eq!(
        param(&records[0], "rule"),
        Some("ecr-repository-policy-changed")
    );
    assert_eq!(records[0].severity, Severity::Warning);
    assert_eq!(records[0].detection.as_ref().unwrap().id, "detection@55555");
}
