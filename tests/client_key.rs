//! The mutual-TLS client key, as an operator gives it: through the built binary (`replay`, or under
//! the Lambda runtime emulator) into a real rsyslog that requires a client certificate. A key pasted
//! on one line delivers; a broken key fails naming the kind of problem; a key read from Secrets
//! Manager or SSM (moto) delivers, is read once per instance and again once after a refusal; no run
//! of any key's body reaches the log, at any level.

mod harness;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use harness::emulator::Emulator;
use harness::moto::Moto;
use harness::rsyslog::{Rsyslog, RsyslogOptions};

/// Every 16-character run of a PEM key's base64 body (markers and whitespace left out).
fn body_runs(key: &str) -> Vec<String> {
    let markers = regex::Regex::new("-----(BEGIN|END) [A-Z0-9 ]*-----").expect("regex");
    let body: Vec<char> = markers
        .replace_all(key, " ")
        .split_whitespace()
        .flat_map(str::chars)
        .collect();
    body.windows(16).map(|w| w.iter().collect()).collect()
}

fn assert_no_key_material(key: &str, log: &str) {
    let runs = body_runs(key);
    assert!(runs.len() > 10, "the key has no body: {key}");
    if let Some(run) = runs.iter().find(|run| log.contains(run.as_str())) {
        panic!("the log holds key material ({run}):\n{log}");
    }
}

fn event_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events/ecr-image-action.json")
}

/// The environment of a forwarder sending to rsyslog's TLS port, every log level on.
fn receiver_env(rsyslog: &Rsyslog) -> Vec<(String, String)> {
    [
        ("ORGANISATION", "Acme"),
        ("SYSLOG_HOST", "127.0.0.1"),
        ("SYSLOG_PORT", &rsyslog.tls_port.to_string()),
        ("SYSLOG_TLS_CA", &rsyslog.pki.ca_pem),
        ("RUST_LOG", "trace"),
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// `replay` of one EventBridge event with `env` added to [`receiver_env`].
fn replay_with(rsyslog: &Rsyslog, env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder"))
        .arg("replay")
        .arg(event_file())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(receiver_env(rsyslog))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("run replay")
}

/// `replay` with the client certificate and `key` in the environment.
fn replay(rsyslog: &Rsyslog, key: &str) -> Output {
    replay_with(
        rsyslog,
        &[
            (
                "SYSLOG_TLS_CLIENT_CERT".into(),
                rsyslog.pki.client_cert_pem.clone(),
            ),
            ("SYSLOG_TLS_CLIENT_KEY".into(), key.to_owned()),
        ],
    )
}

fn mutual_tls_rsyslog() -> Rsyslog {
    // OpenSSL's driver (TLS 1.3): it refuses an untrusted client certificate with an alert.
    Rsyslog::start_with(RsyslogOptions {
        tls_driver: "ossl",
        tls_auth_mode: "x509/certvalid",
        ..RsyslogOptions::default()
    })
}

fn log_of(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_key_pasted_on_one_line_delivers_and_a_broken_key_is_named_without_its_content() {
    let rsyslog = mutual_tls_rsyslog();
    let key = rsyslog.pki.client_key_pem.clone();
    // What a console text box makes of it: one line, spaces for line breaks.
    let one_line = key.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!one_line.contains('\n'));

    let output = replay(&rsyslog, &one_line);
    let log = log_of(&output);
    assert!(output.status.success(), "the one-line key: {log}");
    assert!(log.contains("delivered=1"), "{log}");
    assert!(
        log.contains("TLS connected"),
        "debug lines are logged too: {log}"
    );
    assert_eq!(rsyslog.wait_for(1, Duration::from_secs(10)).len(), 1);
    assert_no_key_material(&key, &log);

    // The same body with a character base64 does not have: refused at start-up, named by its kind.
    let mut lines: Vec<String> = key.lines().map(str::to_owned).collect();
    lines[1].replace_range(5..6, "*");
    let broken = lines.join(" ");
    let output = replay(&rsyslog, &broken);
    let log = log_of(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a configuration error: {log}"
    );
    assert!(
        log.contains("SYSLOG_TLS_CLIENT_KEY is invalid") && log.contains("not valid base64"),
        "{log}"
    );
    assert_no_key_material(&broken, &log);
    assert_no_key_material(&key, &log);
    assert_eq!(rsyslog.stored_lines(), 1, "nothing more was delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_from_an_ssm_secure_string_delivers() {
    let rsyslog = mutual_tls_rsyslog();
    let moto = Moto::start();
    let key = rsyslog.pki.client_key_pem.clone();
    let arn = moto.put_secure_parameter("/siem/client-key", &key).await;
    let mut env = moto.env();
    env.push((
        "SYSLOG_TLS_CLIENT_CERT".into(),
        rsyslog.pki.client_cert_pem.clone(),
    ));
    env.push(("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN".into(), arn.clone()));
    let output = replay_with(&rsyslog, &env);
    let log = log_of(&output);
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("delivered=1") && log.contains("TLS client key read"),
        "{log}"
    );
    assert!(
        log.contains(&arn),
        "the log names where the key came from: {log}"
    );
    assert!(
        log.contains("TLS connected"),
        "debug lines are logged too: {log}"
    );
    assert_eq!(rsyslog.wait_for(1, Duration::from_secs(10)).len(), 1);
    assert_no_key_material(&key, &log);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_and_its_secret_arn_together_are_refused_naming_both() {
    let rsyslog = mutual_tls_rsyslog();
    let env = [
        (
            "SYSLOG_TLS_CLIENT_CERT".to_owned(),
            rsyslog.pki.client_cert_pem.clone(),
        ),
        (
            "SYSLOG_TLS_CLIENT_KEY".to_owned(),
            rsyslog.pki.client_key_pem.clone(),
        ),
        (
            "SYSLOG_TLS_CLIENT_KEY_SECRET_ARN".to_owned(),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:siem-AbCdEf".to_owned(),
        ),
    ];
    let output = replay_with(&rsyslog, &env);
    let log = log_of(&output);
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(
        log.contains("SYSLOG_TLS_CLIENT_KEY and SYSLOG_TLS_CLIENT_KEY_SECRET_ARN are both set"),
        "{log}"
    );
    assert_no_key_material(&rsyslog.pki.client_key_pem, &log);
    assert_eq!(rsyslog.stored_lines(), 0);
}

/// One instance under the runtime emulator, the certificate and key in one Secrets Manager secret:
/// read once before the first connection; after a rotation the receiver refuses the old
/// certificate, the key is read again once, and the invocation delivers; later invocations do not
/// read it again (the secret is deleted and they still deliver).
#[tokio::test(flavor = "multi_thread")]
async fn the_key_from_secrets_manager_is_read_once_and_again_after_a_refusal() {
    let rsyslog = mutual_tls_rsyslog();
    let moto = Moto::start();
    let (old_cert, old_key) = harness::certs::untrusted_client_cert();
    let trusted = format!(
        "{}{}",
        rsyslog.pki.client_cert_pem, rsyslog.pki.client_key_pem
    );
    let arn = moto
        .create_secret("siem/client-key", &format!("{old_cert}{old_key}"))
        .await;
    let emulator = Emulator::start();
    let mut env = receiver_env(&rsyslog);
    env.extend(moto.env());
    env.push(("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN".into(), arn.clone()));
    let function =
        emulator.start_function(Path::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder")), &env);
    let reads = |log: &str| log.matches("TLS client key read").count();

    // The stored certificate is not trusted: refused; read again once (the same), still refused.
    let refused = emulator.invoke(&event_file());
    let log = function.log();
    assert!(!refused.success, "an untrusted certificate delivers: {log}");
    assert_eq!(
        reads(&log),
        2,
        "read before connecting and once after the refusal:\n{log}"
    );
    assert!(log.contains("ReceiverRefused"), "{log}");

    // Rotation: the next invocation is refused with the key it holds, reads the new one, delivers.
    moto.rotate_secret(&arn, &trusted).await;
    let rotated = emulator.invoke(&event_file());
    let log = function.log();
    assert!(
        rotated.success,
        "after the rotation: {}\n{log}",
        rotated.stderr
    );
    assert_eq!(reads(&log), 3, "{log}");
    assert!(log.contains("reading the key again"), "{log}");
    assert_eq!(rsyslog.wait_for(1, Duration::from_secs(10)).len(), 1);

    // Read once per instance: without the secret the instance still delivers with the key it has.
    moto.delete_secret(&arn).await;
    let later = emulator.invoke(&event_file());
    let log = function.log();
    assert!(later.success, "{}\n{log}", later.stderr);
    assert_eq!(reads(&log), 3, "{log}");
    assert_eq!(rsyslog.wait_for(2, Duration::from_secs(10)).len(), 2);
    for key in [&old_key, &rsyslog.pki.client_key_pem] {
        assert_no_key_material(key, &log);
    }
}
