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

fn scan_event() -> String {
    json!({
        "version": "0", "id": "9d2c7a1e-3f5b-c840-1e6d-7a2b9c4f0e13", "detail-type": "ECR Image Scan",
        "source": "aws.ecr", "account": ACCOUNT, "time": "2026-11-22T10:15:30Z", "region": REGION,
        "resources": [format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPOSITORY}")],
        "detail": {"scan-status": "COMPLETE", "repository-name": REPOSITORY, "image-digest": DIGEST, "image-tags": []},
    })
    .to_string()
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

#[tokio::test]
async fn a_scan_that_ecr_does_not_know_fails_the_event() {
    let moto = Moto::start();
    moto.push_scanned_image(REPOSITORY, DIGEST, "v1").await;
    let other = scan_event().replace("payments-api", "deleted-repo");
    let err = forwarder(&moto)
        .records(&other)
        .await
        .expect_err("unknown repository");
    assert!(
        err.to_string().contains("RepositoryNotFoundException"),
        "{err}"
    );
}
