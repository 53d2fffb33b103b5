//! The formatter and splitter on structured arbitrary records and settings. Besides not panicking,
//! every successful output must frame into the reported number of messages, each within the cap as
//! the receiver counts it, whose payload parts concatenate back to the (escaped) payload.

#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use aws_syslog_forwarder::record::{Origin, Record, RecordKind, SdElement, Severity};
use aws_syslog_forwarder::syslog::sanitize::is_sd_name;
use aws_syslog_forwarder::syslog::{Facility, Formatter, Framing, SyslogFormat, SyslogSettings};
use libfuzzer_sys::fuzz_target;

/// SD-NAMEs are `&'static str` in records: the fuzzer picks among these.
const NAMES: [&str; 5] = ["account", "region", "logGroup", "x", "id"];

#[derive(Debug, Arbitrary)]
struct Input {
    organisation: String,
    rfc3164: bool,
    lf: bool,
    facility: u8,
    max_message_bytes: u16,
    sd_id: Option<String>,
    utf8_bom: bool,
    hostname: String,
    app_name: String,
    source: String,
    params: Vec<(u8, String)>,
    timestamp_ms: i64,
    msg_id: String,
    severity: u8,
    id: Option<String>,
    payload: String,
    tags: Option<Vec<(u8, String)>>,
}

fn params(raw: Vec<(u8, String)>) -> Vec<(&'static str, String)> {
    raw.into_iter()
        .map(|(n, v)| (NAMES[usize::from(n) % NAMES.len()], v))
        .collect()
}

fn severity(code: u8) -> Severity {
    match code % 8 {
        0 => Severity::Emergency,
        1 => Severity::Alert,
        2 => Severity::Critical,
        3 => Severity::Error,
        4 => Severity::Warning,
        5 => Severity::Notice,
        6 => Severity::Informational,
        _ => Severity::Debug,
    }
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// What rsyslog stores (see `stored_len` in the formatter): controls as `#ooo`, then a 3-byte margin.
fn stored_len(message: &[u8]) -> usize {
    match message.iter().filter(|b| is_control(**b)).count() {
        0 => message.len(),
        n => message.len() + 3 * n + 3,
    }
}

fn frames(framing: Framing, mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    match framing {
        Framing::OctetCounting => {
            while !bytes.is_empty() {
                let space = bytes.iter().position(|b| *b == b' ').expect("a length");
                let len: usize = std::str::from_utf8(&bytes[..space])
                    .expect("ASCII length")
                    .parse()
                    .expect("a decimal length");
                out.push(&bytes[space + 1..space + 1 + len]);
                bytes = &bytes[space + 1 + len..];
            }
        }
        Framing::Lf => {
            assert_eq!(bytes.last(), Some(&b'\n'), "LF framing ends with LF");
            out.extend(bytes[..bytes.len() - 1].split(|b| *b == b'\n'));
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let framing = if input.lf {
        Framing::Lf
    } else {
        Framing::OctetCounting
    };
    let settings = SyslogSettings {
        organisation: input.organisation,
        format: if input.rfc3164 {
            SyslogFormat::Rfc3164
        } else {
            SyslogFormat::Rfc5424
        },
        framing,
        facility: Facility::new(input.facility % 24).unwrap_or(Facility::LOCAL0),
        max_message_bytes: usize::from(input.max_message_bytes),
        // Configuration accepts only valid SD-NAMEs.
        sd_id: input.sd_id.filter(|id| is_sd_name(id)),
        utf8_bom: input.utf8_bom,
    };
    let record = Record {
        kind: RecordKind::Log,
        origin: Arc::new(Origin {
            hostname: input.hostname,
            app_name: input.app_name,
            source: input.source,
            params: params(input.params),
            tags: Vec::new(),
        }),
        timestamp_ms: input.timestamp_ms,
        msg_id: input.msg_id.into(),
        severity: severity(input.severity),
        id: input.id,
        payload: input.payload,
        detection: input.tags.map(|tags| {
            Box::new(SdElement {
                id: "detection@32473".into(),
                params: params(tags),
            })
        }),
    };

    let formatter = Formatter::new(settings.clone());
    let mut out = Vec::new();
    let Ok(parts) = formatter.encode(&record, &mut out) else {
        return;
    };

    // The header and prefix alone: the same record with an empty payload, uncapped.
    let mut head = Vec::new();
    let empty = Record {
        payload: String::new(),
        ..record.clone()
    };
    Formatter::new(SyslogSettings {
        max_message_bytes: 0,
        ..settings.clone()
    })
    .encode(&empty, &mut head)
    .expect("no cap, no error");
    let head = frames(framing, &head)[0].to_vec();

    let messages = frames(framing, &out);
    assert_eq!(messages.len(), parts);
    let mut rebuilt = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let max = settings.max_message_bytes;
        assert!(
            max == 0 || stored_len(message) <= max,
            "part {index} over {max}"
        );
        assert!(
            std::str::from_utf8(message).is_ok(),
            "part {index} is not UTF-8"
        );
        let mut rest = message
            .strip_prefix(head.as_slice())
            .expect("every part has the header");
        if parts > 1 {
            let marker = format!("Part:{}/{parts},", index + 1);
            rest = rest.strip_prefix(marker.as_bytes()).expect("a part marker");
        }
        rebuilt.extend_from_slice(rest);
        if settings.format == SyslogFormat::Rfc5424 {
            let text = std::str::from_utf8(message).expect("checked above");
            if let Err(e) = syslog_rfc5424::parse_message(text) {
                panic!("not RFC 5424 ({e}): {text:?}");
            }
        }
    }
    // `Organisation:` inside a payload is written `Organisation#072` (no payload can claim a tenant).
    let defused = record.payload.replace("Organisation:", "Organisation#072");
    let expected = match framing {
        Framing::OctetCounting => defused,
        Framing::Lf => defused.replace('\n', "#012").replace('\r', "#015"),
    };
    assert_eq!(rebuilt, expected.as_bytes());
});
