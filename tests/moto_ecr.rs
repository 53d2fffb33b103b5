//! ECR image scans against the moto server as the ECR API: every injected finding becomes a record.

mod harness;

use aws_syslog_forwarder::findings::EcrFindings;
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::syslog::SyslogSettings;
use aws_syslog_forwarder::transport::{Sink, WriterSink};
use harness::moto::{ACCOUNT, Moto, REGION, findings_response};
use serde_json::{Value, json};

const REPOSITORY: &str = "payments-api";
const DIGEST: &str = "sha256:160634c2f78652f33472b35da0673f4723a831089bbd29c4e38b2bd77a01af13";
const OTHER_DIGEST: &str =
    "sha256:5e7a1c0f3d9b2a8e6c4f1d0b9a8e7c6d5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c";

fn scan_event() -> String {
    json!({
        "version": "0", "id": "9d2c7a1e-3f5b-c840-1e6d-7a2b9c4f0e13", "detail-type": "ECR Image Scan",
        "source": "aws.ecr", "account": ACCOUNT, "time": "2026-11-22T10:15:30Z", "region": REGION,
        "resources": [format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPOSITORY}")],
        "detail": {"scan-status": "COMPLETE", "repository-name": REPOSITORY, "image-digest": DIGEST, "image-tags": [],
                   "finding-severity-counts": {"HIGH": 1, "LOW": 2}},
    })
    .to_string()
}

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(20)
}

fn forwarder(moto: &Moto) -> Forwarder<EcrFindings> {
    Forwarder::new(
        SyslogSettings {
            organisation: "Acme".into(),
            ..SyslogSettings::default()
        },
        EcrFindings::with_client(moto.ecr_client()),
        Sink::Writer(WriterSink::new(tokio::io::sink())),
    )
}

#[tokio::test]
async fn every_injected_finding_becomes_a_record() {
    let moto = Moto::start();
    moto.push_scanned_image(REPOSITORY, DIGEST, "v1.4.2").await;
    moto.inject_findings(findings_response(REPOSITORY, DIGEST, 5, 2));

    let records = forwarder(&moto)
        .records(&scan_event())
        .await
        .expect("findings read from moto");

    assert_eq!(records.len(), 8, "5 basic + 2 enhanced findings + summary");
    let payloads: Vec<Value> = records
        .iter()
        .map(|r| serde_json::from_str(&r.payload).expect("payload is JSON"))
        .collect();
    for (i, p) in payloads[..5].iter().enumerate() {
        assert_eq!(p["type"], "finding");
        assert_eq!(p["cveName"], format!("CVE-2026-{i:04}"));
        assert_eq!(p["repositoryName"], REPOSITORY);
        assert_eq!(p["imageDigest"], DIGEST);
        assert_eq!(p["awsAccount"], ACCOUNT);
        assert_eq!(p["scanTime"], "2026-11-22T10:15:30.000Z");
        assert_eq!(p["packageName"], format!("pkg{i}"));
        assert_eq!(p["cvssScore"], 7.5);
    }
    let severities: Vec<u8> = records.iter().map(|r| r.severity.code()).collect();
    assert_eq!(severities, vec![2, 3, 4, 5, 6, 3, 3, 2]);
    assert_eq!(payloads[5]["vulnerabilityId"], "CVE-2025-0000");
    assert_eq!(
        payloads[5]["findingArn"],
        format!("arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{:032x}", 0)
    );
    assert_eq!(payloads[5]["fixAvailable"], "YES");
    assert_eq!(payloads[5]["fixedInVersion"], "3.0.2");
    assert_eq!(payloads[7]["type"], "scanSummary");
    assert_eq!(payloads[7]["findingsForwarded"], 7);
    assert_eq!(payloads[7]["findingSeverityCounts"]["HIGH"], 3);
}

/// Scenario 12: the image (or its repository, or its scan) is gone by the time the forwarder asks:
/// the summary is forwarded with the reason and the event succeeds, instead of failing forever.
#[tokio::test]
async fn findings_of_a_deleted_image_give_the_summary_with_the_reason() {
    let moto = Moto::start();
    moto.push_scanned_image(REPOSITORY, DIGEST, "v1").await;
    moto.push_image("unscanned", OTHER_DIGEST, "v1").await;
    let gone_image = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let cases = [
        (
            scan_event().replace(REPOSITORY, "deleted-repo"),
            "RepositoryNotFoundException",
            "the repository was deleted after the scan",
        ),
        (
            scan_event().replace(DIGEST, gone_image),
            "ImageNotFoundException",
            "the image was deleted after the scan",
        ),
        (
            scan_event()
                .replace(DIGEST, OTHER_DIGEST)
                .replace(REPOSITORY, "unscanned"),
            "ScanNotFoundException",
            "ECR has no scan for this image any more",
        ),
    ];
    for (event, code, reason) in cases {
        let forwarder = forwarder(&moto);
        let outcome = forwarder.forward(&event, deadline()).await.expect(code);
        assert_eq!((outcome.records, outcome.delivered), (1, 1), "{code}");
        let records = forwarder.records(&event).await.expect(code);
        let summary: Value = serde_json::from_str(&records[0].payload).unwrap();
        assert_eq!(summary["type"], "scanSummary");
        assert_eq!(summary["findingsUnavailable"], code);
        assert_eq!(summary["reason"], reason);
        assert_eq!(summary["findingsForwarded"], 0);
        assert_eq!(
            summary["findingSeverityCounts"]["HIGH"], 1,
            "the event's counts are kept"
        );
        assert_eq!(
            records[0].severity.code(),
            3,
            "severity from the event's counts"
        );
    }
}
