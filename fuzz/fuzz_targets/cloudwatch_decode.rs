//! The CloudWatch Logs decoder on hostile `awslogs.data`. The first byte picks the layer the rest of
//! the input lands in, so the fuzzer reaches the gzip and JSON stages instead of dying at base64.

#![no_main]

use std::io::Write;

use aws_syslog_forwarder::sources::{Limits, cloudwatch};
use aws_syslog_forwarder::syslog::{Formatter, Framing, SyslogSettings};
use base64::Engine;
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

// Small, so a gzip bomb in the corpus is refused quickly instead of eating the fuzzer's memory.
const LIMITS: Limits = Limits {
    max_event_bytes: 1 << 20,
    max_json_depth: 64,
    max_decompressed_bytes: 1 << 20,
    max_log_events: 100_000,
    max_message_bytes: 1 << 20,
    max_object_bytes: 1 << 20,
};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let data = match mode % 3 {
        // As sent: the base64 text itself.
        0 => String::from_utf8_lossy(rest).into_owned(),
        // Valid base64 of arbitrary (mostly not gzip) bytes.
        1 => b64(rest),
        // Valid base64 of valid gzip of arbitrary (ideally log data JSON) bytes.
        _ => b64(&gzip(rest)),
    };
    let Ok(log_data) = cloudwatch::decode(&data, LIMITS) else {
        return;
    };
    let Ok(records) = cloudwatch::records(log_data, LIMITS) else {
        return;
    };
    // What the handler does next: the decoded records must format without panicking.
    for framing in [Framing::OctetCounting, Framing::Lf] {
        let formatter = Formatter::new(SyslogSettings {
            organisation: "Fuzz".into(),
            framing,
            max_message_bytes: 1024,
            ..SyslogSettings::default()
        });
        let _ = formatter.batch(&records);
    }
});
