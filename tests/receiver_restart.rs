//! A receiver restart is not an outage: rsyslogd is killed (SIGKILL) in the middle of a large batch
//! and started again 3 s later. With the default SYSLOG_RETRY_SECONDS (10) the forwarder waits it
//! out and the invocation succeeds with every record stored, over plain TCP and over RELP; with
//! SYSLOG_RETRY_SECONDS=1 the same scenario fails cleanly, and no record reported delivered (nor
//! any record of a Kinesis item reported done) is missing.

mod harness;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_syslog_forwarder::config::Destination;
use aws_syslog_forwarder::findings::FileFindings;
use aws_syslog_forwarder::handler::{ForwardError, Forwarder, Outcome};
use aws_syslog_forwarder::transport::RetryPolicy;
use harness::batches::{kinesis_event, log_data};
use harness::encode::gzip;
use harness::forwarding::*;
use harness::rsyslog::{Received, Rsyslog, RsyslogOptions};
use harness::wait_until;
use regex::Regex;

/// How long rsyslogd stays dead.
const DOWN_FOR: Duration = Duration::from_secs(3);

/// The tests of this file run one at a time: while one rsyslogd is dead, another test's rsyslogd
/// could take its free port and receive what was meant for the dead one.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Direct queues: what rsyslog acknowledged (over RELP) is written before the answer. rsyslog's
/// default in-memory queues: it reads ahead of what it writes, and a kill loses what it held.
fn rsyslog(direct_queues: bool) -> Rsyslog {
    Rsyslog::start_with(RsyslogOptions {
        relp: true,
        direct_queues,
        ..RsyslogOptions::default()
    })
}

/// The forwarder as the configuration makes it: reconnects for `retry_for`.
fn patient_forwarder(destination: &Destination, retry_for: Duration) -> Forwarder<FileFindings> {
    let destination = Destination {
        retry_for,
        ..destination.clone()
    };
    forwarder_with_retry(
        &destination,
        settings(),
        RetryPolicy::for_destination(&destination),
    )
}

/// 400-odd-byte log lines with the ids `first..first + count`.
fn lines(first: usize, count: usize) -> Vec<String> {
    (first..first + count)
        .map(|i| {
            format!(
                "{{\"requestId\":\"{i:08}\",\"level\":\"INFO\",\"msg\":\"{}\"}}",
                "x".repeat(360)
            )
        })
        .collect()
}

/// The ids of the records rsyslog stored (a record stored twice counts once).
fn stored_ids(received: &[Received]) -> BTreeSet<usize> {
    let id = Regex::new(r#"id="(\d{56})""#).expect("regex");
    received
        .iter()
        .filter_map(|r| id.captures(&r.sd)?[1].parse().ok())
        .collect()
}

/// Forwards `raw` through a new rsyslog and, once it has stored `kill_at` records (a small
/// share: the forwarder is at most its unconfirmed bound plus the receiver's socket buffer ahead
/// of what is stored), kills it and starts it again after [`DOWN_FOR`]. A run whose forward did
/// not need the receiver after the kill tested nothing and is repeated (up to three runs).
fn through_a_restart(
    direct_queues: bool,
    destination_of: impl Fn(&Rsyslog) -> Destination,
    retry_for: Duration,
    raw: &str,
    kill_at: usize,
    expected: usize,
) -> Run {
    for _ in 0..3 {
        let mut rsyslog = rsyslog(direct_queues);
        let forwarder = patient_forwarder(&destination_of(&rsyslog), retry_for);
        let run = forward_through_a_restart(&mut rsyslog, &forwarder, raw, kill_at, expected);
        if run.killed {
            return run;
        }
        eprintln!(
            "the forward was done before rsyslogd was killed ({}, {:?}); once more",
            describe(&run.outcome),
            run.took
        );
    }
    panic!("in three runs rsyslogd was never killed in the middle of the forward");
}

fn forward_through_a_restart(
    rsyslog: &mut Rsyslog,
    forwarder: &Forwarder<FileFindings>,
    raw: &str,
    kill_at: usize,
    expected: usize,
) -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let finished = AtomicBool::new(false);
    let (outcome, took, ended, killed_at) = std::thread::scope(|scope| {
        let killer = scope.spawn(|| {
            let reached = wait_until(Duration::from_secs(60), || {
                rsyslog.stored_lines() >= kill_at || finished.load(Ordering::SeqCst)
            });
            if !reached || finished.load(Ordering::SeqCst) {
                return None;
            }
            rsyslog.kill();
            let killed_at = std::time::Instant::now();
            std::thread::sleep(DOWN_FOR);
            rsyslog.start_again();
            Some(killed_at)
        });
        let started = std::time::Instant::now();
        let outcome = runtime.block_on(
            forwarder.forward(raw, tokio::time::Instant::now() + Duration::from_secs(60)),
        );
        let ended = std::time::Instant::now();
        finished.store(true, Ordering::SeqCst);
        let killed_at = killer.join().expect("the killer thread");
        (outcome, ended - started, ended, killed_at)
    });
    // What was only written (not confirmed) may still be on its way into the file.
    wait_until(WAIT, || {
        stored_ids(&rsyslog.received_after_kill().0).len() >= expected
    });
    std::thread::sleep(Duration::from_millis(300));
    let received = rsyslog.received_after_kill().0;
    let stored = stored_ids(&received);
    // The forward depended on the kill only if it failed (or reported failed items) or outlasted
    // the receiver's absence: a success within it was complete (every byte acknowledged) before
    // the kill landed.
    let failed = match &outcome {
        Err(_) => true,
        Ok(done) => done
            .batch
            .as_ref()
            .is_some_and(|b| !b.batch_item_failures.is_empty()),
    };
    let killed = killed_at.is_some_and(|at| at < ended && (failed || ended - at >= DOWN_FOR));
    Run {
        outcome,
        killed,
        took,
        duplicates: received.len().saturating_sub(stored.len()),
        stored,
    }
}

/// What one forward through a restart showed.
struct Run {
    outcome: Result<Outcome, ForwardError>,
    /// rsyslogd was killed while the forward still needed it.
    killed: bool,
    /// How long the forward took.
    took: Duration,
    /// The ids rsyslog stored.
    stored: BTreeSet<usize>,
    /// Records stored more than once (resent).
    duplicates: usize,
}

fn claimed(outcome: &Result<Outcome, ForwardError>) -> usize {
    match outcome {
        Ok(outcome) => outcome.delivered,
        Err(ForwardError::Delivery(e)) => e.delivered,
        Err(ForwardError::PartlyDelivered { .. }) | Err(_) => {
            panic!("not a delivery outcome: {outcome:?}")
        }
    }
}

const RECORDS: usize = 60_000;

fn waits_out_the_restart(
    transport: &str,
    direct_queues: bool,
    destination: impl Fn(&Rsyslog) -> Destination,
) {
    let raw = subscription_of(&lines(0, RECORDS));
    let Run {
        outcome,
        killed,
        stored,
        duplicates,
        ..
    } = through_a_restart(
        direct_queues,
        destination,
        Duration::from_secs(10),
        &raw,
        RECORDS / 20,
        RECORDS,
    );
    let missing: Vec<usize> = (0..RECORDS).filter(|i| !stored.contains(i)).collect();
    eprintln!(
        "{transport} (rsyslog {} queues), rsyslogd killed mid-batch and back after {DOWN_FOR:?}: \
         outcome {}, {} of {RECORDS} stored, {} missing, {duplicates} duplicates",
        if direct_queues { "direct" } else { "default" },
        describe(&outcome),
        stored.len(),
        missing.len()
    );
    assert!(
        killed,
        "{transport}: rsyslog was killed in the middle of the batch"
    );
    let outcome = outcome.unwrap_or_else(|e| panic!("{transport}: the restart is waited out: {e}"));
    assert_eq!(outcome.delivered, RECORDS, "{transport}");
    assert!(
        missing.is_empty(),
        "{transport}: success means every record is stored; {} missing, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[test]
fn relp_waits_out_a_receiver_restart_and_stores_every_record() {
    let _serial = one_at_a_time();
    waits_out_the_restart("RELP", true, |r| relp(r.relp_port));
}

#[test]
fn tcp_waits_out_a_receiver_restart_and_stores_every_record() {
    let _serial = one_at_a_time();
    waits_out_the_restart("TCP", true, |r| tcp(r.tcp_port));
}

#[test]
fn a_one_second_retry_window_fails_cleanly_and_claims_only_what_is_stored() {
    let _serial = one_at_a_time();
    for (transport, relp_transport) in [("TCP", false), ("RELP", true)] {
        let raw = subscription_of(&lines(0, RECORDS));
        let Run {
            outcome,
            killed,
            took,
            stored,
            ..
        } = through_a_restart(
            true,
            |r| destination_of(r, relp_transport),
            Duration::from_secs(1),
            &raw,
            RECORDS / 20,
            0,
        );
        assert!(
            killed,
            "{transport}: rsyslog was killed in the middle of the batch"
        );
        let claimed = claimed(&outcome);
        let err = outcome.expect_err("a 1 s window does not cover a 3 s restart");
        assert_eq!(err.error_type(), "DeliveryFailed", "{transport}: {err}");
        assert!(
            took < Duration::from_secs(30),
            "{transport}: gave up after about a second of retries, not at the deadline ({took:?})"
        );
        let lost = (0..claimed).filter(|i| !stored.contains(i)).count();
        eprintln!(
            "{transport}, SYSLOG_RETRY_SECONDS=1: {err}; {claimed} claimed, {} stored, {lost} of \
             the claimed missing",
            stored.len()
        );
        assert_eq!(
            lost, 0,
            "{transport}: a record reported delivered is stored"
        );
    }
}

#[test]
fn a_kinesis_batch_through_a_restart_reports_no_item_done_that_lost_a_record() {
    let _serial = one_at_a_time();
    const ITEMS: usize = 60;
    const PER_ITEM: usize = 1_000;
    for (transport, relp_transport) in [("TCP", false), ("RELP", true)] {
        let datas: Vec<Vec<u8>> = (0..ITEMS)
            .map(|item| {
                let data = log_data(
                    "111122223333",
                    "/aws/lambda/orders-api",
                    item * PER_ITEM,
                    &lines(item * PER_ITEM, PER_ITEM),
                );
                gzip(data.to_string().as_bytes())
            })
            .collect();
        let (raw, sequences) = kinesis_event(&datas);
        let Run {
            outcome,
            killed,
            stored,
            ..
        } = through_a_restart(
            true,
            |r| destination_of(r, relp_transport),
            Duration::from_secs(1),
            &raw,
            ITEMS * PER_ITEM / 20,
            // Wait for every record that may come: what rsyslog acknowledged is still being
            // written when the forward reports.
            ITEMS * PER_ITEM,
        );
        assert!(
            killed,
            "{transport}: rsyslog was killed in the middle of the batch"
        );
        let outcome =
            outcome.unwrap_or_else(|e| panic!("{transport}: a partial batch response: {e}"));
        let failures = outcome
            .batch
            .expect("a Kinesis batch response")
            .batch_item_failures;
        // Kinesis resumes from the first reported item: every item before it is done.
        let first_failed = match failures.first() {
            Some(failure) => sequences
                .iter()
                .position(|s| *s == failure.item_identifier)
                .expect("a sequence number of the batch"),
            None => ITEMS,
        };
        // Usually the 1 s window gives up and items are reported; if the forward got through
        // after all (every item done), every record must be stored just the same.
        let incomplete: Vec<usize> = (0..first_failed)
            .filter(|item| (item * PER_ITEM..(item + 1) * PER_ITEM).any(|id| !stored.contains(&id)))
            .collect();
        eprintln!(
            "{transport}, Kinesis batch of {ITEMS} items through a kill: first reported item \
             {first_failed}, items before it missing records: {incomplete:?}"
        );
        assert!(
            incomplete.is_empty(),
            "{transport}: items reported done lost records: {incomplete:?}"
        );
    }
}

fn destination_of(rsyslog: &Rsyslog, over_relp: bool) -> Destination {
    if over_relp {
        relp(rsyslog.relp_port)
    } else {
        tcp(rsyslog.tcp_port)
    }
}

fn subscription_of(lines: &[String]) -> String {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    subscription("/aws/lambda/orders-api", &refs)
}

fn describe(outcome: &Result<Outcome, ForwardError>) -> String {
    match outcome {
        Ok(_) => "success".into(),
        Err(e) => format!("failure ({e})"),
    }
}
