//! The scanner against serde: the same events, metadata and error kinds on the same input.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::sources::cloudwatch::{LogData, records};
use crate::test_support::gzip;

type Events = Vec<(String, i64, String)>;

/// Everything the stream yields, or its error.
fn streamed(compressed: &[u8], limits: Limits) -> Result<(LogMeta, Events), DecodeError> {
    streamed_how(compressed, limits).map(|(meta, events, _)| (meta, events))
}

/// [`streamed`], and whether the stream decoded the document whole.
fn streamed_how(compressed: &[u8], limits: Limits) -> Result<(LogMeta, Events, bool), DecodeError> {
    let mut stream = LogStream::open(compressed, limits, Vec::new())?;
    let mut event = EventBuf::default();
    let mut events = Vec::new();
    while stream.next_into(&mut event)? {
        events.push((event.id.clone(), event.timestamp, event.message.clone()));
    }
    Ok((stream.meta().clone(), events, stream.decoded_whole()))
}

/// What serde and the record bounds make of the same input.
fn reference(compressed: &[u8], limits: Limits) -> Result<(LogMeta, Events), DecodeError> {
    let data: LogData = decode_gzip(compressed, limits)?;
    let meta = LogMeta {
        message_type: data.message_type.clone(),
        owner: data.owner.clone(),
        log_group: data.log_group.clone(),
        log_stream: data.log_stream.clone(),
    };
    let events: Events = data
        .log_events
        .iter()
        .map(|e| (e.id.clone(), e.timestamp, e.message.clone()))
        .collect();
    // The bounds records() applies to data messages.
    if meta.is_data() {
        records(data, limits)?;
    }
    Ok((meta, events))
}

fn assert_agree(json: &[u8], limits: Limits) {
    let compressed = gzip(json);
    let fast = streamed(&compressed, limits);
    let slow = reference(&compressed, limits);
    match (&fast, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", String::from_utf8_lossy(json)),
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{a} vs {b}: {}",
            String::from_utf8_lossy(json)
        ),
        _ => panic!(
            "stream {fast:?} vs serde {slow:?} on {}",
            String::from_utf8_lossy(json)
        ),
    }
}

fn data_message(events: &[(String, i64, String)]) -> Value {
    let events: Vec<Value> = events
        .iter()
        .map(|(id, ts, m)| json!({"id": id, "timestamp": ts, "message": m}))
        .collect();
    json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/orders",
        "logStream": "2026/11/22/[$LATEST]abc", "subscriptionFilters": ["f"], "logEvents": events,
    })
}

#[test]
fn agrees_on_every_sample_event() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let Some(data) = event["awslogs"]["data"].as_str() else {
            continue;
        };
        let compressed = crate::test_support::unbase64(data);
        let (meta, events, whole) = streamed_how(&compressed, Limits::default()).unwrap();
        let slow = reference(&compressed, Limits::default()).unwrap();
        assert_eq!((meta, events), slow, "{}", path.display());
        assert!(
            !whole,
            "{}: CloudWatch's own layout is scanned",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} CloudWatch samples");
}

#[test]
fn agrees_on_layouts_serde_accepts_and_errors_it_gives() {
    let events = vec![
        ("1".to_owned(), 1_795_341_600_000, "plain".to_owned()),
        (
            "2".to_owned(),
            -5,
            "quote \" backslash \\ tab \t nl \n é 日 😀".to_owned(),
        ),
    ];
    let canonical = data_message(&events).to_string();
    let cases: Vec<String> = vec![
        canonical.clone(),
        serde_json::to_string_pretty(&data_message(&events)).unwrap(),
        // logEvents before the metadata, extra keys, odd event key order.
        r#"{"logEvents":[{"message":"m","timestamp":3,"id":"9","extra":[1,{"a":null}]}],"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s"}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","x":{"y":[true,false,null,1.5e3,"\u0041"]},"owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"9","timestamp":3,"message":"a\u00e9\ud83d\ude00\/b"}],"after":1}"#.into(),
        // Escaped key names are the same keys to serde.
        r#"{"messageType":"DATA_MESSAGE","own\u0065r":"1","logGroup":"g","logStream":"s","logEvents":[]}"#.into(),
        r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE"}]}"#.into(),
        r#"{"messageType":"CONTROL_MESSAGE","logEvents":[]}"#.into(),
        // Errors: each has the kind serde gives.
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logEvents":[]}"#.into(),
        r#"{"messageType":"OTHER","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","owner":"2","logGroup":"g","logStream":"s","logEvents":[]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":1,"logGroup":"g","logStream":"s","logEvents":[]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1.5,"message":"m"}]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":1,"timestamp":1,"message":"m"}]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"\ud800"}]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"raw	tab"}]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1}]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"m","id":"2"}]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[]} trailing"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[],"logEvents":[]}"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":99999999999999999999,"message":"m"}]}"#.into(),
        r#"[1,2]"#.into(),
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"m"},]}"#.into(),
        canonical[..canonical.len() - 3].to_owned(),
    ];
    for case in &cases {
        assert_agree(case.as_bytes(), Limits::default());
    }
    // Whitespace and escapes do not need serde; other layouts may.
    for case in &cases[..2] {
        let (_, _, whole) = streamed_how(&gzip(case.as_bytes()), Limits::default()).unwrap();
        assert!(!whole, "{case}");
    }
    // Invalid UTF-8 inside a message.
    let mut bytes = canonical.clone().into_bytes();
    let at = canonical.find("plain").unwrap();
    bytes[at] = 0xff;
    assert_agree(&bytes, Limits::default());
}

#[test]
fn bounds_give_the_same_errors() {
    let events: Vec<(String, i64, String)> = (0..5)
        .map(|i| (i.to_string(), i, "x".repeat(10 + i as usize)))
        .collect();
    let json = data_message(&events).to_string();
    for limits in [
        Limits {
            max_log_events: 4,
            ..Limits::default()
        },
        Limits {
            max_message_bytes: 12,
            ..Limits::default()
        },
        Limits {
            max_decompressed_bytes: 100,
            ..Limits::default()
        },
    ] {
        assert_agree(json.as_bytes(), limits);
    }
    // A message far over its bound in a payload over the decompressed bound: the payload bound
    // is the error, as when decoded whole.
    let huge = data_message(&[("1".into(), 1, " ".repeat(2_000))]).to_string();
    let tight = Limits {
        max_message_bytes: 12,
        ..Limits::default()
    };
    assert_agree(
        huge.as_bytes(),
        Limits {
            max_decompressed_bytes: 1_500,
            ..tight
        },
    );
    assert_agree(huge.as_bytes(), tight);
    let err = streamed(
        &gzip(json.as_bytes()),
        Limits {
            max_message_bytes: 12,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::MessageTooLong {
                index: 3,
                bytes: 13,
                limit: 12
            }
        ),
        "{err}"
    );
}

/// A JSON string for `text` with every character written one of the ways JSON allows.
fn encode_string(text: &str, styles: &[u8]) -> String {
    let mut out = String::from("\"");
    for (i, ch) in text.chars().enumerate() {
        let style = styles.get(i % styles.len().max(1)).copied().unwrap_or(0);
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || style % 4 == 1 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            '/' if style % 4 == 2 => out.push_str("\\/"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ws(style: u8) -> &'static str {
    ["", " ", "\n  ", "\t", "\r\n"][usize::from(style % 5)]
}

/// The log data written with chosen escapes, whitespace, event key order and extra keys.
fn encode_document(events: &Events, styles: &[u8], order: u8) -> String {
    let s = |i: usize| styles.get(i % styles.len().max(1)).copied().unwrap_or(0);
    let mut out = format!("{}{{", ws(s(0)));
    let meta = [
        ("messageType", "DATA_MESSAGE"),
        ("owner", "123456789012"),
        ("logGroup", "/aws/lambda/o"),
        ("logStream", "st/ream"),
    ];
    let mut members: Vec<String> = meta
        .iter()
        .map(|(k, v)| {
            format!(
                "\"{k}\"{}:{}{}",
                ws(s(1)),
                ws(s(2)),
                encode_string(v, styles)
            )
        })
        .collect();
    if order % 3 == 1 {
        members.push(format!("\"subscriptionFilters\":[{}\"f\"]", ws(s(3))));
    }
    let mut list = Vec::new();
    for (n, (id, ts, message)) in events.iter().enumerate() {
        let mut fields = vec![
            format!("\"id\":{}", encode_string(id, styles)),
            format!("\"timestamp\":{}{ts}", ws(s(n + 4))),
            format!(
                "\"message\":{}{}",
                ws(s(n + 5)),
                encode_string(message, &styles[n % styles.len().max(1)..])
            ),
        ];
        if s(n) % 5 == 3 {
            fields.rotate_left(usize::from(order % 3));
        }
        if s(n) % 7 == 4 {
            fields.push("\"extra\":{\"nested\":[1,2,\"x\"]}".to_owned());
        }
        list.push(format!("{{{}{}}}", ws(s(n + 6)), fields.join(",")));
    }
    let log_events = format!(
        "\"logEvents\":[{}{}]",
        ws(s(7)),
        list.join(&format!(",{}", ws(s(8))))
    );
    if order % 4 == 3 {
        members.insert(0, log_events);
    } else {
        members.push(log_events);
    }
    out.push_str(&members.join(&format!("{},", ws(s(9)))));
    out.push_str(&format!("{}}}{}", ws(s(10)), ws(s(11))));
    out
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            6 => proptest::char::range('a', 'z'),
            2 => proptest::sample::select(vec!['"', '\\', '/', '\n', '\t', '\u{1}', '\u{7f}', ' ', '{', '}', ':', ',']),
            2 => any::<char>(),
            1 => proptest::sample::select(vec!['é', '日', '😀', '\u{10ffff}', '\u{2028}']),
        ],
        0..60,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scanner_and_serde_agree_on_generated_payloads(
        events in proptest::collection::vec(("[0-9]{1,56}", any::<i64>(), text()), 0..12),
        styles in proptest::collection::vec(any::<u8>(), 1..16),
        order in any::<u8>(),
    ) {
        let json = encode_document(&events, &styles, order);
        assert_agree(json.as_bytes(), Limits::default());
        // Metadata first (CloudWatch's order), any escapes and whitespace: scanned, not decoded whole.
        if order % 4 != 3 {
            let (_, _, whole) = streamed_how(&gzip(json.as_bytes()), Limits::default()).unwrap();
            prop_assert!(!whole, "{}", json);
        }
    }

    #[test]
    fn scanner_and_serde_agree_on_damaged_payloads(
        events in proptest::collection::vec(("[0-9]{1,5}", 0i64..10_000, text()), 1..6),
        styles in proptest::collection::vec(any::<u8>(), 1..8),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let mut json = encode_document(&events, &styles, 0).into_bytes();
        let at = cut.index(json.len());
        if truncate {
            json.truncate(at);
        } else {
            json[at] = byte;
        }
        assert_agree(&json, Limits::default());
    }
}
