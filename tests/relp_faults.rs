//! RELP against a receiver that misbehaves on cue (`harness::relp_server`): refusals, answers out
//! of order, `serverclose`, silence, malformed or unexpected frames, offers without syslog. In
//! every case the outcome is honest: success only when every message was answered `200`, and a
//! failure counts as delivered only records whose every message was.

mod harness;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_syslog_forwarder::config::{Destination, Transport};
use aws_syslog_forwarder::findings::FileFindings;
use aws_syslog_forwarder::handler::{ForwardError, Forwarder, Outcome};
use aws_syslog_forwarder::metrics::Metrics;
use aws_syslog_forwarder::transport::RetryPolicy;
use harness::forwarding::*;
use harness::relp_server::{RelpServer, Script};

const RECORDS: usize = 300;

fn destination(server: &RelpServer, window: usize) -> Destination {
    Destination {
        transport: Transport::Relp { window },
        write_timeout: Duration::from_millis(300),
        ..tcp(server.port())
    }
}

fn fast_forwarder(server: &RelpServer, window: usize, retries: u32) -> Forwarder<FileFindings> {
    let retry = RetryPolicy {
        window: Duration::from_secs(10),
        retries,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    forwarder_with_retry(&destination(server, window), settings(), retry)
}

fn lines(count: usize) -> String {
    let lines: Vec<String> = (0..count).map(|i| format!("log line {i:05}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    subscription("/aws/lambda/orders-api", &refs)
}

/// Sends `RECORDS` records; checks the outcome against what the server acknowledged and returns
/// it with the metrics.
async fn run(
    server: &RelpServer,
    forwarder: &Forwarder<FileFindings>,
) -> (Metrics, Result<Outcome, ForwardError>) {
    let raw = lines(RECORDS);
    let sent = expected_messages(forwarder, &raw).await;
    assert_eq!(sent.len(), RECORDS, "one message per record");
    let (metrics, result) = forwarder.forward_measured(&raw, deadline()).await;
    let stored: BTreeSet<Vec<u8>> = server.stored().into_iter().collect();
    let claimed = match &result {
        Ok(outcome) => {
            assert_eq!(outcome.delivered, RECORDS);
            RECORDS
        }
        Err(ForwardError::Delivery(e)) => {
            assert_eq!(e.delivered + e.failed, RECORDS);
            e.delivered
        }
        Err(e) => panic!("not a delivery outcome: {e}"),
    };
    for (i, message) in sent.iter().take(claimed).enumerate() {
        assert!(
            stored.contains(message.as_bytes()),
            "record {i} reported delivered but never acknowledged: {message}"
        );
    }
    (metrics, result)
}

fn relp_counts(metrics: &Metrics) -> (u64, u64, u64) {
    let frames = metrics.relp.expect("RELP counts");
    (frames.acknowledged, frames.refused, frames.resent)
}

#[tokio::test]
async fn refused_messages_are_sent_again_on_a_new_session() {
    let server = RelpServer::start(vec![Script::Refuse(vec![3, 40])]);
    let forwarder = fast_forwarder(&server, 16, 3);
    let (metrics, result) = run(&server, &forwarder).await;
    result.expect("the second session takes everything");
    assert_eq!(server.connections(), 2);
    let (acknowledged, refused, resent) = relp_counts(&metrics);
    // The first refusal ends the session: 40 is never reached on it.
    assert_eq!(refused, 1);
    assert!(
        resent >= 1,
        "the refused message and those in flight: {resent}"
    );
    assert_eq!(
        acknowledged, RECORDS as u64,
        "each message acknowledged once"
    );
}

#[tokio::test]
async fn a_receiver_that_always_refuses_fails_the_invocation_honestly() {
    let server = RelpServer::start(vec![Script::Refuse(vec![20]); 10]);
    let forwarder = fast_forwarder(&server, 8, 2);
    let (metrics, result) = run(&server, &forwarder).await;
    let err = result.expect_err("message 20 of every session is refused");
    let text = err.to_string();
    assert!(text.contains("refused 1 message(s)"), "{text}");
    assert!(text.contains("500 queue full"), "{text}");
    assert_eq!(err.error_type(), "DeliveryFailed");
    assert_eq!(server.connections(), 3);
    assert_eq!(relp_counts(&metrics).1, 3);
}

#[tokio::test]
async fn answers_out_of_order_are_matched_by_transaction_number() {
    let server = RelpServer::start(vec![Script::Reverse(5)]);
    let forwarder = fast_forwarder(&server, 16, 0);
    let (metrics, result) = run(&server, &forwarder).await;
    result.expect("every message is answered, in another order");
    assert_eq!(server.connections(), 1);
    assert_eq!(relp_counts(&metrics), (RECORDS as u64, 0, 0));
}

#[tokio::test]
async fn serverclose_moves_the_unanswered_messages_to_a_new_session() {
    let server = RelpServer::start(vec![Script::ServerCloseAfter(50)]);
    let forwarder = fast_forwarder(&server, 16, 3);
    let (metrics, result) = run(&server, &forwarder).await;
    result.expect("the second session takes the rest");
    assert_eq!(server.connections(), 2);
    let (acknowledged, _, resent) = relp_counts(&metrics);
    assert_eq!(acknowledged, RECORDS as u64);
    assert!((1..=16).contains(&resent), "the window in flight: {resent}");
    // The next invocation finds the session alive.
    let (metrics, result) = run(&server, &forwarder).await;
    result.expect("delivered on the warm session");
    assert_eq!((server.connections(), metrics.connect_ms), (2, None));
}

#[tokio::test]
async fn a_silent_receiver_fails_with_what_it_acknowledged() {
    let server = RelpServer::start(vec![Script::StallAfter(40); 10]);
    let forwarder = fast_forwarder(&server, 16, 2);
    let (metrics, result) = run(&server, &forwarder).await;
    let err = result.expect_err("no session answers past 40 messages");
    let ForwardError::Delivery(delivery) = &err else {
        panic!("expected a delivery error, got {err}");
    };
    // Each of the 3 sessions acknowledged the next 40 messages.
    assert_eq!(delivery.delivered, 120, "{err}");
    assert!(err.to_string().contains("answered none of 16"), "{err}");
    assert_eq!(relp_counts(&metrics).0, 120);
}

#[tokio::test]
async fn a_malformed_answer_ends_the_session_and_the_next_one_delivers() {
    let garbage = [
        &b"hello\n"[..],
        b"11 rsp xx\n",
        b"11 rsp 6 200 OK!",
        b"11 syslog 3 abc\n",
        b"11 rsp 3 2x0\n",
    ];
    for bytes in garbage {
        let server = RelpServer::start(vec![Script::GarbageAfter(10, bytes.to_vec())]);
        let forwarder = fast_forwarder(&server, 4, 2);
        let (_, result) = run(&server, &forwarder).await;
        result.unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(bytes)));
        assert_eq!(
            server.connections(),
            2,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[tokio::test]
async fn a_huge_announced_answer_is_refused_before_it_is_buffered() {
    let scripts = vec![Script::GarbageAfter(5, b"7 rsp 999999999 ".to_vec()); 10];
    let server = RelpServer::start(scripts);
    let forwarder = fast_forwarder(&server, 4, 1);
    let (_, result) = run(&server, &forwarder).await;
    let err = result.expect_err("every session breaks the protocol");
    let text = err.to_string();
    assert!(text.contains("more than an answer can hold"), "{text}");
    assert!(text.contains("is SYSLOG_PORT a RELP port?"), "{text}");
}

#[tokio::test]
async fn a_forwarder_that_goes_away_closes_its_session() {
    let server = RelpServer::start(vec![Script::Accept]);
    let forwarder = fast_forwarder(&server, 16, 0);
    let (_, result) = run(&server, &forwarder).await;
    result.expect("delivered");
    assert_eq!(
        server.closes(),
        0,
        "the session stays open for the next invocation"
    );
    drop(forwarder);
    assert!(
        harness::wait_until(Duration::from_secs(5), || server.closes() == 1),
        "the receiver got close"
    );
}

#[tokio::test]
async fn hints_other_than_serverclose_are_ignored() {
    // Two frames in one write: the hint and, right behind it, the answer it must not hide.
    let server = RelpServer::start(vec![Script::InsertBefore(7, b"0 future 0\n".to_vec())]);
    let forwarder = fast_forwarder(&server, 1, 0);
    let (metrics, result) = run(&server, &forwarder).await;
    result.expect("a hint asks nothing of the client");
    assert_eq!(server.connections(), 1);
    assert_eq!(relp_counts(&metrics), (RECORDS as u64, 0, 0));
}

#[tokio::test]
async fn an_answer_to_a_frame_never_sent_ends_the_session() {
    let server = RelpServer::start(vec![Script::UnknownAnswerAfter(5)]);
    let forwarder = fast_forwarder(&server, 16, 2);
    let (_, result) = run(&server, &forwarder).await;
    result.expect("the second session delivers");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_receiver_without_the_syslog_command_is_refused_at_once() {
    let offers = "200 OK\nrelp_version=0\nrelp_software=x,1,-\ncommands=eventlog\n";
    let server = RelpServer::start(vec![Script::OpenAnswer(offers.into()); 5]);
    let forwarder = fast_forwarder(&server, 16, 3);
    let (_, result) = run(&server, &forwarder).await;
    let err = result.expect_err("no syslog command");
    assert_eq!(err.error_type(), "ReceiverRefused");
    assert!(
        err.to_string()
            .contains("does not offer the syslog command"),
        "{err}"
    );
    assert_eq!(server.connections(), 1, "retrying cannot help");
    assert!(server.stored().is_empty());
}

#[tokio::test]
async fn a_refused_open_is_retried_then_reported() {
    let refusal = "500 required command not supported by client";
    let server = RelpServer::start(vec![Script::OpenAnswer(refusal.into()); 5]);
    let forwarder = fast_forwarder(&server, 16, 2);
    let (_, result) = run(&server, &forwarder).await;
    let err = result.expect_err("every open is refused");
    assert!(err.to_string().contains(refusal), "{err}");
    assert_eq!(server.connections(), 3);
}
