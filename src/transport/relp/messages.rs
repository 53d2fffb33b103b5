//! A batch as RELP sends it: one `syslog` frame per message body. The batch knows where each
//! body lies, so the framing the formatter chose (octet counts or line breaks) is never re-parsed.

use crate::syslog::Batch;

/// The messages of a batch in order, and which of them belong to which record.
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    batch: &'a Batch,
}

impl<'a> Messages<'a> {
    pub fn of(batch: &'a Batch) -> Messages<'a> {
        Messages { batch }
    }

    pub fn len(&self) -> usize {
        self.batch.messages()
    }

    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        self.batch.message(index)
    }

    /// Records whose every message comes before message `first_unconfirmed`.
    pub fn records_before(&self, first_unconfirmed: usize) -> usize {
        self.batch.records_before_message(first_unconfirmed)
    }
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
                tags: Vec::new(),
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
        let messages = Messages::of(&batch);
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
    fn bodies_are_the_same_whatever_the_framing() {
        let settings = |framing| SyslogSettings {
            organisation: "Acme".into(),
            framing,
            max_message_bytes: 600,
            ..SyslogSettings::default()
        };
        let records = [record("x"), record(&"long ".repeat(200)), record("a\nb")];
        let counted = Formatter::new(settings(Framing::OctetCounting))
            .batch(&records)
            .unwrap();
        let lf = Formatter::new(settings(Framing::Lf))
            .batch(&records)
            .unwrap();
        let (counted, lf) = (Messages::of(&counted), Messages::of(&lf));
        assert_eq!(counted.len(), lf.len());
        for i in 0..counted.len() {
            let (a, b) = (counted.get(i).unwrap(), lf.get(i).unwrap());
            assert!(!b.ends_with(b"\n"), "no line break inside a body");
            if i + 1 < counted.len() {
                assert_eq!(a, b);
            }
        }
        // LF framing escapes the line break inside the last record.
        assert!(counted.get(counted.len() - 1).unwrap().ends_with(b"a\nb"));
    }
}
