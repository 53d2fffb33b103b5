use super::*;
use crate::test_support::gzip;

fn object(key: &str) -> ObjectRef {
    ObjectRef {
        bucket: "trail".into(),
        key: key.into(),
        size: None,
        region: "us-east-1".into(),
        account: String::new(),
        version_id: None,
    }
}

/// Every entry of `data` pushed in chunks of `size`, or the first error.
fn scan_limited(
    data: &[u8],
    size: usize,
    max_bytes: usize,
    max_record: usize,
) -> Result<(Vec<Entry>, bool), S3Error> {
    let mut stream = ObjectStream::new(&object("k"), max_bytes, max_record, Vec::new());
    let mut chunks = data.chunks(size.max(1));
    let mut entries = Vec::new();
    let mut entry = Entry::default();
    loop {
        match stream.next_into(&mut entry)? {
            Step::Entry => entries.push(entry.clone()),
            Step::NeedInput => match chunks.next() {
                Some(chunk) => stream.push(bytes::Bytes::copy_from_slice(chunk)),
                None => stream.end(),
            },
            Step::Done => {
                assert_eq!(stream.records(), entries.len());
                return Ok((entries, stream.is_cloudtrail()));
            }
        }
    }
}

fn scan(data: &[u8], size: usize) -> Result<(Vec<Entry>, bool), S3Error> {
    scan_limited(data, size, usize::MAX, 1 << 20)
}

fn trail_record(i: usize) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.10", "eventTime": "2026-11-22T10:00:00Z", "eventSource": "ecr.amazonaws.com",
        "eventName": "PutImage", "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.0 \"quoted\" \\ back", "recipientAccountId": "111122223333",
        "eventID": format!("e-{i}"), "requestParameters": {"repositoryName": "r", "imageIds": [{"imageTag": "ünï"}]},
    })
}

fn trail_file(count: usize, pretty: bool) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..count).map(trail_record).collect();
    let doc = serde_json::json!({ "Records": records });
    if pretty {
        serde_json::to_vec_pretty(&doc).unwrap()
    } else {
        serde_json::to_vec(&doc).unwrap()
    }
}

#[test]
fn a_cloudtrail_file_gives_one_compact_record_per_element_in_any_chunking() {
    let expected: Vec<String> = (0..50).map(|i| trail_record(i).to_string()).collect();
    for pretty in [false, true] {
        let file = trail_file(50, pretty);
        for data in [file.clone(), gzip(&file)] {
            for size in [1, 7, 1000, 1 << 20] {
                let (entries, cloudtrail) = scan(&data, size).unwrap();
                assert!(cloudtrail);
                let payloads: Vec<&str> = entries.iter().map(|e| e.payload.as_str()).collect();
                assert_eq!(payloads, expected, "pretty {pretty}, chunks of {size}");
                assert_eq!(entries[3].id, "e-3");
                assert_eq!(entries[3].account, "111122223333");
                assert_eq!(entries[3].region, "eu-west-1");
                assert_eq!(entries[3].timestamp_ms, Some(1_795_341_600_000));
            }
        }
    }
}

#[test]
fn concatenated_documents_and_empty_ones_are_read() {
    let mut data = trail_file(2, false);
    data.extend_from_slice(b"\n{\"Records\":[]}\n");
    data.extend(trail_file(1, true));
    let (entries, _) = scan(&data, 5).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(scan(b"{\"Records\":[]}", 3).unwrap().0, vec![]);
}

#[test]
fn a_record_without_an_event_id_is_named_by_its_place() {
    let (entries, _) = scan(br#"{"Records":[{"a":1},{"b":2}]}"#, 4).unwrap();
    assert_eq!(entries[1].id, "k:2");
    assert_eq!(entries[1].timestamp_ms, None);
}

#[test]
fn broken_cloudtrail_files_are_errors_that_say_where() {
    let file = trail_file(3, false);
    let err = scan(&file[..file.len() - 40], 100).unwrap_err();
    assert!(matches!(err, S3Error::Layout { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = scan(br#"{"Records":[{"a":1}, 7]}"#, 100).unwrap_err();
    assert!(err.to_string().contains("expected a record"), "{err}");
    let err = scan(br#"{"Records":[{"a":1},{"b":}]}"#, 100).unwrap_err();
    assert!(matches!(err, S3Error::Record { index: 2, .. }), "{err}");
    assert!(err.to_string().contains("s3://trail/k"), "{err}");
    let err = scan(br#"{"Records":[]} trailing"#, 100).unwrap_err();
    assert!(err.to_string().contains("expected the end"), "{err}");
    let big = format!(r#"{{"Records":[{{"a":"{}"}}]}}"#, "x".repeat(5000));
    let err = scan_limited(big.as_bytes(), 100, usize::MAX, 1000).unwrap_err();
    assert!(err.to_string().contains("longer than 1000 bytes"), "{err}");
    let mut corrupt = gzip(&file);
    let n = corrupt.len();
    corrupt.truncate(n - 3);
    assert!(matches!(scan(&corrupt, 100), Err(S3Error::Gzip { .. })));
}

#[test]
fn the_object_bound_counts_decompressed_bytes() {
    let file = trail_file(100, false);
    let err = scan_limited(&gzip(&file), 64, 1000, 1 << 20).unwrap_err();
    assert!(
        matches!(err, S3Error::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("S3_MAX_OBJECT_BYTES"), "{err}");
    assert!(scan_limited(&gzip(&file), 64, file.len(), 1 << 20).is_ok());
}

#[test]
fn other_objects_give_one_record_per_line() {
    let text = "\u{feff}first line\r\n\n{\"json\":\"line\"}\nlast without break";
    for data in [text.as_bytes().to_vec(), gzip(text.as_bytes())] {
        for size in [1, 3, 1000] {
            let (entries, cloudtrail) = scan(&data, size).unwrap();
            assert!(!cloudtrail);
            let lines: Vec<(&str, &str)> = entries
                .iter()
                .map(|e| (e.id.as_str(), e.payload.as_str()))
                .collect();
            assert_eq!(
                lines,
                vec![
                    ("k:1", "first line"),
                    ("k:3", "{\"json\":\"line\"}"),
                    ("k:4", "last without break")
                ],
                "chunks of {size}"
            );
        }
    }
    assert_eq!(scan(b"", 10).unwrap().0, vec![]);
    assert_eq!(scan(b"\n\n\n", 1).unwrap().0, vec![]);
    // JSON that is not a CloudTrail document is lines too.
    let (entries, cloudtrail) = scan(b"{\"Recordz\":[]}\n{\"a\":1}\n", 4).unwrap();
    assert!(!cloudtrail);
    assert_eq!(entries.len(), 2);
}

#[test]
fn a_line_longer_than_a_record_is_cut_never_dropped() {
    let long = "é".repeat(1500);
    let text = format!("short\n{long}\nafter\n");
    let (entries, _) = scan_limited(text.as_bytes(), 100, usize::MAX, 1001).unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["k:1", "k:2", "k:2/2", "k:2/3", "k:3"]);
    let rebuilt: String = entries[1..4].iter().map(|e| e.payload.as_str()).collect();
    assert_eq!(rebuilt, long, "cut at character boundaries, nothing lost");
    assert!(entries.iter().all(|e| e.payload.len() <= 1001));
    // A line that is exactly the record size leaves no empty piece behind.
    let exact = format!("{}\nz\n", "x".repeat(1001));
    let (entries, _) = scan_limited(exact.as_bytes(), 64, usize::MAX, 1001).unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["k:1", "k:2"]);
}

#[test]
fn invalid_utf8_in_a_line_is_replaced_not_dropped() {
    let (entries, _) = scan(b"ok \xff\xfe end\n", 2).unwrap();
    assert_eq!(entries[0].payload, "ok \u{fffd}\u{fffd} end");
}
