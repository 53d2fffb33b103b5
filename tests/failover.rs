//! SYSLOG_HOST as a list of receivers, against real rsyslog instances on loopback: the first entry
//! down delivers to the next, the forwarder stays there, and fails back to the first after
//! SYSLOG_FAILBACK_SECONDS; every entry down fails naming each; over TLS each entry is verified
//! against its own name.

mod harness;

use std::collections::HashMap;
use std::time::Duration;

use aws_syslog_forwarder::config::{Config, Destination};
use harness::forwarding::*;
use harness::rsyslog::{Rsyslog, RsyslogOptions};
use tokio::time::Instant;

/// The tests of this file run one at a time: a port they expect nobody to listen on (a killed
/// rsyslogd's, a free one) could be taken by another test's rsyslogd.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The destination the configuration makes of these variables (plus an organisation).
fn configured(vars: &[(&str, String)]) -> Destination {
    let mut map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    map.insert("ORGANISATION".into(), "Acme".into());
    Config::from_lookup(|k| map.get(k).cloned())
        .expect("valid configuration")
        .destination
        .expect("SYSLOG_HOST is set")
}

/// The messages rsyslog stored, in order.
fn messages(rsyslog: &Rsyslog) -> Vec<String> {
    rsyslog
        .received()
        .into_iter()
        .map(|r| r.msg.rsplit(',').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_next_entry_takes_over_keeps_the_traffic_and_gives_it_back_after_the_window() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const FAILBACK: Duration = Duration::from_secs(4);
    let mut first = Rsyslog::start();
    let mut second = Rsyslog::start();
    first.kill();
    let destination = configured(&[
        (
            "SYSLOG_HOST",
            format!("127.0.0.1:{},127.0.0.1:{}", first.tcp_port, second.tcp_port),
        ),
        ("SYSLOG_TLS", "false".into()),
        ("SYSLOG_FAILBACK_SECONDS", FAILBACK.as_secs().to_string()),
    ]);
    let forwarder = forwarder(&destination, settings());

    let (metrics, outcome) = forwarder
        .forward_measured(&subscription("/a", &["one"]), deadline())
        .await;
    outcome.expect("the second entry takes the record");
    let switched = Instant::now();
    assert_eq!(
        metrics.receiver_failovers, 1,
        "one switch, to the second entry"
    );
    second.wait_for(1, WAIT);
    assert_eq!(messages(&second), ["one"]);

    // The first entry is back, but the forwarder stays on the second for the window: on its warm
    // connection, and on a new one after the second restarted.
    first.start_again();
    let (metrics, outcome) = forwarder
        .forward_measured(&subscription("/a", &["two"]), deadline())
        .await;
    outcome.expect("delivered on the warm connection");
    assert_eq!(metrics.receiver_failovers, 0);
    second.restart();
    let (metrics, outcome) = forwarder
        .forward_measured(&subscription("/a", &["three"]), deadline())
        .await;
    outcome.expect("delivered on a new connection");
    assert_eq!(metrics.receiver_failovers, 0);
    assert!(
        switched.elapsed() < FAILBACK,
        "the test took too long to show the forwarder staying ({:?})",
        switched.elapsed()
    );
    second.wait_for(3, WAIT);
    assert_eq!(messages(&second), ["one", "two", "three"]);
    assert!(messages(&first).is_empty(), "{:?}", messages(&first));

    // After the window, the next delivery goes to the first entry again.
    tokio::time::sleep_until(switched + FAILBACK + Duration::from_millis(200)).await;
    let (metrics, outcome) = forwarder
        .forward_measured(&subscription("/a", &["four"]), deadline())
        .await;
    outcome.expect("the first entry takes the record again");
    assert_eq!(
        metrics.receiver_failovers, 1,
        "one switch, back to the first"
    );
    first.wait_for(1, WAIT);
    assert_eq!(messages(&first), ["four"]);
    assert_eq!(messages(&second), ["one", "two", "three"]);
}

#[tokio::test]
async fn every_entry_down_fails_naming_each_and_its_cause() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (a, b) = (harness::free_port(), harness::free_port());
    let destination = configured(&[
        ("SYSLOG_HOST", format!("127.0.0.1:{a},localhost")),
        ("SYSLOG_PORT", b.to_string()),
        ("SYSLOG_TLS", "false".into()),
    ]);
    let err = forwarder(&destination, settings())
        .forward(&subscription("/a", &["lost"]), deadline())
        .await
        .expect_err("nobody listens");
    let text = err.to_string();
    assert!(text.contains("every SYSLOG_HOST entry failed"), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{a}: cannot connect")),
        "{text}"
    );
    assert!(
        text.contains(&format!("localhost:{b}: cannot connect")),
        "{text}"
    );
    assert!(text.contains("0 of 1 records delivered"), "{text}");
    assert_eq!(
        err.error_type(),
        "DeliveryFailed",
        "a retry may find one up"
    );
}

#[tokio::test]
async fn over_tls_each_entry_is_verified_against_its_own_name() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // The second receiver's certificate names 127.0.0.1 only: verified against the first entry's
    // name (localhost), it would be refused.
    let mut first = Rsyslog::start();
    let second = Rsyslog::start_with(RsyslogOptions {
        names: vec!["127.0.0.1".into()],
        ..RsyslogOptions::default()
    });
    first.kill();
    let destination = configured(&[
        (
            "SYSLOG_HOST",
            format!("localhost:{},127.0.0.1:{}", first.tls_port, second.tls_port),
        ),
        ("SYSLOG_TLS_CA", second.pki.ca_pem.clone()),
    ]);
    let (metrics, outcome) = forwarder(&destination, settings())
        .forward_measured(&subscription("/a", &["over tls"]), deadline())
        .await;
    outcome.expect("the second entry's certificate carries its own name");
    assert_eq!(metrics.receiver_failovers, 1);
    second.wait_for(1, WAIT);
    assert_eq!(messages(&second), ["over tls"]);
}
