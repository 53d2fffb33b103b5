//! The event classifier and record builders on arbitrary text: any input gives an error or records.

#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_syslog_forwarder::findings::{BasicFinding, FindingsPage, ScanFindings, StaticFindings};
use aws_syslog_forwarder::sources::{self, Limits};
use aws_syslog_forwarder::syslog::{Formatter, SyslogSettings};
use libfuzzer_sys::fuzz_target;

const OWN_LOG_GROUP: &str = "/aws/lambda/aws-syslog-forwarder";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// Two pages, so a completed scan event also walks the pagination and builds finding records.
fn findings() -> &'static StaticFindings {
    static FINDINGS: OnceLock<StaticFindings> = OnceLock::new();
    FINDINGS.get_or_init(|| {
        let page = |name: &str, severity: &str| FindingsPage {
            scan: ScanFindings {
                image_scan_completed_at: Some(1_795_341_600_000),
                finding_severity_counts: BTreeMap::from([(severity.to_owned(), 1)]),
                findings: vec![BasicFinding {
                    name: Some(name.to_owned()),
                    severity: Some(severity.to_owned()),
                    ..BasicFinding::default()
                }],
                ..ScanFindings::default()
            },
            next_token: None,
        };
        StaticFindings {
            pages: vec![page("CVE-2026-0001", "HIGH"), page("CVE-2026-0002", "LOW")],
        }
    })
}

fuzz_target!(|input: &[u8]| {
    let Ok(raw) = std::str::from_utf8(input) else {
        return;
    };
    let _ = sources::classify(raw);
    let limits = Limits {
        max_decompressed_bytes: 1 << 20,
        ..Limits::default()
    };
    let result = runtime().block_on(sources::records(
        raw,
        limits,
        Some(OWN_LOG_GROUP),
        findings(),
    ));
    if let Ok(records) = result {
        let formatter = Formatter::new(SyslogSettings {
            organisation: "Fuzz".into(),
            max_message_bytes: 2048,
            ..SyslogSettings::default()
        });
        let _ = formatter.batch(&records);
    }
});
