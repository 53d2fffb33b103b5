//! Properties of the decoders, the formatter and the splitter over generated inputs: any input gives
//! an error or well-formed output, and what goes in comes out again. `fuzz/` drives the same code
//! with coverage guidance for longer (`make fuzz`).

mod harness;

use std::sync::Arc;

use aws_syslog_forwarder::findings::{BasicFinding, FindingsPage, ScanFindings, StaticFindings};
use aws_syslog_forwarder::record::{Origin, Record, RecordKind, SdElement, Severity};
use aws_syslog_forwarder::sources::{self, Event, Limits, SourceError, cloudwatch};
use aws_syslog_forwarder::syslog::{
    Facility, FormatError, Formatter, Framing, SyslogFormat, SyslogSettings,
};
use harness::encode::{base64 as b64, frames, gzip};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Generators

/// Characters that stress the syslog writer: line breaks, other controls, the three SD specials,
/// the prefix separators, the escape notation's own characters, multi-byte text.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => any::<char>(),
        1 => select(vec!['\n', '\r', '\t', '\0', '\u{1b}', '\u{7f}', '\u{85}']),
        1 => select(vec![']', '"', '\\', '[', '=', ',', ':', ' ', '#', '0', '1', '2', '5']),
        1 => select(vec!['é', '日', '本', '\u{feff}', '\u{1f600}', '\u{2028}']),
    ]
}

fn text(max_len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 0..=max_len).prop_map(|c| c.into_iter().collect())
}

/// Mostly short payloads, sometimes long enough to need many parts under a small cap.
fn payload() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => text(80),
        3 => text(1_000),
        1 => text(5_000),
        // Literal escape notation, so the ambiguity handled below actually occurs.
        1 => proptest::collection::vec(select(vec!["#012", "#015", "\n", "\r", "x", "日"]), 0..200)
            .prop_map(|p| p.concat()),
        // Text that would claim a tenant in an unanchored SIEM regex, and its written form.
        1 => proptest::collection::vec(
            select(vec!["Organisation:", "Organisation#072", "Organisation", ":", ",Event Source:AWS.ECR,", "x"]),
            0..60,
        )
        .prop_map(|p| p.concat()),
    ]
}

fn severity() -> impl Strategy<Value = Severity> {
    select(vec![
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Informational,
        Severity::Debug,
    ])
}

fn settings() -> impl Strategy<Value = SyslogSettings> {
    (
        text(24),
        select(vec![SyslogFormat::Rfc5424, SyslogFormat::Rfc3164]),
        select(vec![Framing::OctetCounting, Framing::Lf]),
        (0u8..24).prop_map(|code| Facility::new(code).expect("0-23")),
        prop_oneof![1 => Just(0usize), 2 => 200usize..600, 2 => 600usize..4_000],
        select(vec![
            Some("aws@32473".to_owned()),
            Some("x".to_owned()),
            None,
        ]),
        any::<bool>(),
        // SYSLOG_EXTRA_FIELDS as configuration accepts them: SD-NAMEs, values of any text.
        proptest::collection::vec(("[a-z][a-z0-9_.]{0,12}", text(16)), 0..3),
    )
        .prop_map(
            |(organisation, format, framing, facility, max, sd_id, utf8_bom, extra_fields)| {
                SyslogSettings {
                    organisation,
                    format,
                    framing,
                    facility,
                    max_message_bytes: max,
                    sd_id,
                    utf8_bom,
                    extra_fields,
                }
            },
        )
}

fn record() -> impl Strategy<Value = Record> {
    (
        (text(20), text(20), text(40), text(12), text(20)),
        (
            any::<i64>(),
            text(12),
            severity(),
            proptest::option::of(text(20)),
        ),
        payload(),
        proptest::option::of(text(12)),
    )
        .prop_map(
            |(
                (hostname, app_name, source, account, log_group),
                (timestamp_ms, msg_id, severity, id),
                payload,
                tag,
            )| Record {
                kind: RecordKind::Log,
                origin: Arc::new(Origin {
                    hostname,
                    app_name,
                    source,
                    params: vec![("account", account), ("logGroup", log_group)],
                    tags: Vec::new(),
                }),
                timestamp_ms,
                msg_id: msg_id.into(),
                severity,
                id,
                payload,
                detection: tag.map(|rule| {
                    Box::new(SdElement {
                        id: "detection@32473".into(),
                        params: vec![("rule", rule)],
                    })
                }),
            },
        )
}

// ---------------------------------------------------------------------------------------------
// An independent reading of the output

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Bytes a message takes once rsyslog has stored it: rsyslog escapes each control character as
/// `#ooo` (`parser.escapeControlCharactersOnReceive`, on by default), four bytes for one. The
/// formatter keeps a further margin of its own; whether rsyslog stores its parts whole is checked
/// against rsyslog itself in `tests/rsyslog_limits.rs`.
fn stored_len(message: &str) -> usize {
    message.len() + 3 * message.bytes().filter(|b| is_control(*b)).count()
}

/// The line-break escape LF framing applies (`#012` / `#015`, rsyslog's notation).
fn escaped(payload: &str, framing: Framing) -> String {
    // `Organisation:` inside a payload is written `Organisation#072` first, for every framing.
    let payload = payload.replace("Organisation:", "Organisation#072");
    match framing {
        Framing::OctetCounting => payload,
        Framing::Lf => payload.replace('\n', "#012").replace('\r', "#015"),
    }
}

/// What a prefix value (the source) looks like once written: commas, colons and ASCII controls
/// become `_`.
fn prefix_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c == ',' || c == ':' || (c.is_ascii() && is_control(c as u8)) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The organisation as written: commas and ASCII controls become `_`, colons stay.
fn organisation_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c == ',' || (c.is_ascii() && is_control(c as u8)) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A header field as written: printable ASCII, anything else `_`, at most `max` characters, `-` if
/// empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if field.is_empty() { "-".into() } else { field }
}

fn decimal_width(n: usize) -> usize {
    n.to_string().len()
}

/// Header length of `record` with an empty payload and no cap: what every part repeats.
fn head_len(settings: &SyslogSettings, record: &Record) -> usize {
    let empty = Record {
        payload: String::new(),
        ..record.clone()
    };
    let mut out = Vec::new();
    Formatter::new(SyslogSettings {
        max_message_bytes: 0,
        ..settings.clone()
    })
    .encode(&empty, &mut out)
    .expect("no cap, no error");
    frames(settings.framing, &out)[0].len()
}

/// The MSG part of one message (after the RFC 5424 header and SD, or the RFC 3164 TAG), checked
/// against the record's header fields on the way.
fn msg_of(settings: &SyslogSettings, record: &Record, message: &str) -> String {
    let pri = u32::from(settings.facility.code()) * 8 + u32::from(record.severity.code());
    match settings.format {
        SyslogFormat::Rfc5424 => {
            let parsed = syslog_rfc5424::parse_message(message)
                .unwrap_or_else(|e| panic!("not RFC 5424 ({e}): {message:?}"));
            assert_eq!(parsed.facility as u32 * 8 + parsed.severity as u32, pri);
            let expect_field =
                |value: &str, max| Some(header_field(value, max)).filter(|f| f != "-");
            assert_eq!(parsed.hostname, expect_field(&record.origin.hostname, 255));
            assert_eq!(parsed.appname, expect_field(&record.origin.app_name, 48));
            assert_eq!(parsed.msgid, expect_field(&record.msg_id, 32));
            for field in [&parsed.hostname, &parsed.appname, &parsed.msgid]
                .into_iter()
                .flatten()
            {
                assert!(field.bytes().all(|b| b.is_ascii_graphic()), "{field:?}");
            }
            let mut expected_elements = 0;
            if let Some(sd_id) = &settings.sd_id {
                let params = record
                    .origin
                    .params
                    .iter()
                    .map(|(n, v)| (*n, v.as_str()))
                    .chain(record.id.as_deref().map(|id| ("id", id)));
                let mut any = false;
                for (name, value) in params.filter(|(_, v)| !v.is_empty()) {
                    any = true;
                    let got = parsed.sd.find_tuple(sd_id, name);
                    // Control characters are written as `#ooo`, the rest verbatim (unescaped here).
                    let want = sd_value_as_parsed(value);
                    assert_eq!(got, Some(&want), "SD {sd_id} {name}");
                }
                expected_elements += usize::from(any);
            }
            if let Some(tags) = &record.detection {
                let (name, value) = &tags.params[0];
                if !value.is_empty() {
                    expected_elements += 1;
                    let got = parsed.sd.find_tuple(&tags.id, name);
                    assert_eq!(got, Some(&sd_value_as_parsed(value)));
                }
            }
            assert_eq!(parsed.sd.len(), expected_elements, "{message:?}");
            let msg = parsed.msg;
            match msg.strip_prefix('\u{feff}') {
                Some(rest) if settings.utf8_bom => rest.to_owned(),
                _ => {
                    assert!(!settings.utf8_bom, "BOM missing: {message:?}");
                    msg
                }
            }
        }
        SyslogFormat::Rfc3164 => {
            let rest = message
                .strip_prefix(&format!("<{pri}>"))
                .expect("PRI first");
            // `Mmm dd hh:mm:ss` is 15 ASCII bytes.
            let (stamp, rest) = rest.split_at(15);
            assert_eq!(stamp.as_bytes()[3], b' ', "{stamp:?}");
            let rest = rest.strip_prefix(' ').expect("SP after TIMESTAMP");
            let (hostname, rest) = rest.split_once(' ').expect("SP after HOSTNAME");
            assert_eq!(hostname, header_field(&record.origin.hostname, 255));
            let (tag, msg) = rest.split_once(": ").expect("TAG: ");
            assert!(!tag.is_empty() && tag.len() <= 32, "{tag:?}");
            assert!(
                tag.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)),
                "{tag:?}"
            );
            msg.to_owned()
        }
    }
}

fn sd_value_as_parsed(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if c.is_ascii() && is_control(c as u8) {
            out.push_str(&format!("#{:03o}", c as u8));
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses the LF-framing escape. Only unambiguous when the original held no literal `#012` /
/// `#015`, which is why the caller checks that first.
fn unescape_line_breaks(text: &str) -> String {
    text.replace("#012", "\n").replace("#015", "\r")
}

// ---------------------------------------------------------------------------------------------
// Formatter and splitter

/// Case counts sized for `make test` (a few seconds); `PROPTEST_CASES=100000` runs deeper.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn formatted_records_frame_parse_and_reassemble(settings in settings(), record in record()) {
        let formatter = Formatter::new(settings.clone());
        let mut out = Vec::new();
        let head = head_len(&settings, &record);
        let payload = escaped(&record.payload, settings.framing);
        let max = settings.max_message_bytes;
        let parts = match formatter.encode(&record, &mut out) {
            Ok(parts) => parts,
            Err(FormatError::NoRoomForPayload { max: reported, .. }) => {
                // Refusing is only allowed when the header, margin, part marker (with as many
                // digits as the part count could need) and the 4-byte minimum chunk do not fit.
                prop_assert_eq!(reported, max);
                prop_assert!(max != 0);
                let bound = head + 3 + "Part:/,".len() + 2 * decimal_width(payload.len().max(1)) + 4;
                prop_assert!(max < bound, "refused although the cap {} reaches {}", max, bound);
                prop_assert!(out.is_empty(), "nothing written on error");
                return Ok(());
            }
        };

        let messages = frames(settings.framing, &out);
        prop_assert_eq!(messages.len(), parts);
        // rsyslog stores a message holding escapes only up to 3 bytes short of its limit (the
        // formatter's measured margin), so such a message must fit with those 3 bytes to spare.
        let margin = if payload.bytes().any(is_control) { 3 } else { 0 };
        let fits_whole = max == 0 || stored_len(&payload) + head + margin <= max;
        prop_assert_eq!(parts == 1, fits_whole, "split iff over the cap");

        let prefix = format!(
            "Organisation:{},Event Source:{},",
            organisation_value(&settings.organisation),
            prefix_value(&record.origin.source)
        );
        let siem = regex::Regex::new("^Organisation:([^,]*),Event Source:([^,]*),").unwrap();
        let mut rebuilt = String::new();
        for (index, message) in messages.iter().enumerate() {
            if max != 0 {
                prop_assert!(
                    stored_len(message) <= max,
                    "part {} stores {} bytes over the cap {}", index + 1, stored_len(message), max
                );
            }
            if settings.framing == Framing::Lf {
                prop_assert!(!message.contains(['\n', '\r']));
            }
            let msg = msg_of(&settings, &record, message);
            // What the SIEM's extraction sees: exactly the two fields, whatever the values held.
            let fields = siem.captures(&msg).expect("prefix fields");
            prop_assert_eq!(&fields[1], organisation_value(&settings.organisation));
            prop_assert_eq!(&fields[2], prefix_value(&record.origin.source));
            let mut chunk = msg.strip_prefix(&prefix).expect("the prefix");
            if parts > 1 {
                let marker = format!("Part:{}/{},", index + 1, parts);
                chunk = chunk.strip_prefix(&marker).expect("the part marker");
            }
            rebuilt.push_str(chunk);
        }
        // Exact for both framings: the parts concatenate to the payload as escaped for the framing.
        prop_assert_eq!(&rebuilt, &payload);
        // Undoing the escapes gives the original back only when the original had no literal
        // `#012`, `#015` or `Organisation#072` of its own (which would be read back as what they
        // stand for), so only then is it checked.
        let ambiguous = ["#012", "#015", "Organisation#072"]
            .iter()
            .any(|notation| record.payload.contains(notation));
        if !ambiguous {
            let restored = unescape_line_breaks(&rebuilt).replace("Organisation#072", "Organisation:");
            prop_assert_eq!(&restored, &record.payload);
        }
        // No payload can add a tenant field: the only `Organisation:` left is the prefix's own.
        for message in &messages {
            let msg = msg_of(&settings, &record, message);
            prop_assert_eq!(msg.matches("Organisation:").count(), 1, "{}", msg);
        }
    }
}

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn batch_counts_messages_and_keeps_record_boundaries(
        settings in settings(),
        records in proptest::collection::vec(record(), 0..4),
    ) {
        let formatter = Formatter::new(settings.clone());
        let Ok(batch) = formatter.batch(&records) else {
            // A batch fails as a whole exactly when one of its records does.
            prop_assert!(records.iter().any(|r| formatter.encode(r, &mut Vec::new()).is_err()));
            return Ok(());
        };
        prop_assert_eq!(batch.records(), records.len());
        let mut total = 0;
        for (record, bytes) in records.iter().zip(batch.record_bytes()) {
            let mut alone = Vec::new();
            total += formatter.encode(record, &mut alone).unwrap();
            prop_assert_eq!(bytes, alone.as_slice());
        }
        prop_assert_eq!(batch.messages(), total);
        prop_assert_eq!(frames_or_none(settings.framing, batch.bytes()), total);
    }
}

fn frames_or_none(framing: Framing, bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        0
    } else {
        frames(framing, bytes).len()
    }
}

// ---------------------------------------------------------------------------------------------
// CloudWatch Logs decoder

/// (id, timestamp, message) of a log event.
fn log_events() -> impl Strategy<Value = Vec<(String, i64, String)>> {
    proptest::collection::vec(
        (
            prop_oneof!["[0-9]{56}", text(10)],
            any::<i64>(),
            prop_oneof![4 => text(60), 1 => text(2_000)],
        ),
        0..8,
    )
}

fn log_data_json(owner: &str, log_group: &str, events: &[(String, i64, String)]) -> Vec<u8> {
    let events: Vec<Value> = events
        .iter()
        .map(|(id, timestamp, message)| json!({"id": id, "timestamp": timestamp, "message": message}))
        .collect();
    serde_json::to_vec(&json!({
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": "2026/11/22/[$LATEST]abc",
        "subscriptionFilters": ["f"],
        "logEvents": events,
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn any_awslogs_data_fails_at_its_layer_or_gives_its_records(
        (layer, data) in prop_oneof![
            text(200).prop_map(|t| ("text", t)),
            "[A-Za-z0-9+/=]{0,200}".prop_map(|t| ("text", t)),
            proptest::collection::vec(any::<u8>(), 0..200)
                .prop_filter("not gzip", |b| !b.starts_with(&[0x1f, 0x8b]))
                .prop_map(|b| ("base64", b64(&b))),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| ("gzip", b64(&gzip(&b)))),
        ]
    ) {
        use cloudwatch::DecodeError as E;
        match cloudwatch::decode(&data, Limits::default()) {
            Ok(decoded) => {
                // Only a real subscription payload decodes; its records are its log events.
                let events = decoded.log_events.len();
                let data_message = decoded.message_type == "DATA_MESSAGE";
                let records = cloudwatch::records(decoded, Limits::default());
                prop_assert_eq!(records.map(|r| r.len()).ok(), Some(if data_message { events } else { 0 }));
            }
            Err(e) => match layer {
                // Text is rejected as base64, or (valid base64 by chance) as gzip.
                "text" => prop_assert!(matches!(e, E::Base64(_) | E::Gzip(_)), "{}", e),
                // Valid base64 of bytes that are not gzip fails at gunzip.
                "base64" => prop_assert!(matches!(e, E::Gzip(_)), "{}", e),
                // Valid gzip of random bytes fails as JSON or as log data.
                _ => prop_assert!(
                    matches!(e, E::Json(_) | E::MissingField(_) | E::MessageType(_)),
                    "{}", e
                ),
            },
        }
    }

    #[test]
    fn log_events_round_trip(
        owner in "[0-9]{12}",
        log_group in text(30),
        events in log_events(),
        split in any::<prop::sample::Index>(),
    ) {
        let json = log_data_json(&owner, &log_group, &events);
        // CloudWatch may send several gzip members: cut the JSON anywhere into two.
        let cut = split.index(json.len() + 1);
        let mut compressed = gzip(&json[..cut]);
        compressed.extend(gzip(&json[cut..]));
        let decoded = cloudwatch::decode(&b64(&compressed), Limits::default()).unwrap();
        prop_assert_eq!(&decoded.owner, &owner);
        prop_assert_eq!(&decoded.log_group, &log_group);
        let records = cloudwatch::records(decoded, Limits::default()).unwrap();
        prop_assert_eq!(records.len(), events.len());
        for (record, (id, timestamp, message)) in records.iter().zip(&events) {
            prop_assert_eq!(record.id.as_ref(), Some(id));
            prop_assert_eq!(record.timestamp_ms, *timestamp);
            prop_assert_eq!(&record.payload, message);
            prop_assert_eq!(&record.origin.source, &log_group);
            prop_assert_eq!(&record.origin.hostname, &owner);
        }
    }

    #[test]
    fn truncated_gzip_is_an_error(events in log_events(), keep in any::<prop::sample::Index>()) {
        let compressed = gzip(&log_data_json("123456789012", "/g", &events));
        let truncated = &compressed[..keep.index(compressed.len())];
        prop_assert!(cloudwatch::decode(&b64(truncated), Limits::default()).is_err());
    }

    #[test]
    fn corrupted_gzip_is_an_error_or_the_same_data(
        events in log_events(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let json = log_data_json("123456789012", "/g", &events);
        let original = cloudwatch::decode(&b64(&gzip(&json)), Limits::default()).unwrap();
        let mut compressed = gzip(&json);
        // Past the 10-byte header (whose MTIME, XFL and OS bytes are informational): a change in
        // the deflate data or the CRC/size trailer must be detected. Padding bits after the final
        // block are ignored by design, so an unchanged result is allowed, a different one is not.
        let index = 10 + at.index(compressed.len() - 10);
        compressed[index] ^= flip;
        if let Ok(decoded) = cloudwatch::decode(&b64(&compressed), Limits::default()) {
            prop_assert_eq!(decoded, original);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Event classifier

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text(16).prop_map(Value::from),
        select(vec![
            "COMPLETE",
            "INITIAL_SCAN_COMPLETE",
            "FAILED",
            "HIGH",
            "sha256:1"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    text(8),
                    select(vec![
                        "scan-status".to_owned(),
                        "repository-name".to_owned(),
                        "image-digest".to_owned(),
                        "image-tags".to_owned(),
                        "finding-severity-counts".to_owned(),
                    ]),
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Arbitrary JSON, and envelopes close enough to real events to get past the first checks.
fn event() -> impl Strategy<Value = Value> {
    let kinds = select(vec![
        ("aws.ecr", "ECR Image Scan"),
        ("aws.inspector2", "Inspector2 Scan"),
        ("aws.ecr", "ECR Image Action"),
        ("aws.signin", "AWS Console Sign In via CloudTrail"),
    ]);
    prop_oneof![
        json_value(),
        (kinds.clone(), json_value(), json_value(), json_value()).prop_map(
            |((s, t), detail, id, time)| {
                json!({"source": s, "detail-type": t, "detail": detail, "id": id, "time": time,
                   "account": "123456789012", "region": "eu-west-1"})
            }
        ),
        (
            kinds,
            select(vec!["COMPLETE", "INITIAL_SCAN_COMPLETE", "FAILED"]),
            text(12),
            text(12)
        )
            .prop_map(|((s, t), status, repo, digest)| {
                json!({"id": "e-1", "source": s, "detail-type": t, "account": "123456789012",
                       "region": "eu-west-1", "time": "2026-11-22T10:00:00Z",
                       "detail": {"scan-status": status, "repository-name": repo,
                                  "image-digest": digest}})
            }),
        json_value().prop_map(|data| json!({"awslogs": {"data": data}})),
    ]
}

fn findings() -> StaticFindings {
    let page = |name: &str, severity: &str| FindingsPage {
        scan: ScanFindings {
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
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_event_is_an_error_or_records(event in event()) {
        let raw = serde_json::to_string(&event).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let findings = findings();
        let result = runtime.block_on(sources::records(&raw, Limits::default(), None, &findings));
        let Ok(records) = result else {
            return Ok(());
        };
        match sources::classify(&raw).expect("records() succeeded, so classify() did") {
            Event::EventBridge { .. } => {
                // Forwarded whole: one record whose payload is the same JSON, compacted.
                prop_assert_eq!(records.len(), 1);
                let forwarded: Value = serde_json::from_str(&records[0].payload).unwrap();
                prop_assert_eq!(forwarded, event);
            }
            Event::Scan(scan) => {
                // Two pages of one finding each for a completed scan, then the summary.
                let findings = if scan.is_complete() { 2 } else { 0 };
                prop_assert_eq!(records.len(), findings + 1);
                prop_assert_eq!(records.last().unwrap().msg_id.as_ref(), "scanSummary");
            }
            Event::CloudWatchLogs(_) => {}
            Event::Kinesis(_) | Event::Sqs(_) => {
                prop_assert!(false, "records() reads single events; batches go item by item");
            }
            Event::S3Notification(_) | Event::S3ObjectCreated(_) => {
                prop_assert!(false, "records() never reads S3 objects; they are streamed");
            }
        }
    }

    #[test]
    fn arbitrary_text_is_an_error_or_records(raw in prop_oneof![text(200), "\\{.{0,200}"]) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let findings = StaticFindings::default();
        match runtime.block_on(sources::records(&raw, Limits::default(), None, &findings)) {
            Ok(_) => prop_assert!(serde_json::from_str::<Value>(&raw).is_ok()),
            // Text that is not JSON at all is always the "unsupported event" error.
            Err(e) => prop_assert!(
                serde_json::from_str::<Value>(&raw).is_ok() || matches!(e, SourceError::Unsupported(_)),
                "{}", e
            ),
        }
    }
}
