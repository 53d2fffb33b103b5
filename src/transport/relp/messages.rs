//! A batch as RELP sends it: one `syslog` frame per message, without the octet count the formatter
//! put in front of each (RELP frames the message itself).

use super::RelpError;
use crate::syslog::Batch;

/// The messages of a batch in order, and which of them belong to which record.
#[derive(Debug)]
pub struct Messages<'a> {
    messages: Vec<&'a [u8]>,
    /// `record_ends[i]`: the index just past record `i`'s last message.
    record_ends: Vec<usize>,
}

impl<'a> Messages<'a> {
    /// Reads the `LEN SP MSG` frames of every record of an octet-counted batch.
    pub fn of(batch: &'a Batch) -> Result<Messages<'a>, RelpError> {
        let mut messages = Vec::with_capacity(batch.messages());
        let mut record_ends = Vec::with_capacity(batch.records());
        for mut record in batch.record_bytes() {
            if record.is_empty() {
                return Err(RelpError::NotOctetCounted);
            }
            while !record.is_empty() {
                let (message, rest) = octet_counted(record).ok_or(RelpError::NotOctetCounted)?;
                messages.push(message);
                record = rest;
            }
            record_ends.push(messages.len());
        }
        Ok(Messages {
            messages,
            record_ends,
        })
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        self.messages.get(index).copied()
    }

    /// Records whose every message comes before message `first_unconfirmed`.
    pub fn records_before(&self, first_unconfirmed: usize) -> usize {
        self.record_ends
            .partition_point(|&end| end <= first_unconfirmed)
    }
}

/// Splits `LEN SP MSG rest` into `MSG` and `rest`.
fn octet_counted(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = bytes.iter().take(21).position(|&b| b == b' ')?;
    let digits = &bytes[..space];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let length: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let body = &bytes[space + 1..];
    (length <= body.len()).then(|| body.split_at(length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Origin, Record, RecordKind, Severity};
    use crate::syslog::{Formatter, Framing, SyslogSettings};

    fn record(payload: &str) -> Record {
        Record {
            kind: RecordKind::Log,
            origin: std::sync::Arc::new(Origin {
                hostname: "123456789012".into(),
                app_name: "app".into(),
                source: "/aws/lambda/app".into(),
                params: Vec::new(),
            }),
            timestamp_ms: 1_795_000_000_123,
            msg_id: "log".into(),
            severity: Severity::Informational,
            id: Some("1".into()),
            payload: payload.into(),
            detection: None,
        }
    }

    #[test]
    fn splits_records_into_their_messages() {
        let formatter = Formatter::new(SyslogSettings {
            organisation: "Acme".into(),
            max_message_bytes: 600,
            ..SyslogSettings::default()
        });
        let records = [
            record("short"),
            record(&"long ".repeat(200)),
            record("a\nb"),
        ];
        let batch = formatter.batch(&records).unwrap();
        let messages = Messages::of(&batch).unwrap();
        assert_eq!(messages.len(), batch.messages());
        assert!(batch.messages() > 3, "the long record was split");
        for i in 0..messages.len() {
            let m = messages.get(i).unwrap();
            assert!(m.starts_with(b"<"), "{}", String::from_utf8_lossy(m));
        }
        assert!(messages.get(messages.len() - 1).unwrap().ends_with(b"a\nb"));
        assert_eq!(messages.records_before(0), 0);
        assert_eq!(messages.records_before(1), 1);
        assert_eq!(
            messages.records_before(2),
            1,
            "the long record needs all its parts"
        );
        assert_eq!(messages.records_before(messages.len() - 1), 2);
        assert_eq!(messages.records_before(messages.len()), 3);
    }

    #[test]
    fn refuses_what_is_not_octet_counted() {
        let formatter = Formatter::new(SyslogSettings {
            organisation: "Acme".into(),
            framing: Framing::Lf,
            ..SyslogSettings::default()
        });
        let batch = formatter.batch(&[record("x")]).unwrap();
        assert!(matches!(
            Messages::of(&batch),
            Err(RelpError::NotOctetCounted)
        ));
        assert_eq!(octet_counted(b"3 abcd"), Some((&b"abc"[..], &b"d"[..])));
        assert_eq!(octet_counted(b"5 abcd"), None);
        assert_eq!(octet_counted(b" 1 a"), None);
        assert_eq!(octet_counted(b"99999999999999999999999 a"), None);
    }
}
