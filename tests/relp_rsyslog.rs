//! Delivery over RELP to a real rsyslog (`imrelp`, Debian package rsyslog-relp), plain and TLS:
//! every record arrives once, in order, exactly as sent, and the SIEM's regexes still find tenant
//! and source. And the receiver killed in the middle of a large batch: over RELP the invocation
//! never reports a record delivered that rsyslog did not store; the same scenario over plain TCP
//! shows what TCP loses.

mod harness;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_syslog_forwarder::config::{ClientAuth, ClientKey, Destination, TlsSettings};
use aws_syslog_forwarder::handler::{ForwardError, Outcome};
use aws_syslog_forwarder::transport::RetryPolicy;
use harness::forwarding::*;
use harness::rsyslog::{Received, Rsyslog, RsyslogOptions};
use harness::wait_until;
use regex::Regex;

const SIEM_REGEX: &str = r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>[^,]+),";
const FINDING_REGEX: &str = r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),";
const CLOUDTRAIL_REGEX: &str =
    r#"Organisation:(?P<Tenant>[^,]+).*?"eventSource":"(?P<Computer>[^"]+)"#;

fn rsyslog_with_relp() -> Rsyslog {
    Rsyslog::start_with(RsyslogOptions {
        relp: true,
        direct_queues: true,
        ..RsyslogOptions::default()
    })
}

/// RELP over TLS to the harness's imrelp, which requires a client certificate of the test CA.
fn relp_tls(rsyslog: &Rsyslog) -> Destination {
    Destination {
        tls: Some(TlsSettings {
            ca_pem: Some(rsyslog.pki.ca_pem.clone()),
            server_name: "localhost".into(),
            client_auth: Some(ClientAuth {
                cert_pem: rsyslog.pki.client_cert_pem.clone(),
                key: ClientKey::Pem(rsyslog.pki.client_key_pem.clone()),
            }),
            pins: Vec::new(),
        }),
        ..relp(rsyslog.relp_tls_port)
    }
}

/// Forwards each event through one forwarder (one warm session) and checks what rsyslog stored:
/// every message once, in order, exactly as sent, tenant and source where the SIEM looks.
async fn delivers_exactly(rsyslog: &Rsyslog, destination: &Destination) {
    let forwarder = forwarder(destination, settings());
    let mut expected = Vec::new();
    for (i, name) in [
        "cloudtrail-ecr.json",
        "ecr-image-scan.json",
        "cloudwatch-app-logs.json",
    ]
    .into_iter()
    .enumerate()
    {
        let raw = event(name);
        let messages = expected_messages(&forwarder, &raw).await;
        let (metrics, outcome) = forwarder.forward_measured(&raw, deadline()).await;
        let outcome = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outcome.delivered, outcome.records, "{name}");
        let frames = metrics.relp.expect("RELP counts");
        assert_eq!(frames.acknowledged, messages.len() as u64, "{name}");
        assert_eq!((frames.refused, frames.resent), (0, 0), "{name}");
        assert_eq!(
            metrics.connect_ms.is_some(),
            i == 0,
            "{name}: one session for all invocations"
        );
        expected.extend(messages);
    }
    let received = rsyslog.wait_for(expected.len(), WAIT);
    let sent: Vec<String> = expected.iter().map(|m| as_rsyslog_stores(m)).collect();
    assert_eq!(raws(&received), sent, "once, in order, exactly as sent");
    check_regexes(&received);
}

fn check_regexes(received: &[Received]) {
    let siem = Regex::new(SIEM_REGEX).unwrap();
    let finding = Regex::new(FINDING_REGEX).unwrap();
    let cloudtrail = Regex::new(CLOUDTRAIL_REGEX).unwrap();
    let (mut findings, mut trails) = (0, 0);
    for r in received {
        let caps = siem
            .captures(&r.msg)
            .unwrap_or_else(|| panic!("regex misses {}", r.msg));
        assert_eq!(&caps["tenant"], "Acme");
        if let Some(caps) = finding.captures(&r.msg) {
            assert_eq!(&caps["tenant"], "Acme");
            findings += 1;
        }
        if let Some(caps) = cloudtrail.captures(&r.msg) {
            assert_eq!(&caps["Tenant"], "Acme");
            assert!(caps["Computer"].ends_with(".amazonaws.com"));
            trails += 1;
        }
    }
    assert_eq!(
        (findings, trails),
        (8, 9),
        "8 scan records, 9 CloudTrail records"
    );
}

#[tokio::test]
async fn relp_delivers_every_record_once_in_order_exactly() {
    let rsyslog = rsyslog_with_relp();
    delivers_exactly(&rsyslog, &relp(rsyslog.relp_port)).await;
}

#[tokio::test]
async fn relp_over_tls_with_a_client_certificate_delivers_exactly() {
    let rsyslog = rsyslog_with_relp();
    delivers_exactly(&rsyslog, &relp_tls(&rsyslog)).await;
}

#[tokio::test]
async fn relp_over_tls_without_the_client_certificate_fails_and_says_so() {
    let rsyslog = rsyslog_with_relp();
    let mut destination = relp_tls(&rsyslog);
    if let Some(tls) = destination.tls.as_mut() {
        tls.client_auth = None;
    }
    let err = forwarder(&destination, settings())
        .forward(&event("ecr-image-action.json"), deadline())
        .await
        .expect_err("imrelp with tls=\"on\" requires a client certificate");
    let ForwardError::Delivery(delivery) = &err else {
        panic!("expected a delivery error, got {err}");
    };
    assert_eq!(delivery.delivered, 0);
    assert!(err.to_string().contains("SYSLOG_TLS_CLIENT_CERT"), "{err}");
    assert!(rsyslog.received().is_empty());
}

/// One record per log event with the id `{i:056}`, 400-odd bytes each.
fn large_event(records: usize) -> String {
    let lines: Vec<String> = (0..records)
        .map(|i| {
            format!(
                "{{\"requestId\":\"{i:08}\",\"level\":\"INFO\",\"msg\":\"{}\"}}",
                "x".repeat(360)
            )
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    subscription("/aws/lambda/orders-api", &refs)
}

/// The ids of the records rsyslog stored.
fn stored_ids(received: &[Received]) -> BTreeSet<usize> {
    let id = Regex::new(r#"id="(\d{56})""#).unwrap();
    received
        .iter()
        .filter_map(|r| id.captures(&r.sd)?[1].parse().ok())
        .collect()
}

/// What one run of the kill scenario showed.
struct KillRun {
    outcome: Result<Outcome, ForwardError>,
    /// Records the invocation reported delivered.
    claimed: usize,
    /// Of those, records rsyslog does not have.
    lost: usize,
    stored: usize,
    broken_lines: usize,
    killed: bool,
}

/// Sends `records` records and kills rsyslog (SIGKILL) once it has stored a tenth of them, then
/// starts it again while the forwarder is still at work.
fn kill_mid_batch(rsyslog: &mut Rsyslog, destination: &Destination, records: usize) -> KillRun {
    let retry = RetryPolicy {
        window: Duration::from_secs(30),
        retries: 10,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };
    let forwarder = forwarder_with_retry(destination, settings(), retry);
    let raw = large_event(records);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let finished = AtomicBool::new(false);
    let (outcome, killed) = std::thread::scope(|scope| {
        let killer = scope.spawn(|| {
            let threshold = records / 10;
            let reached = wait_until(Duration::from_secs(60), || {
                rsyslog.stored_lines() >= threshold || finished.load(Ordering::SeqCst)
            });
            if !reached || rsyslog.stored_lines() < threshold {
                return false;
            }
            rsyslog.kill();
            rsyslog.start_again();
            true
        });
        let outcome = runtime.block_on(
            forwarder.forward(&raw, tokio::time::Instant::now() + Duration::from_secs(60)),
        );
        finished.store(true, Ordering::SeqCst);
        (outcome, killer.join().expect("the killer thread"))
    });
    let claimed = match &outcome {
        Ok(outcome) => outcome.delivered,
        Err(ForwardError::Delivery(e)) => e.delivered,
        Err(e) => panic!("not a delivery outcome: {e}"),
    };
    // Whatever was acknowledged is stored by now; wait a little for what was only sent.
    wait_until(WAIT, || rsyslog.received_after_kill().0.len() >= records);
    std::thread::sleep(Duration::from_millis(300));
    let (received, broken_lines) = rsyslog.received_after_kill();
    let ids = stored_ids(&received);
    let lost = (0..claimed).filter(|i| !ids.contains(i)).count();
    KillRun {
        outcome,
        claimed,
        lost,
        stored: ids.len(),
        broken_lines,
        killed,
    }
}

#[test]
fn receiver_killed_mid_batch_relp_never_reports_a_lost_record_delivered() {
    const RECORDS: usize = 20_000;
    let mut rsyslog = rsyslog_with_relp();
    let destination = relp(rsyslog.relp_port);
    let run = kill_mid_batch(&mut rsyslog, &destination, RECORDS);
    eprintln!(
        "RELP, receiver killed mid-batch: outcome {}, {} of {RECORDS} records reported delivered, \
         {} stored, {} reported delivered but lost, {} lines cut short by the kill",
        describe(&run.outcome),
        run.claimed,
        run.stored,
        run.lost,
        run.broken_lines
    );
    assert!(run.killed, "rsyslog was killed in the middle of the batch");
    assert_eq!(run.lost, 0, "a record reported delivered is stored");
    if run.outcome.is_ok() {
        assert_eq!(run.stored, RECORDS, "success means every record is stored");
    }

    let mut rsyslog = rsyslog_with_relp();
    let destination = tcp(rsyslog.tcp_port);
    let tcp_run = kill_mid_batch(&mut rsyslog, &destination, RECORDS);
    eprintln!(
        "plain TCP, same scenario: outcome {}, {} of {RECORDS} records reported delivered, {} \
         stored, {} reported delivered but lost (TCP LOST {} RECORDS), {} lines cut short",
        describe(&tcp_run.outcome),
        tcp_run.claimed,
        tcp_run.stored,
        tcp_run.lost,
        tcp_run.lost,
        tcp_run.broken_lines
    );
    assert!(
        tcp_run.killed,
        "rsyslog was killed in the middle of the batch"
    );
}

fn describe(outcome: &Result<Outcome, ForwardError>) -> String {
    match outcome {
        Ok(_) => "success".into(),
        Err(e) => format!("failure ({e})"),
    }
}
