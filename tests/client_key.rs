//! The mutual-TLS client key, as an operator gives it: through the built binary's `replay` into a
//! real rsyslog that requires a client certificate. A key pasted on one line delivers; a broken key
//! fails naming the kind of problem; no run of either key's body reaches the log, at any level.

mod harness;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

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

/// `replay` of one EventBridge event to rsyslog's TLS port with `key`, every log level on.
fn replay(rsyslog: &Rsyslog, key: &str) -> Output {
    let event = Path::new(env!("CARGO_MANIFEST_DIR")).join("events/ecr-image-action.json");
    Command::new(env!("CARGO_BIN_EXE_aws-syslog-forwarder"))
        .arg("replay")
        .arg(event)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ORGANISATION", "Acme")
        .env("SYSLOG_HOST", "127.0.0.1")
        .env("SYSLOG_PORT", rsyslog.tls_port.to_string())
        .env("SYSLOG_TLS_CA", &rsyslog.pki.ca_pem)
        .env("SYSLOG_TLS_CLIENT_CERT", &rsyslog.pki.client_cert_pem)
        .env("SYSLOG_TLS_CLIENT_KEY", key)
        .env("RUST_LOG", "trace")
        .env("AWS_LAMBDA_LOG_LEVEL", "TRACE")
        .stdin(Stdio::null())
        .output()
        .expect("run replay")
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
    let rsyslog = Rsyslog::start_with(RsyslogOptions {
        tls_driver: "ossl",
        tls_auth_mode: "x509/certvalid",
        ..RsyslogOptions::default()
    });
    let key = rsyslog.pki.client_key_pem.clone();
    // What a console text box makes of it: one line, spaces for line breaks.
    let one_line = key.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!one_line.contains('\n'));

    let output = replay(&rsyslog, &one_line);
    let log = log_of(&output);
    assert!(output.status.success(), "the one-line key: {log}");
    assert!(log.contains("delivered=1"), "{log}");
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
