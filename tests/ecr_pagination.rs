//! DescribeImageScanFindings pagination through the real `aws-sdk-ecr` client, with responses served
//! by `aws-smithy-mocks` (moto does not paginate).

use std::sync::{Arc, Mutex};

use aws_sdk_ecr::Client;
use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::types::{
    EnhancedImageScanFinding, FindingSeverity, ImageScanFinding, ImageScanFindings,
    PackageVulnerabilityDetails,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_syslog_forwarder::findings::EcrFindings;
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::syslog::SyslogSettings;
use aws_syslog_forwarder::transport::{Sink, WriterSink};

const DIGEST: &str = "sha256:160634c2f78652f33472b35da0673f4723a831089bbd29c4e38b2bd77a01af13";

fn scan_event(status: &str) -> String {
    format!(
        r#"{{"version":"0","id":"a1b2","detail-type":"ECR Image Scan","source":"aws.ecr","account":"123456789012","time":"2026-11-22T10:15:30Z","region":"us-east-1","resources":[],"detail":{{"scan-status":"{status}","repository-name":"payments-api","image-digest":"{DIGEST}","image-tags":[]}}}}"#
    )
}

fn basic(n: usize) -> ImageScanFinding {
    let severity = [
        FindingSeverity::Critical,
        FindingSeverity::High,
        FindingSeverity::Low,
    ][n % 3]
        .clone();
    ImageScanFinding::builder()
        .name(format!("CVE-2026-{n:05}"))
        .severity(severity)
        .uri(format!(
            "https://security-tracker.debian.org/tracker/CVE-2026-{n:05}"
        ))
        .build()
}

fn enhanced(n: usize) -> EnhancedImageScanFinding {
    EnhancedImageScanFinding::builder()
        .finding_arn(format!(
            "arn:aws:inspector2:us-east-1:123456789012:finding/{n:032x}"
        ))
        .severity("MEDIUM")
        .package_vulnerability_details(
            PackageVulnerabilityDetails::builder()
                .vulnerability_id(format!("CVE-2025-{n:05}"))
                .build(),
        )
        .build()
}

fn page(
    findings: std::ops::Range<usize>,
    enhanced_findings: std::ops::Range<usize>,
    next: Option<&str>,
) -> DescribeImageScanFindingsOutput {
    DescribeImageScanFindingsOutput::builder()
        .image_scan_findings(
            ImageScanFindings::builder()
                .set_findings(Some(findings.map(basic).collect()))
                .set_enhanced_findings(Some(enhanced_findings.map(enhanced).collect()))
                .finding_severity_counts(FindingSeverity::Critical, 767)
                .build(),
        )
        .set_next_token(next.map(str::to_owned))
        .build()
}

/// registryId, repositoryName, imageDigest, maxResults, nextToken of one request.
type SeenRequest = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
);

fn forwarder(client: Client) -> Forwarder<EcrFindings> {
    Forwarder::new(
        SyslogSettings {
            organisation: "Acme".into(),
            ..SyslogSettings::default()
        },
        EcrFindings::with_client(client),
        Sink::Writer(WriterSink::new(tokio::io::sink())),
    )
}

#[tokio::test]
async fn follows_next_token_to_the_last_page() {
    let requests: Arc<Mutex<Vec<SeenRequest>>> = Arc::default();
    let seen = Arc::clone(&requests);
    let rule = mock!(Client::describe_image_scan_findings).then_compute_output(move |req| {
        seen.lock().unwrap().push((
            req.registry_id().map(str::to_owned),
            req.repository_name().map(str::to_owned),
            req.image_id()
                .and_then(|i| i.image_digest())
                .map(str::to_owned),
            req.max_results(),
            req.next_token().map(str::to_owned),
        ));
        match req.next_token() {
            None => page(0..1000, 0..0, Some("page-2")),
            Some("page-2") => page(1000..2000, 0..0, Some("page-3")),
            Some("page-3") => page(2000..2300, 0..100, Some("page-4")),
            _ => page(0..0, 100..200, None),
        }
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&rule]);
    let records = forwarder(client)
        .records(&scan_event("COMPLETE"))
        .await
        .unwrap();

    assert_eq!(records.len(), 2_501, "2,500 findings and the summary");
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    for (i, (registry, repository, digest, max_results, token)) in requests.iter().enumerate() {
        assert_eq!(registry.as_deref(), Some("123456789012"));
        assert_eq!(repository.as_deref(), Some("payments-api"));
        assert_eq!(digest.as_deref(), Some(DIGEST));
        assert_eq!(*max_results, Some(1000));
        let expected = [None, Some("page-2"), Some("page-3"), Some("page-4")][i];
        assert_eq!(token.as_deref(), expected);
    }
    let summary = records.last().unwrap();
    assert_eq!(summary.msg_id, "scanSummary");
    assert!(
        summary.payload.contains(r#""findingsForwarded":2500"#),
        "{}",
        summary.payload
    );
    assert_eq!(
        summary.severity.code(),
        2,
        "the highest finding severity is CRITICAL"
    );
    let ids: std::collections::HashSet<_> = records.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        ids.len(),
        2_501,
        "every record has its own de-duplication id"
    );
    assert!(
        records[2_300]
            .payload
            .contains(r#""cveName":"CVE-2025-00000""#)
    );
    assert!(records[2_300].payload.contains(r#""scanType":"enhanced""#));
}

#[tokio::test]
async fn a_repeated_token_stops_instead_of_looping() {
    let rule = mock!(Client::describe_image_scan_findings)
        .then_compute_output(|_| page(0..1, 0..0, Some("same")));
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&rule]);
    let err = forwarder(client)
        .records(&scan_event("COMPLETE"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[tokio::test]
async fn other_statuses_send_only_the_summary_without_calling_ecr() {
    let rule =
        mock!(Client::describe_image_scan_findings).then_compute_output(|_| page(0..5, 0..0, None));
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&rule]);
    let records = forwarder(client)
        .records(&scan_event("FAILED"))
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(rule.num_calls(), 0);
    assert_eq!(records[0].severity.code(), 4, "a failed scan is a warning");
    assert!(records[0].payload.contains(r#""scanStatus":"FAILED""#));
}

#[tokio::test]
async fn a_repository_or_image_that_is_gone_yields_the_summary_with_the_reason() {
    use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsError;
    use aws_sdk_ecr::types::error::{ImageNotFoundException, RepositoryNotFoundException};
    type MakeError = fn() -> DescribeImageScanFindingsError;
    let cases: [(MakeError, &str); 2] = [
        (
            || {
                DescribeImageScanFindingsError::RepositoryNotFoundException(
                    RepositoryNotFoundException::builder()
                        .message("no such repository")
                        .build(),
                )
            },
            "RepositoryNotFoundException",
        ),
        (
            || {
                DescribeImageScanFindingsError::ImageNotFoundException(
                    ImageNotFoundException::builder()
                        .message("no such image")
                        .build(),
                )
            },
            "ImageNotFoundException",
        ),
    ];
    for (error, code) in cases {
        let rule = mock!(Client::describe_image_scan_findings).then_error(error);
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&rule]);
        let records = forwarder(client)
            .records(&scan_event("COMPLETE"))
            .await
            .expect("a scan whose findings are gone still yields its summary");
        assert_eq!(records.len(), 1, "{code}: only the summary");
        assert_eq!(records[0].msg_id, "scanSummary");
        let unavailable = format!(r#""findingsUnavailable":"{code}""#);
        assert!(
            records[0].payload.contains(&unavailable),
            "{}",
            records[0].payload
        );
        assert!(records[0].payload.contains(r#""reason":""#));
    }
}

#[tokio::test]
async fn other_service_errors_fail_the_event_with_the_cause() {
    use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsError;
    use aws_sdk_ecr::types::error::InvalidParameterException;
    let rule = mock!(Client::describe_image_scan_findings).then_error(|| {
        DescribeImageScanFindingsError::InvalidParameterException(
            InvalidParameterException::builder()
                .message("bad registry id")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&rule]);
    let err = forwarder(client)
        .records(&scan_event("COMPLETE"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("DescribeImageScanFindings failed for payments-api@sha256:"),
        "{text}"
    );
    assert!(text.contains("InvalidParameterException"), "{text}");
}
