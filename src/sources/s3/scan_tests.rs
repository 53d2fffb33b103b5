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

#[test]
fn a_line_whose_break_is_already_in_the_window_is_cut_too() {
    // The whole line arrives in one chunk, its break past the record size.
    let text = format!("{}\nz\n", "x".repeat(1500));
    let (entries, _) = scan_limited(text.as_bytes(), 1 << 20, usize::MAX, 1000).unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["k:1", "k:1/2", "k:2"]);
    assert_eq!(entries[0].payload.len(), 1000);
    assert_eq!(entries[1].payload.len(), 500);
}

mod guarded {
    use super::*;
    use crate::config::FilterSettings;
    use crate::filters::{Filters, RedactionCounts, Rule};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const JWT: &str =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn filters(redact: &[&str], regex: Option<&str>) -> Filters {
        Filters::from_config(&FilterSettings {
            redact: redact.iter().map(|name| name.to_string()).collect(),
            redact_regex: regex.map(str::to_owned),
            ..FilterSettings::default()
        })
        .expect("valid redaction")
    }

    /// The entries of `data` pushed in chunks of `size`, long lines cut where `guard` says.
    fn scan_guarded(data: &[u8], size: usize, max_record: usize, guard: &Filters) -> Vec<Entry> {
        let mut stream = ObjectStream::new(&object("k"), usize::MAX, max_record, Vec::new());
        stream.guard_cuts(guard);
        let mut chunks = data.chunks(size.max(1));
        let mut entries = Vec::new();
        let mut entry = Entry::default();
        loop {
            match stream.next_into(&mut entry).expect("scans") {
                Step::Entry => entries.push(entry.clone()),
                Step::NeedInput => match chunks.next() {
                    Some(chunk) => stream.push(bytes::Bytes::copy_from_slice(chunk)),
                    None => stream.end(),
                },
                Step::Done => return entries,
            }
        }
    }

    fn redacted(filters: &Filters, text: &str) -> String {
        let mut record =
            crate::sources::s3::log_record(crate::sources::s3::lines_origin(&object("k")));
        record.payload = text.to_owned();
        filters.redact(&mut record, &mut RedactionCounts::default());
        record.payload
    }

    /// `line` (one line, no break) cut into records of `max_record` under `filters`: the pieces
    /// rebuild the line, none is longer than a record, and redacting each one gives what redacting
    /// the whole line gives, so no piece holds any of `secret`.
    fn pieces_redact_as_the_whole(
        filters: &Filters,
        line: &str,
        max_record: usize,
        secret: &str,
    ) -> Vec<Entry> {
        let data = format!("before\n{line}\nafter\n");
        for size in [7, 4096, 1 << 20] {
            let entries = scan_guarded(data.as_bytes(), size, max_record, filters);
            let pieces = &entries[1..entries.len() - 1];
            assert!(pieces.len() > 1, "the line is cut");
            assert_eq!(entries.last().unwrap().payload, "after");
            let rebuilt: String = pieces.iter().map(|e| e.payload.as_str()).collect();
            assert_eq!(rebuilt, line, "nothing lost, chunks of {size}");
            assert!(pieces.iter().all(|e| e.payload.len() <= max_record));
            let redacted_pieces: String = pieces
                .iter()
                .map(|e| redacted(filters, &e.payload))
                .collect();
            assert_eq!(redacted_pieces, redacted(filters, line), "chunks of {size}");
            for piece in pieces {
                let out = redacted(filters, &piece.payload);
                assert!(
                    !out.contains(secret),
                    "{secret} in a piece, chunks of {size}"
                );
                // Nor half of it: no piece ends inside what the rule redacts.
                assert!(!out.ends_with(&secret[..secret.len() / 2]));
            }
            if size == 4096 {
                return entries;
            }
        }
        unreachable!()
    }

    /// `labelled` placed in a line so that the record size cuts it at `into` bytes from its start.
    fn straddling(labelled: &str, into: usize, max_record: usize, tail: usize) -> String {
        format!(
            "{}{labelled}{}",
            "f".repeat(max_record - into),
            " t".repeat(tail)
        )
    }

    #[test]
    fn a_secret_straddling_the_cut_goes_whole_into_the_next_piece() {
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\\n{}\\n-----END RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEA7bq/QkFTRTY0".repeat(30)
        );
        // (rule, the secret and its label, the value)
        let cases = [
            (
                "aws-secret-access-key",
                format!(" aws_secret_access_key={SECRET} "),
                SECRET,
            ),
            (
                "aws-secret-access-key",
                format!(r#","\"SecretAccessKey\":\"{SECRET}\""#),
                SECRET,
            ),
            (
                "bearer-token",
                format!(" Authorization: Bearer {JWT} "),
                JWT,
            ),
            (
                "private-key",
                format!(" key {pem} "),
                "MIIEowIBAAKCAQEA7bq/QkFTRTY0",
            ),
        ];
        for (rule, labelled, secret) in &cases {
            let filters = filters(&[rule], None);
            let value = labelled.find(secret).unwrap();
            // Where the match ends: the value's end, or the key block's.
            let end = match labelled.rfind("-----") {
                Some(dashes) => dashes + 5,
                None => value + secret.len(),
            };
            // Cut inside the key name, right after the separator, inside and at the end of the value.
            for into in [10, value, value + 20, end - 1] {
                let line = straddling(labelled, into, 1000, 1000);
                let entries = pieces_redact_as_the_whole(&filters, &line, 1000, secret);
                let second = &entries[2].payload;
                let name = Rule::from_name(rule).unwrap().marker();
                assert!(
                    redacted(&filters, second).contains(name),
                    "{rule}, {into} into it"
                );
                assert!(
                    entries[1].payload.len() < 1000 - into + 10,
                    "{rule}, {into} into it"
                );
            }
        }
    }

    #[test]
    fn at_the_real_record_size_too() {
        let filters = filters(&["aws-secret-access-key"], None);
        let labelled = format!(" aws_secret_access_key={SECRET}");
        let line = straddling(&labelled, 30, 1 << 20, 250_000);
        let entries = pieces_redact_as_the_whole(&filters, &line, 1 << 20, SECRET);
        assert_eq!(entries[1].payload.len(), (1 << 20) - 30 + " aws_".len());
        assert!(entries[2].payload.starts_with("secret_access_key="));
    }

    #[test]
    fn every_cut_of_a_line_is_guarded() {
        let filters = filters(&["aws-secret-access-key", "bearer-token"], None);
        let first = format!("aws_secret_access_key={SECRET} ");
        let second = format!("Authorization: Bearer {JWT} ");
        // The first cut falls inside `first`, 20 bytes into it; the next piece starts at its key
        // name (4 bytes in), so its own cut, a record later, falls 30 bytes into `second`.
        let gap = 1000 - (first.len() - 4) - 30;
        let line = format!(
            "{}{first}{}{second}{}",
            "a".repeat(1000 - 20),
            "b".repeat(gap),
            "c".repeat(500)
        );
        let entries = pieces_redact_as_the_whole(&filters, &line, 1000, SECRET);
        assert!(entries[2].payload.starts_with("secret_access_key="));
        assert!(entries[3].payload.starts_with("Authorization: Bearer"));
        pieces_redact_as_the_whole(&filters, &line, 1000, JWT);
    }

    #[test]
    fn multibyte_and_invalid_text_at_the_cut() {
        let filters = filters(&["aws-secret-access-key"], None);
        // A cut inside a character and no secret: the character boundary, as without a guard.
        let line = "é".repeat(1500);
        let entries = scan_guarded(format!("{line}\n").as_bytes(), 100, 1001, &filters);
        assert_eq!(entries[0].payload.len(), 1000);
        let rebuilt: String = entries.iter().map(|e| e.payload.as_str()).collect();
        assert_eq!(rebuilt, line);
        // Multibyte text before and after a straddling secret.
        let labelled = format!("日本 aws_secret_access_key={SECRET} ü");
        let line = format!("{}{labelled}{}", "é".repeat(490), "ö".repeat(600));
        pieces_redact_as_the_whole(&filters, &line, 1000, SECRET);
        // An invalid byte before the secret: the guard reads the text after it.
        let mut data = b"\xff\xfe ".to_vec();
        data.extend("f".repeat(970).as_bytes());
        data.extend(format!("aws_secret_access_key={SECRET} tail").as_bytes());
        data.extend(b" \xff end\n");
        let entries = scan_guarded(&data, 64, 1000, &filters);
        assert_eq!(entries.len(), 2);
        assert!(
            entries[1].payload.starts_with("secret_access_key="),
            "{}",
            entries[1].payload
        );
        assert!(
            entries
                .iter()
                .all(|e| !redacted(&filters, &e.payload).contains(SECRET))
        );
    }

    #[test]
    fn a_secret_longer_than_a_record_is_still_cut_where_it_must_be() {
        // From the start of the piece past the cut: no earlier cut leaves anything before it.
        let filters = filters(&["bearer-token"], None);
        let line = format!("Authorization: Bearer {}", "t".repeat(3000));
        let entries = scan_guarded(format!("{line}\n").as_bytes(), 512, 1000, &filters);
        let lens: Vec<usize> = entries.iter().map(|e| e.payload.len()).collect();
        assert_eq!(lens, vec![1000, 1000, 1000, 22]);
    }

    #[test]
    fn the_guard_sees_64_kib_past_the_cut() {
        // A REDACT_REGEX match is moved whole when it ends within the lookahead, and cut when
        // it ends beyond it (the built-in rules redact a block or a token whose end is out of
        // view anyway: their match crosses the cut either way).
        let filters = filters(&[], Some("<secret>[a-z]+</secret>"));
        for (length, moved) in [(CUT_LOOKAHEAD - 1000, true), (CUT_LOOKAHEAD + 1000, false)] {
            let secret = format!("<secret>{}</secret>", "s".repeat(length));
            let line = format!("{}{secret} tail", "f".repeat(500));
            let entries = scan_guarded(format!("{line}\n").as_bytes(), 4096, 1000, &filters);
            assert_eq!(
                entries[0].payload.len(),
                if moved { 500 } else { 1000 },
                "{length}"
            );
            let rebuilt: String = entries.iter().map(|e| e.payload.as_str()).collect();
            assert_eq!(rebuilt, line);
        }
    }

    #[test]
    fn without_redaction_lines_are_cut_at_the_record_size() {
        let filters = filters(&[], None);
        let line = format!("{}aws_secret_access_key={SECRET}", "f".repeat(990));
        let entries = scan_guarded(format!("{line}\n").as_bytes(), 64, 1000, &filters);
        assert_eq!(entries[0].payload.len(), 1000);
    }
}
