use std::sync::Arc;

use super::*;
use crate::record::{Origin, RecordKind, SdElement, Severity};

fn settings(redact: &[&str]) -> FilterSettings {
    FilterSettings {
        redact: redact.iter().map(|name| name.to_string()).collect(),
        ..FilterSettings::default()
    }
}

fn record(kind: RecordKind, payload: &str) -> Record {
    Record {
        kind,
        origin: Arc::new(Origin {
            hostname: "123456789012".into(),
            app_name: "orders-api".into(),
            source: "/aws/lambda/orders-api".into(),
            params: Vec::new(),
            tags: Vec::new(),
        }),
        timestamp_ms: 0,
        msg_id: "log".into(),
        severity: Severity::Informational,
        id: Some("1".into()),
        payload: payload.to_owned(),
        detection: None,
    }
}

/// `text` after the one rule `name`, and how many matches it replaced.
fn with_rule(name: &str, text: &str) -> (String, u64) {
    let filters = Filters::from_config(&settings(&[name])).expect("a valid rule");
    let mut record = record(RecordKind::Log, text);
    let mut counts = RedactionCounts::default();
    filters.redact(&mut record, &mut counts);
    (record.payload, counts.total())
}

fn redacts(name: &str, text: &str, expected: &str) {
    let (out, _) = with_rule(name, text);
    assert_eq!(out, expected, "{name} on {text}");
}

fn leaves(name: &str, text: &str) {
    let (out, count) = with_rule(name, text);
    assert_eq!(
        (out.as_str(), count),
        (text, 0),
        "{name} must not touch {text}"
    );
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[test]
fn private_key_blocks() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\nQkFTRTY0\n-----END RSA PRIVATE KEY-----";
    redacts(
        "private-key",
        &format!("loaded key {pem} from disk"),
        "loaded key [REDACTED:private-key] from disk",
    );
    // The same key inside a JSON string: the escapes go with it and the JSON stays valid.
    let json = serde_json::json!({ "key": format!("{pem}\n"), "user": "ci" }).to_string();
    let (out, count) = with_rule("private-key", &json);
    assert_eq!(count, 1);
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
    assert_eq!(parsed["key"], "[REDACTED:private-key]\n");
    // Two blocks are two redactions, and nothing between them is lost.
    let two = format!("{pem} and {}", pem.replace("RSA ", "EC "));
    redacts(
        "private-key",
        &two,
        "[REDACTED:private-key] and [REDACTED:private-key]",
    );
    // A block cut off before its end line still loses its body.
    redacts(
        "private-key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAA",
        "[REDACTED:private-key]",
    );
    leaves(
        "private-key",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    );
    leaves(
        "private-key",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
    );
}

#[test]
fn aws_secret_access_key_after_its_name() {
    let marker = "[REDACTED:aws-secret-access-key]";
    for (text, expected) in [
        (
            format!("aws_secret_access_key = {SECRET}"),
            format!("aws_secret_access_key = {marker}"),
        ),
        (
            format!(r#"{{"SecretAccessKey":"{SECRET}","Expiration":"soon"}}"#),
            format!(r#"{{"SecretAccessKey":"{marker}","Expiration":"soon"}}"#),
        ),
        (
            format!("secretKey: '{SECRET}'"),
            format!("secretKey: '{marker}'"),
        ),
        (
            format!("export AWS_SECRET_ACCESS_KEY={SECRET}"),
            format!("export AWS_SECRET_ACCESS_KEY={marker}"),
        ),
        (
            format!("<SecretAccessKey>{SECRET}</SecretAccessKey>"),
            format!("<SecretAccessKey>{marker}</SecretAccessKey>"),
        ),
        (
            format!(r#"{{\"secretAccessKey\": \"{SECRET}\"}}"#),
            format!(r#"{{\"secretAccessKey\": \"{marker}\"}}"#),
        ),
    ] {
        redacts("aws-secret-access-key", &text, &expected);
    }
    // A 40-character token in a URL path is a commit, not a secret: no key name precedes it.
    leaves(
        "aws-secret-access-key",
        "GET https://git.example.com/acme/app/commit/160634c2f78652f33472b35da0673f4723a83108 200",
    );
    leaves("aws-secret-access-key", &format!("path=/assets/{SECRET}"));
    // A value of another length is not an AWS secret key.
    leaves("aws-secret-access-key", &format!("secretKey={SECRET}AB"));
    leaves("aws-secret-access-key", "secretKey=short-and-not-aws");
}

#[test]
fn aws_access_key_ids() {
    redacts(
        "aws-access-key-id",
        r#"{"accessKeyId":"ASIAEXAMPLEKEY000001","user":"ci"}"#,
        r#"{"accessKeyId":"[REDACTED:aws-access-key-id]","user":"ci"}"#,
    );
    redacts(
        "aws-access-key-id",
        "rotating AKIAIOSFODNN7EXAMPLE now",
        "rotating [REDACTED:aws-access-key-id] now",
    );
    // After a JSON escape (`\n`) the key still starts a token.
    redacts(
        "aws-access-key-id",
        r"line one\nAKIAIOSFODNN7EXAMPLE",
        r"line one\n[REDACTED:aws-access-key-id]",
    );
    // A key-like string inside a longer path segment of a URL is a file name, not a key id.
    leaves(
        "aws-access-key-id",
        "GET https://cdn.example.com/assets/AKIAIOSFODNN7EXAMPLEBUNDLE.js 200",
    );
    leaves(
        "aws-access-key-id",
        "GET https://cdn.example.com/assets/XAKIAIOSFODNN7EXAMPLE 200",
    );
    // Lower case, role ids (AROA) and user ids (AIDA) are no access key ids.
    leaves("aws-access-key-id", "akiaiosfodnn7example");
    leaves(
        "aws-access-key-id",
        r#""principalId":"AROAEXAMPLEROLEID0001:alice""#,
    );
    leaves("aws-access-key-id", "AIDAEXAMPLEUSERID0001");
}

#[test]
fn bearer_tokens() {
    let jwt =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    redacts(
        "bearer-token",
        &format!("> Authorization: Bearer {jwt}\r\n> Accept: */*"),
        "> Authorization: Bearer [REDACTED:bearer-token]\r\n> Accept: */*",
    );
    redacts(
        "bearer-token",
        &format!(r#"{{"headers":{{"authorization":"Bearer {jwt}","host":"api"}}}}"#),
        r#"{"headers":{"authorization":"Bearer [REDACTED:bearer-token]","host":"api"}}"#,
    );
    redacts(
        "bearer-token",
        "Authorization:[Bearer abc.def-ghi]",
        "Authorization:[Bearer [REDACTED:bearer-token]]",
    );
    redacts(
        "bearer-token",
        r#"{\"Authorization\":\"Bearer abc+/def==\"}"#,
        r#"{\"Authorization\":\"Bearer [REDACTED:bearer-token]\"}"#,
    );
    leaves("bearer-token", "Authorization: Basic dXNlcjpwYXNz");
    leaves(
        "bearer-token",
        "the Bearer token expired; ask for a new one",
    );
    leaves("bearer-token", r#"WWW-Authenticate: Bearer realm="api""#);
}

#[test]
fn passwords_in_urls() {
    redacts(
        "password-in-url",
        "connecting to postgres://app:s3cr3t!x@db.internal:5432/orders",
        "connecting to postgres://app:[REDACTED:password-in-url]@db.internal:5432/orders",
    );
    redacts(
        "password-in-url",
        r#"{"url":"redis://:hunter2@cache:6379/0"}"#,
        r#"{"url":"redis://:[REDACTED:password-in-url]@cache:6379/0"}"#,
    );
    redacts(
        "password-in-url",
        "https://deploy:p%40ss:word@registry.example.com/v2/",
        "https://deploy:[REDACTED:password-in-url]@registry.example.com/v2/",
    );
    leaves("password-in-url", "https://example.com:8443/health");
    leaves("password-in-url", "https://alice@example.com/repo.git");
    leaves("password-in-url", "https://example.com/a:b@c");
}

#[test]
fn email_addresses() {
    redacts(
        "email",
        r#"{"email":"alice.smith+ops@example.co.uk","id":7}"#,
        r#"{"email":"[REDACTED:email]","id":7}"#,
    );
    redacts(
        "email",
        r"escaped\nbob@example.com",
        r"escaped\n[REDACTED:email]",
    );
    redacts(
        "email",
        "mail from carol@example.org: delivered",
        "mail from [REDACTED:email]: delivered",
    );
    // Repository and image names that look like addresses.
    leaves("email", "cloning git@github.com:acme/payments-api.git");
    leaves(
        "email",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:160634c2f78652f33472b35da0673f4723a831089bbd29c4e38b2bd77a01af13",
    );
    leaves("email", "uses: actions/checkout@v4.1.1");
    leaves("email", "npm install @acme/ui@2.3.0");
    // An Identity Center session name is part of the principal.
    leaves(
        "email",
        r#""arn":"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b2c3d/alice@example.com""#,
    );
}

#[test]
fn ipv4_addresses() {
    redacts(
        "ipv4",
        r#"{"sourceIPAddress":"203.0.113.24","userAgent":"aws-cli/2.22.4"}"#,
        r#"{"sourceIPAddress":"[REDACTED:ipv4]","userAgent":"aws-cli/2.22.4"}"#,
    );
    redacts(
        "ipv4",
        "allow 10.0.0.0/8 and 192.168.1.1:443",
        "allow [REDACTED:ipv4]/8 and [REDACTED:ipv4]:443",
    );
    redacts(
        "ipv4",
        r"tab\t198.51.100.7 end",
        r"tab\t[REDACTED:ipv4] end",
    );
    for text in [
        "aws-cli/2.22.4 lang/python#3.12.6",
        "oid 1.3.6.1.4.1.311 and 1.2.3.4.5",
        "release v1.2.3.4",
        "256.1.1.1 or 1.2.3.999",
        "01.2.3.4",
        r#""eventVersion":"1.10","tlsVersion":"TLSv1.3""#,
    ] {
        leaves("ipv4", text);
    }
}

#[test]
fn custom_pattern_becomes_redacted() {
    let filters = Filters::from_config(&FilterSettings {
        redact_regex: Some(r"\b\d{12}\b".into()),
        ..FilterSettings::default()
    })
    .expect("valid");
    let mut account = record(RecordKind::Log, "account 123456789012, id 12345");
    let mut counts = RedactionCounts::default();
    filters.redact(&mut account, &mut counts);
    assert_eq!(account.payload, "account [REDACTED], id 12345");
    assert_eq!((counts.of(None), counts.total()), (1, 1));

    // A pattern that can match empty text only marks nothing.
    let filters = Filters::from_config(&FilterSettings {
        redact_regex: Some(r"\b".into()),
        ..FilterSettings::default()
    })
    .expect("valid");
    let mut words = record(RecordKind::Log, "two words");
    filters.redact(&mut words, &mut counts);
    assert_eq!(words.payload, "two words");
}

#[test]
fn every_rule_together_counts_per_rule() {
    let all: Vec<&str> = Rule::ALL.map(Rule::name).to_vec();
    let filters = Filters::from_config(&settings(&all)).expect("valid");
    let text = format!(
        "user alice@example.com from 203.0.113.24 key AKIAIOSFODNN7EXAMPLE secret_key={SECRET} \
         db postgres://app:pw@db/x Authorization: Bearer abc.def"
    );
    let mut mixed = record(RecordKind::Log, &text);
    let mut counts = RedactionCounts::default();
    filters.redact(&mut mixed, &mut counts);
    assert_eq!(
        mixed.payload,
        "user [REDACTED:email] from [REDACTED:ipv4] key [REDACTED:aws-access-key-id] \
         secret_key=[REDACTED:aws-secret-access-key] db postgres://app:[REDACTED:password-in-url]@db/x \
         Authorization: Bearer [REDACTED:bearer-token]"
    );
    for rule in Rule::ALL {
        let expected = u64::from(rule != Rule::PrivateKey);
        assert_eq!(counts.of(Some(rule)), expected, "{}", rule.name());
    }
    assert_eq!(counts.total(), 6);
    // Nothing to redact: the text is left as it was, not copied.
    let mut clean = record(RecordKind::Log, "GET /health 200 3ms");
    let before = clean.payload.as_ptr();
    filters.redact(&mut clean, &mut counts);
    assert_eq!(clean.payload.as_ptr(), before);
    assert_eq!(counts.total(), 6);
}

#[test]
fn a_token_inside_a_labelled_value_does_not_cut_it_short() {
    // The bearer token holds a dot-separated piece shaped like an access key id; the bearer rule
    // runs first and takes the whole token.
    let all: Vec<&str> = Rule::ALL.map(Rule::name).to_vec();
    let filters = Filters::from_config(&settings(&all)).expect("valid");
    let mut record = record(
        RecordKind::Log,
        "Authorization: Bearer head.AKIAIOSFODNN7EXAMPLE.tail",
    );
    filters.redact(&mut record, &mut RedactionCounts::default());
    assert_eq!(
        record.payload,
        "Authorization: Bearer [REDACTED:bearer-token]"
    );
}

#[test]
fn unknown_rules_and_bad_patterns_name_the_variable() {
    let err = Filters::from_config(&settings(&["email", "emails"])).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("REDACT is invalid: unknown rule \"emails\""),
        "{text}"
    );
    for rule in Rule::ALL {
        assert!(text.contains(rule.name()), "lists {}: {text}", rule.name());
    }

    let bad = |include: Option<&str>, exclude: Option<&str>, custom: Option<&str>| {
        Filters::from_config(&FilterSettings {
            include: include.map(str::to_owned),
            exclude: exclude.map(str::to_owned),
            redact: Vec::new(),
            redact_regex: custom.map(str::to_owned),
        })
        .unwrap_err()
    };
    let err = bad(Some("(START"), None, None);
    assert!(
        matches!(
            err,
            FilterError::NotARegex {
                var: "FILTER_INCLUDE",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("unclosed group"), "{err}");
    let err = bad(None, Some("a{2,1}"), None);
    assert!(
        matches!(
            err,
            FilterError::NotARegex {
                var: "FILTER_EXCLUDE",
                ..
            }
        ),
        "{err}"
    );
    // The custom pattern may spell the secret out: the error does not repeat it.
    let err = bad(None, None, Some("hunter2(secret"));
    assert!(
        err.to_string().starts_with("REDACT_REGEX is invalid"),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");

    for (include, exclude, custom, var) in [
        (None, Some("START|END|"), None, "FILTER_EXCLUDE"),
        (Some(".*"), None, None, "FILTER_INCLUDE"),
        (None, None, Some("x*"), "REDACT_REGEX"),
        (None, Some("(?m)^"), None, "FILTER_EXCLUDE"),
    ] {
        let err = bad(include, exclude, custom);
        assert!(
            matches!(err, FilterError::MatchesEverything { var: v, .. } if v == var),
            "{err}"
        );
        assert!(err.to_string().starts_with(var), "{err}");
    }
    // Matching only an empty payload is a choice, not a mistake.
    assert!(
        Filters::from_config(&FilterSettings {
            exclude: Some("^$".into()),
            ..FilterSettings::default()
        })
        .is_ok()
    );
}

#[test]
fn nothing_configured_is_a_noop() {
    let filters = Filters::from_config(&FilterSettings::default()).expect("valid");
    assert!(filters.is_noop());
    assert!(Filters::default().is_noop());
    assert!(
        !Filters::from_config(&settings(&["ipv4"]))
            .expect("valid")
            .is_noop()
    );
    let exclude_only = FilterSettings {
        exclude: Some("^START ".into()),
        ..FilterSettings::default()
    };
    assert!(
        !Filters::from_config(&exclude_only)
            .expect("valid")
            .is_noop()
    );
}

fn selecting(include: Option<&str>, exclude: Option<&str>) -> Filters {
    Filters::from_config(&FilterSettings {
        include: include.map(str::to_owned),
        exclude: exclude.map(str::to_owned),
        ..FilterSettings::default()
    })
    .expect("valid patterns")
}

#[test]
fn exclude_wins_over_include() {
    let filters = selecting(Some("ERROR|WARN"), Some("healthcheck"));
    let keep = |payload: &str| filters.keep(&record(RecordKind::Log, payload));
    assert!(keep("ERROR payment declined"));
    assert!(!keep("INFO request served"), "include: no match");
    assert!(!keep("ERROR healthcheck timed out"), "exclude wins");
    assert!(keep("WARN slow response"));
    // Events (other EventBridge sources) are filtered like logs.
    assert!(!filters.keep(&record(RecordKind::Event, r#"{"detail-type":"x"}"#)));
}

#[test]
fn detections_findings_and_summaries_are_always_kept() {
    let filters = selecting(Some("never-matches-anything"), Some("."));
    let mut tagged = record(RecordKind::Log, "DeleteRepository");
    tagged.detection = Some(Box::new(SdElement {
        id: "detection@32473".into(),
        params: vec![("rule", "ecr-forced-repository-delete".into())],
    }));
    assert!(filters.keep(&tagged));
    assert!(filters.keep(&record(RecordKind::Finding, r#"{"type":"finding"}"#)));
    assert!(filters.keep(&record(
        RecordKind::ScanSummary,
        r#"{"type":"scanSummary"}"#
    )));
    assert!(!filters.keep(&record(RecordKind::Log, "DeleteRepository")));
}

#[test]
fn redaction_leaves_the_envelope_alone() {
    let filters = Filters::from_config(&FilterSettings {
        redact: vec!["ipv4".into()],
        redact_regex: Some("123456789012".into()),
        ..FilterSettings::default()
    })
    .expect("valid");
    let mut record = record(RecordKind::Log, "from 203.0.113.24 in 123456789012");
    record.id = Some("203.0.113.24".into());
    let origin = Arc::clone(&record.origin);
    filters.redact(&mut record, &mut RedactionCounts::default());
    assert_eq!(record.payload, "from [REDACTED:ipv4] in [REDACTED]");
    assert_eq!(
        record.id.as_deref(),
        Some("203.0.113.24"),
        "the id is not payload"
    );
    assert_eq!(record.origin, origin);
}

proptest::proptest! {
    /// The prefilter only skips work: on texts built from the rules' own pieces, redacting with it
    /// gives exactly what running every rule's matcher gives.
    #[test]
    fn the_prefilter_never_changes_what_is_redacted(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
    ) {
        let redactor = redact::Redactor::new(&Rule::ALL, None);
        let text: String = pieces.concat();
        let (mut fast, mut slow) = (text.clone(), text);
        let (mut fast_counts, mut slow_counts) = (RedactionCounts::default(), RedactionCounts::default());
        redactor.redact(&mut fast, &mut fast_counts);
        redactor.redact_unfiltered(&mut slow, &mut slow_counts);
        proptest::prop_assert_eq!(fast, slow);
        proptest::prop_assert_eq!(fast_counts, slow_counts);
    }
}

const PIECES: &[&str] = &[
    "AKIA",
    "ASIA",
    "IOSFODNN7EXAMPLE",
    "secret",
    "Secret",
    "SECRET",
    "_access",
    "Access",
    "_key",
    "Key",
    "KEY",
    "=",
    ": ",
    "\"",
    "\\\"",
    "'",
    SECRET,
    "authorization",
    "Authorization",
    "AUTHORIZATION",
    "Bearer ",
    "bearer ",
    "abc.def",
    "https://",
    "://",
    "user",
    ":",
    "pw",
    "@",
    "example.com",
    "alice",
    "arn:aws:sts::123456789012:assumed-role/R/",
    "203.0.113.",
    "24",
    ".",
    "1",
    "0",
    " ",
    "\\n",
    "\n",
    "/",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "PRIVATE KEY",
    "QkFTRTY0",
    "v",
    "é",
];

/// The cut `name`'s guard chooses for `max` in `text`.
fn guarded(names: &[&str], regex: Option<&str>, text: &str, max: usize) -> usize {
    let filters = Filters::from_config(&FilterSettings {
        redact_regex: regex.map(str::to_owned),
        ..settings(names)
    })
    .expect("valid redaction");
    assert!(filters.guards());
    CutGuard::cut(&filters, text, max)
}

/// For every cut inside `secret` (placed after `before`, followed by `after`), the guard moves the
/// cut to `secret`'s start, where a piece starting there redacts it whole; a cut at its start or
/// end is left as it is.
fn moves_every_straddling_cut(name: &str, before: &str, secret: &str, after: &str) {
    let text = format!("{before}{secret}{after}");
    let start = before.len();
    let end = start + secret.len();
    for max in (start + 1..end).filter(|at| text.is_char_boundary(*at)) {
        assert_eq!(
            guarded(&[name], None, &text, max),
            start,
            "{name}, cut at {max}"
        );
    }
    assert_eq!(
        guarded(&[name], None, &text, start),
        start,
        "{name}: at the start"
    );
    assert_eq!(
        guarded(&[name], None, &text, end),
        end,
        "{name}: at the end"
    );
    // The piece after the cut redacts the secret whole.
    let (piece, count) = with_rule(name, &text[start..]);
    assert_eq!(count, 1, "{name} in {piece}");
    let marker = Rule::from_name(name).unwrap().marker();
    assert!(piece.contains(marker), "{name} in {piece}");
}

#[test]
fn the_cut_guard_never_cuts_inside_a_secret() {
    let filler = "x".repeat(300);
    // The value and the key name before it: a piece holding the value alone would not redact it.
    moves_every_straddling_cut(
        "aws-secret-access-key",
        &format!("{filler} aws_"),
        &format!("secret_access_key={SECRET}"),
        &format!(" {filler}"),
    );
    moves_every_straddling_cut(
        "aws-secret-access-key",
        &format!(r#"{filler}{{"#),
        &format!(r#"SecretAccessKey\":\"{SECRET}"#),
        &format!(r#"\"}} {filler}"#),
    );
    let jwt =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    moves_every_straddling_cut(
        "bearer-token",
        &format!("{filler} "),
        &format!("Authorization: Bearer {jwt}"),
        &format!(" {filler}"),
    );
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\\n{}\\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA7bq".repeat(40)
    );
    moves_every_straddling_cut(
        "private-key",
        &format!("{filler} key="),
        &pem,
        &format!(" {filler}"),
    );
}

#[test]
fn the_cut_guard_sees_a_block_whose_end_is_past_its_view() {
    // A key block whose end line is beyond the text the guard sees still starts before the cut and
    // reaches past it: the cut moves to its start.
    let body = "QkFTRTY0".repeat(20_000);
    let text = format!("lead -----BEGIN PRIVATE KEY-----\\n{body}");
    assert_eq!(guarded(&["private-key"], None, &text, 100_000), 5);
    // A REDACT_REGEX match needs its end in view: one that ends past it is not seen.
    let text = format!("lead <secret>{}</secret>", "a".repeat(200_000));
    let regex = Some("<secret>[a-z]+</secret>");
    assert_eq!(guarded(&[], regex, &text[..150_000], 100_000), 100_000);
    assert_eq!(guarded(&[], regex, &text, 100_000), 5);
}

#[test]
fn the_cut_guard_keeps_overlapping_matches_together_and_may_find_no_room() {
    // The email starts inside the labelled value's run: both stay on one side.
    let text = format!("aaaa secret_key={SECRET}@example.com tail");
    let both = &["aws-secret-access-key", "email"];
    let email_end = text.find(" tail").unwrap();
    assert_eq!(guarded(both, None, &text, email_end - 2), 5);
    // A match from the start of the piece past the cut leaves no place to move it: 0, and the
    // scanner keeps its own cut.
    let text = format!("secret_key={SECRET} rest");
    assert_eq!(guarded(&["aws-secret-access-key"], None, &text, 20), 0);
    // Multibyte text before the secret: the cut moves to a character boundary.
    let text = format!("日本語ééé aws_secret_access_key={SECRET}");
    let start = text.find("secret").unwrap();
    assert_eq!(
        guarded(&["aws-secret-access-key"], None, &text, text.len() - 3),
        start
    );
}

#[test]
fn without_redaction_nothing_guards_cuts() {
    let filters = Filters::from_config(&FilterSettings {
        include: Some("x".into()),
        ..FilterSettings::default()
    })
    .unwrap();
    assert!(!filters.guards());
    assert_eq!(CutGuard::cut(&filters, "secret_key=abc", 5), 5);
}
