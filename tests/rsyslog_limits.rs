//! The splitter's size rule, checked against the receiver it is written for: generated payloads
//! heavy in control characters and multi-byte text, cut for rsyslog's `maxMessageSize`, are stored
//! whole by a real rsyslog with that limit (no part truncated, no junk record). This is the oracle
//! for the margin the formatter keeps, rather than the formatter's own constant.

mod harness;

use harness::forwarding::*;
use harness::rsyslog::{Rsyslog, RsyslogOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const LIMIT: usize = 2048;

fn payload() -> impl Strategy<Value = String> {
    let char = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        2 => proptest::sample::select(vec!['\t', '\n', '\r', '\u{1}', '\u{1b}', '\u{7f}']),
        1 => proptest::sample::select(vec!['é', '日', '😀', ' ', '"', ']', '\\']),
    ];
    proptest::collection::vec(char, 200..5_000).prop_map(|chars| chars.into_iter().collect())
}

#[test]
fn split_parts_are_stored_whole_by_rsyslog_at_its_limit() {
    let rsyslog = Rsyslog::start_with(RsyslogOptions {
        max_message_size: LIMIT,
        ..RsyslogOptions::default()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let forwarder = forwarder(
        &tcp(rsyslog.tcp_port),
        aws_syslog_forwarder::syslog::SyslogSettings {
            max_message_bytes: LIMIT,
            ..settings()
        },
    );
    let cases = std::env::var("RSYSLOG_LIMIT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // Each case reads the records after the previous ones: a junk record (a truncated tail) shifts
    // them and fails the case; the marker at the end catches one after the last case.
    let stored_so_far = std::cell::Cell::new(0);
    let result = runner.run(&payload(), |payload| {
        let raw = subscription("/aws/lambda/limits", &[payload.as_str()]);
        let expected = runtime.block_on(expected_messages(&forwarder, &raw));
        runtime
            .block_on(forwarder.forward(&raw, deadline()))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let before = stored_so_far.get();
        let received = rsyslog.wait_for(before + expected.len(), WAIT);
        let stored: Vec<String> = received[before..(before + expected.len()).min(received.len())]
            .iter()
            .map(|r| r.raw.clone())
            .collect();
        stored_so_far.set(before + expected.len());
        let sent: Vec<String> = expected.iter().map(|m| as_rsyslog_stores(m)).collect();
        prop_assert_eq!(stored, sent, "a part was truncated or split by rsyslog");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\nrsyslog said:\n{}", rsyslog.stderr());
    }
    let marker = subscription("/aws/lambda/limits", &["end of the cases"]);
    runtime
        .block_on(forwarder.forward(&marker, deadline()))
        .expect("the marker is delivered");
    let received = rsyslog.wait_for(stored_so_far.get() + 1, WAIT);
    assert_eq!(
        received.len(),
        stored_so_far.get() + 1,
        "a junk record after the last case"
    );
    assert!(
        received[stored_so_far.get()]
            .msg
            .ends_with("end of the cases")
    );
}
