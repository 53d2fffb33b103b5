//! An AWS API without a route (a VPC with neither an endpoint nor a NAT gateway) is a "black hole":
//! the connection opens, no answer ever comes. Through the built binary under the Lambda runtime
//! emulator, with such a listener as the ECR, S3 and Secrets Manager endpoints, each invocation
//! fails in about 15 s (the SDK's operation timeout, retries included), well before its deadline,
//! with its own errorType and an error naming the endpoint and the VPC endpoint to add.

mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::emulator::{Emulator, FunctionProcess};
use harness::faulty::SilentServer;
use harness::s3::{notification, trail_key};
use harness::test_dir;

/// The SDK's operation timeout is 15 s; the margin covers start-up and the emulator's round trip.
const WELL_UNDER_THE_DEADLINE: Duration = Duration::from_secs(25);

fn invoke_and_fail(
    emulator: &Emulator,
    function: &FunctionProcess,
    name: &str,
    event: &str,
) -> Duration {
    let file = test_dir("unreachable").join(format!("{name}.json"));
    std::fs::write(&file, event).expect("write the event");
    let started = Instant::now();
    let outcome = emulator.invoke(&file);
    let elapsed = started.elapsed();
    assert!(
        !outcome.success,
        "{name}: the invocation must fail: {}\n{}\nfunction log:\n{}",
        outcome.stdout,
        outcome.stderr,
        function.log()
    );
    elapsed
}

#[test]
fn ecr_and_s3_without_a_route_fail_fast_naming_the_endpoint() {
    let ecr = SilentServer::start();
    let s3 = SilentServer::start();
    let ecr_endpoint = format!("http://127.0.0.1:{}", ecr.port());
    let s3_endpoint = format!("http://127.0.0.1:{}", s3.port());
    let emulator = Emulator::start();
    let env: Vec<(String, String)> = [
        ("ORGANISATION", "Acme"),
        // A receiver is never reached: the events fail while being read.
        ("SYSLOG_HOST", "127.0.0.1"),
        ("SYSLOG_PORT", "9"),
        ("SYSLOG_TLS", "false"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_ECR", &ecr_endpoint),
        ("AWS_ENDPOINT_URL_S3", &s3_endpoint),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let function =
        emulator.start_function(Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")), &env);

    let scan = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("events/ecr-image-scan.json"),
    )
    .expect("events/ecr-image-scan.json");
    let elapsed = invoke_and_fail(&emulator, &function, "ecr", &scan);
    let log = function.log();
    assert!(
        elapsed < WELL_UNDER_THE_DEADLINE,
        "ECR took {elapsed:?}:\n{log}"
    );
    assert!(ecr.connections() >= 1, "ECR was never called:\n{log}");
    assert!(log.contains("FindingsError"), "errorType:\n{log}");
    assert!(
        log.contains(&format!("no answer from {ecr_endpoint} within 15 s")),
        "the endpoint:\n{log}"
    );
    assert!(
        log.contains("com.amazonaws.us-east-1.ecr.api") && log.contains("NAT gateway"),
        "the hint:\n{log}"
    );

    let key = trail_key("111111111111", "unreachable");
    let elapsed = invoke_and_fail(
        &emulator,
        &function,
        "s3",
        &notification(&[("trail-bucket", &key, 100)]),
    );
    let log = function.log();
    assert!(
        elapsed < WELL_UNDER_THE_DEADLINE,
        "S3 took {elapsed:?}:\n{log}"
    );
    assert!(s3.connections() >= 1, "S3 was never called:\n{log}");
    assert!(log.contains("S3ReadFailed"), "errorType:\n{log}");
    assert!(
        log.contains(&format!("no answer from {s3_endpoint} within 15 s")),
        "the endpoint:\n{log}"
    );
    assert!(
        log.contains("a gateway VPC endpoint for com.amazonaws.us-east-1.s3"),
        "the hint:\n{log}"
    );
}

#[test]
fn secrets_manager_without_a_route_fails_fast_naming_the_endpoint() {
    let secrets = SilentServer::start();
    let endpoint = format!("http://127.0.0.1:{}", secrets.port());
    let emulator = Emulator::start();
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:siem/client-key-AbCdEf";
    let env: Vec<(String, String)> = [
        ("ORGANISATION", "Acme"),
        // Nothing listens there: the key is read before connecting, and that read fails first.
        ("SYSLOG_HOST", "127.0.0.1"),
        ("SYSLOG_PORT", "9"),
        ("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN", arn),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let function =
        emulator.start_function(Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")), &env);
    let event = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("events/ecr-image-action.json"),
    )
    .expect("events/ecr-image-action.json");
    let elapsed = invoke_and_fail(&emulator, &function, "secrets", &event);
    let log = function.log();
    assert!(
        elapsed < WELL_UNDER_THE_DEADLINE,
        "Secrets Manager took {elapsed:?}:\n{log}"
    );
    assert!(
        secrets.connections() >= 1,
        "Secrets Manager was never called:\n{log}"
    );
    assert!(log.contains("ClientKeyError"), "errorType:\n{log}");
    assert!(
        log.contains(&format!("cannot read the TLS client key from {arn}")),
        "the secret:\n{log}"
    );
    assert!(
        log.contains(&format!("no answer from {endpoint} within 15 s"))
            && log.contains("com.amazonaws.us-east-1.secretsmanager"),
        "the endpoint and the hint:\n{log}"
    );
}
