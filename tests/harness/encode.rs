//! The encodings tests build events with and read the wire back from: gzip, base64, syslog frames.

use std::io::Write;

use aws_syslog_forwarder::syslog::Framing;
use base64::Engine;

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `{"awslogs":{"data":…}}` around the gzip of `log_data`.
pub fn awslogs(log_data: &str) -> String {
    serde_json::json!({"awslogs": {"data": base64(&gzip(log_data.as_bytes()))}}).to_string()
}

/// Splits a stream into its messages by `framing`; panics on a malformed frame.
pub fn frames(framing: Framing, mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    match framing {
        Framing::OctetCounting => {
            while !bytes.is_empty() {
                let space = bytes.iter().position(|b| *b == b' ').expect("LEN SP");
                let len: usize = std::str::from_utf8(&bytes[..space])
                    .expect("ASCII LEN")
                    .parse()
                    .expect("decimal LEN");
                assert!(
                    space + 1 + len <= bytes.len(),
                    "frame longer than the stream"
                );
                out.push(
                    String::from_utf8(bytes[space + 1..space + 1 + len].to_vec()).expect("UTF-8"),
                );
                bytes = &bytes[space + 1 + len..];
            }
        }
        Framing::Lf if bytes.is_empty() => {}
        Framing::Lf => {
            assert_eq!(
                bytes.last(),
                Some(&b'\n'),
                "LF framing ends every message with LF"
            );
            for line in bytes[..bytes.len() - 1].split(|b| *b == b'\n') {
                out.push(String::from_utf8(line.to_vec()).expect("UTF-8"));
            }
        }
    }
    out
}
