//! End to end: the built binary under cargo-lambda's Runtime API emulator, every sample event sent
//! with `cargo lambda invoke`, records arriving in a real rsyslog over TLS, ECR findings from moto.

mod harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::emulator::Emulator;
use harness::moto::{Moto, findings_response};
use harness::rsyslog::Rsyslog;
use regex::Regex;

const REPOSITORY: &str = "payments-api";
const DIGEST: &str = "sha256:160634c2f78652f33472b35da0673f4723a831089bbd29c4e38b2bd77a01af13";

fn event_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_through_the_lambda_runtime() {
    let rsyslog = Rsyslog::start();
    let moto = Moto::start();
    moto.push_scanned_image(REPOSITORY, DIGEST, "v1.4.2").await;
    moto.inject_findings(findings_response(REPOSITORY, DIGEST, 3, 2));

    let emulator = Emulator::start();
    let mut env: Vec<(String, String)> = vec![
        ("ORGANISATION".into(), "Acme".into()),
        ("SYSLOG_HOST".into(), "127.0.0.1".into()),
        ("SYSLOG_PORT".into(), rsyslog.tls_port.to_string()),
        ("SYSLOG_TLS".into(), "True".into()),
        ("SYSLOG_TLS_CA".into(), rsyslog.pki.ca_pem.clone()),
        ("SYSLOG_TLS_SERVER_NAME".into(), "localhost".into()),
    ];
    env.extend(moto.env());
    let function =
        emulator.start_function(Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")), &env);

    // (file, syslog messages it produces)
    let cases = [
        ("cloudtrail-ecr.json", 9),
        ("cloudwatch-app-logs.json", 7),
        ("cloudwatch-control.json", 0),
        ("ecr-image-action.json", 1),
        ("ecr-image-scan-failed.json", 1),
        ("ecr-image-scan.json", 3 + 2 + 1),
        ("inspector2-scan.json", 3 + 2 + 1),
    ];
    let mut expected = 0;
    for (name, messages) in cases {
        let outcome = emulator.invoke(&event_file(name));
        assert!(
            outcome.success,
            "{name}: {}\n{}\nfunction log:\n{}",
            outcome.stdout,
            outcome.stderr,
            function.log()
        );
        expected += messages;
        let received = rsyslog.wait_for(expected, Duration::from_secs(10));
        assert_eq!(
            received.len(),
            expected,
            "after {name}: {:#?}",
            received.last()
        );
    }

    let received = rsyslog.received();
    let tenant =
        Regex::new(r"^Organisation:(?P<tenant>[^,]+),Event Source:(?P<source>[^,]+),").unwrap();
    let finding =
        Regex::new(r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),").unwrap();
    for r in &received {
        let caps = tenant
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("untagged: {}", r.msg));
        assert_eq!(&caps["tenant"], "Acme");
        assert_eq!(r.hostname, "123456789012");
    }
    let ecr: Vec<_> = received
        .iter()
        .filter(|r| finding.is_match(&r.msg))
        .collect();
    assert_eq!(
        ecr.len(),
        1 + 6 + 6,
        "failed-scan summary + two scans of 5 findings and a summary"
    );
    assert_eq!(ecr.iter().filter(|r| r.msgid == "finding").count(), 10);
    // Detections are on by default: every ECR call of the CloudTrail sample matches a rule, the
    // sts record does not.
    let detected: Vec<_> = received
        .iter()
        .filter(|r| r.sd.contains("][detection@32473 rule="))
        .collect();
    assert_eq!(detected.len(), 8, "{detected:#?}");
    assert!(
        detected
            .iter()
            .any(|r| r.severity == 2 && r.sd.contains("rule=\"ecr-forced-repository-delete\""))
    );

    // Anything else fails the invocation, and nothing is sent.
    let outcome = emulator.invoke(&event_file("findings.json"));
    assert!(
        !outcome.success,
        "a non-event must fail: {}",
        outcome.stdout
    );
    let said = format!("{}{}", outcome.stdout, outcome.stderr);
    assert!(said.contains("unsupported event"), "{said}");
    assert!(
        said.contains("UnsupportedEvent"),
        "Lambda's errorType names the kind of failure: {said}"
    );
    assert_eq!(
        rsyslog.wait_for(expected + 1, Duration::from_secs(1)).len(),
        expected
    );

    // One EMF metrics line per invocation.
    let log = function.log();
    assert_eq!(log.matches("\"_aws\":{").count(), cases.len() + 1, "{log}");
    assert!(log.contains("\"RecordsForwarded\":9"), "{log}");
}
