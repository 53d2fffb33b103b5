//! A second real receiver: syslog-ng's own parser reads what the forwarder sends (octet counting,
//! RFC 5424 header and structured data, parts split at its 64 KiB default) and the SIEM regexes
//! find tenant and source in what it stored.

mod harness;

use harness::forwarding::*;
use harness::syslog_ng::{Parsed, SyslogNg};
use regex::Regex;

const TENANT_REGEX: &str = r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>[^,]+),";
const CLOUDTRAIL_REGEX: &str =
    r#"Organisation:(?P<Tenant>[^,]+).*?"eventSource":"(?P<Computer>[^"]+)"#;

/// The fields of one sent message, read by a strict RFC 5424 parser.
fn fields(message: &str) -> Parsed {
    let parsed = syslog_rfc5424::parse_message(message).expect("RFC 5424");
    let pri = parsed.facility as u32 * 8 + parsed.severity as u32;
    Parsed {
        pri: pri.to_string(),
        host: parsed.hostname.unwrap_or_default(),
        program: parsed.appname.unwrap_or_default(),
        msgid: parsed.msgid.unwrap_or_default(),
        sdata: String::new(),
        msg: parsed.msg,
    }
}

#[tokio::test]
async fn syslog_ng_parses_every_field_of_every_record() {
    let syslog_ng = SyslogNg::start(65_536);
    let forwarder = forwarder(&tcp(syslog_ng.port), settings());
    let mut expected = Vec::new();
    for name in [
        "cloudtrail-ecr.json",
        "ecr-image-scan.json",
        "ecr-image-action.json",
    ] {
        let raw = event(name);
        expected.extend(expected_messages(&forwarder, &raw).await);
        forwarder
            .forward(&raw, deadline())
            .await
            .expect("delivered");
    }
    let stored = syslog_ng.wait_for(expected.len(), WAIT);
    assert_eq!(stored.len(), expected.len(), "{}", syslog_ng.stderr());
    let tenant = Regex::new(TENANT_REGEX).unwrap();
    let cloudtrail = Regex::new(CLOUDTRAIL_REGEX).unwrap();
    for (got, sent) in stored.iter().zip(&expected) {
        let want = fields(sent);
        assert_eq!(
            (&got.pri, &got.host, &got.program, &got.msgid, &got.msg),
            (&want.pri, &want.host, &want.program, &want.msgid, &want.msg),
            "{sent}"
        );
        assert!(got.sdata.starts_with("[aws@32473 "), "{}", got.sdata);
        assert!(got.sdata.contains(" id=\""), "{}", got.sdata);
        let caps = tenant
            .captures(&got.msg)
            .unwrap_or_else(|| panic!("untagged: {}", got.msg));
        assert_eq!(&caps["tenant"], "Acme");
    }
    let trail: Vec<&Parsed> = stored.iter().filter(|p| p.msgid == "log").collect();
    assert_eq!(trail.len(), 9);
    for p in trail {
        let caps = cloudtrail
            .captures(&p.msg)
            .unwrap_or_else(|| panic!("{}", p.msg));
        assert_eq!(&caps["Tenant"], "Acme");
    }
}

#[tokio::test]
async fn a_record_over_64_kib_arrives_as_parts_syslog_ng_keeps_whole() {
    let syslog_ng = SyslogNg::start(65_536);
    let settings = aws_syslog_forwarder::syslog::SyslogSettings {
        max_message_bytes: 65_536,
        ..settings()
    };
    let forwarder = forwarder(&tcp(syslog_ng.port), settings);
    let payload: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let raw = subscription("/aws/lambda/big", &[payload.as_str(), "after the big one"]);
    let outcome = forwarder
        .forward(&raw, deadline())
        .await
        .expect("delivered");
    assert_eq!(outcome.records, 2);
    assert!(outcome.messages >= 5, "{} messages", outcome.messages);
    let stored = syslog_ng.wait_for(outcome.messages, WAIT);
    assert_eq!(stored.len(), outcome.messages, "{}", syslog_ng.stderr());
    let part =
        Regex::new(r"^Organisation:Acme,Event Source:/aws/lambda/big,Part:(\d+)/(\d+),(.*)$")
            .unwrap();
    let mut joined = String::new();
    for (i, p) in stored[..outcome.messages - 1].iter().enumerate() {
        let caps = part
            .captures(&p.msg)
            .unwrap_or_else(|| panic!("part {i}: {:.80}", p.msg));
        assert_eq!(caps[1].parse::<usize>().unwrap(), i + 1);
        joined.push_str(&caps[3]);
    }
    assert_eq!(joined, payload, "the parts concatenate to the payload");
    assert!(
        stored.last().unwrap().msg.ends_with("after the big one"),
        "the connection survived"
    );
}
