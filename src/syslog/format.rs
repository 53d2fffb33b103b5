//! Writes records as syslog messages.

use std::borrow::Cow;
use std::sync::Arc;

use super::batch::Frames;
use super::sanitize::{push_header_field, push_organisation, push_prefix_value, push_sd_value};
use super::timestamp::{Clock, push_decimal, push_rfc3164, push_rfc5424};
use super::{Batch, Framing, SyslogFormat, SyslogSettings};
use crate::record::{Origin, Record};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Longest RFC 3164 TAG.
const TAG_MAX: usize = 32;
/// The part marker `Part:N/M,` without its digits.
const PART_MARKER_FIXED: usize = "Part:/,".len();

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error(
        "a record's syslog header and prefix take {header_bytes} bytes, leaving no room for its payload \
         within SYSLOG_MAX_MESSAGE_BYTES={max}; raise SYSLOG_MAX_MESSAGE_BYTES (or set it to 0 for no cap)"
    )]
    NoRoomForPayload { header_bytes: usize, max: usize },
}

/// Turns records into framed syslog bytes according to [`SyslogSettings`].
#[derive(Debug, Clone)]
pub struct Formatter {
    settings: SyslogSettings,
    /// `Organisation:<org>,Event Source:`, the same for every record, so built once.
    prefix_start: Vec<u8>,
}

/// Kept by the caller between [`Formatter::append`] calls: the header being written, and the parts
/// of it that records of one origin share (written once per origin, not once per record).
#[derive(Debug, Default)]
pub struct Scratch {
    head: Vec<u8>,
    template: Option<Template>,
    clock: Clock,
}

#[derive(Debug)]
struct Template {
    /// Held, so the pointer the next record is compared with cannot belong to another origin.
    origin: Arc<Origin>,
    msg_id: String,
    /// ` HOSTNAME APP-NAME - MSGID [SD-ID params… id="`
    before_id: Vec<u8>,
    /// `"] [BOM]Organisation:…,Event Source:…,`
    after_id: Vec<u8>,
}

impl Formatter {
    pub fn new(settings: SyslogSettings) -> Formatter {
        let mut prefix_start = b"Organisation:".to_vec();
        // Configuration already refuses commas and control characters; settings built in code get
        // the same guarantee that the prefix has exactly its two fields.
        push_organisation(&mut prefix_start, &settings.organisation);
        prefix_start.extend_from_slice(b",Event Source:");
        Formatter {
            settings,
            prefix_start,
        }
    }

    /// Formats every record. Fails as a whole, before anything is sent, when one record cannot be
    /// written within the size cap.
    pub fn batch(&self, records: &[Record]) -> Result<Batch, FormatError> {
        let mut batch = Batch::default();
        let mut scratch = Scratch::default();
        for record in records {
            self.append(&mut batch, &mut scratch, record)?;
        }
        Ok(batch)
    }

    /// Appends one record to `batch`; `scratch` is kept between calls (records of one origin
    /// share most of their header). On error the batch is unchanged.
    pub fn append(
        &self,
        batch: &mut Batch,
        scratch: &mut Scratch,
        record: &Record,
    ) -> Result<(), FormatError> {
        batch.push_record(|mut frames| self.encode_with(record, scratch, &mut frames))
    }

    /// Appends one record's framed message(s) to `out`; returns how many messages it took.
    pub fn encode(&self, record: &Record, out: &mut Vec<u8>) -> Result<usize, FormatError> {
        let mut bodies = Vec::new();
        self.encode_with(
            record,
            &mut Scratch::default(),
            &mut Frames::new(out, &mut bodies),
        )
    }

    fn encode_with(
        &self,
        record: &Record,
        scratch: &mut Scratch,
        out: &mut Frames<'_>,
    ) -> Result<usize, FormatError> {
        let Scratch {
            head,
            template,
            clock,
        } = scratch;
        head.clear();
        match self.template(record, template) {
            Some((template, id)) => {
                self.push_pri(record, head);
                head.extend_from_slice(b"1 ");
                clock.push_rfc5424(head, record.timestamp_ms);
                head.extend_from_slice(&template.before_id);
                push_sd_value(head, id);
                head.extend_from_slice(&template.after_id);
            }
            None => self.push_header(record, head),
        }

        let payload = defuse_prefix(&record.payload);
        let payload = match self.settings.framing {
            Framing::OctetCounting => payload,
            Framing::Lf => match escape_line_breaks(&payload) {
                Cow::Borrowed(_) => payload,
                Cow::Owned(escaped) => Cow::Owned(escaped),
            },
        };
        let max = self.settings.max_message_bytes;
        if max == 0 || head.len() + stored_len(&payload) <= max {
            self.push_frame(out, &[head, payload.as_bytes()]);
            return Ok(1);
        }
        self.push_split(head, &payload, max, out)
    }

    /// The header and MSG prefix of a record, every field written for it alone.
    fn push_header(&self, record: &Record, head: &mut Vec<u8>) {
        match self.settings.format {
            SyslogFormat::Rfc5424 => self.push_rfc5424_header(record, head),
            SyslogFormat::Rfc3164 => self.push_rfc3164_header(record, head),
        }
        self.push_prefix(record, head);
    }

    /// `[BOM]Organisation:<org>,Event Source:<source>,`
    fn push_prefix(&self, record: &Record, head: &mut Vec<u8>) {
        if self.settings.utf8_bom && self.settings.format == SyslogFormat::Rfc5424 {
            head.extend_from_slice(UTF8_BOM);
        }
        head.extend_from_slice(&self.prefix_start);
        push_prefix_value(head, &record.origin.source);
        head.push(b',');
    }

    /// The header parts `record` shares with the records before it, (re)built in `slot` when its
    /// origin or MSGID changed, with the record's id; `None` for a record whose header has
    /// parts of its own (a detection element, no id, RFC 3164, no structured data).
    fn template<'a, 'r>(
        &self,
        record: &'r Record,
        slot: &'a mut Option<Template>,
    ) -> Option<(&'a Template, &'r str)> {
        let id = record.id.as_deref().filter(|id| !id.is_empty())?;
        let sd_id = self.settings.sd_id.as_deref()?;
        if self.settings.format != SyslogFormat::Rfc5424 || record.detection.is_some() {
            return None;
        }
        let fresh = slot.as_ref().is_some_and(|t| {
            Arc::ptr_eq(&t.origin, &record.origin) && t.msg_id == record.msg_id.as_ref()
        });
        if !fresh {
            *slot = Some(self.build_template(record, sd_id));
        }
        Some((slot.as_ref()?, id))
    }

    /// What [`Formatter::push_header`] writes around the id of a record with structured data and
    /// no detection.
    fn build_template(&self, record: &Record, sd_id: &str) -> Template {
        let mut before_id = Vec::with_capacity(256);
        before_id.push(b' ');
        push_header_field(&mut before_id, &record.origin.hostname, 255);
        before_id.push(b' ');
        push_header_field(&mut before_id, &record.origin.app_name, 48);
        before_id.extend_from_slice(b" - ");
        push_header_field(&mut before_id, &record.msg_id, 32);
        before_id.extend_from_slice(b" [");
        before_id.extend_from_slice(sd_id.as_bytes());
        let params = record.origin.params.iter();
        push_sd_params(
            &mut before_id,
            params.map(|(name, value)| (*name, value.as_str())),
        );
        before_id.extend_from_slice(b" id=\"");
        let mut after_id = b"\"".to_vec();
        push_sd_params(&mut after_id, self.context(record));
        after_id.extend_from_slice(b"] ");
        self.push_prefix(record, &mut after_id);
        Template {
            origin: Arc::clone(&record.origin),
            msg_id: record.msg_id.to_string(),
            before_id,
            after_id,
        }
    }

    /// Writes the payload as consecutive parts `Part:N/M,<chunk>`, each a complete message no longer
    /// than `max` as the receiver stores it, cut only at UTF-8 character boundaries.
    fn push_split(
        &self,
        head: &[u8],
        payload: &str,
        max: usize,
        out: &mut Frames<'_>,
    ) -> Result<usize, FormatError> {
        let no_room = FormatError::NoRoomForPayload {
            header_bytes: head.len() + PART_MARKER_FIXED + 2,
            max,
        };
        let margin = if payload.bytes().any(is_control) {
            ESCAPED_MESSAGE_MARGIN
        } else {
            0
        };
        let available = max
            .checked_sub(head.len() + margin)
            .ok_or(no_room.clone())?;
        // The marker's width depends on the part count, which depends on the marker's width: try
        // one digit, then two, ... until the count fits.
        let mut digits = 1;
        let cuts = loop {
            let room = available
                .checked_sub(PART_MARKER_FIXED + 2 * digits)
                .filter(|room| *room >= 4)
                .ok_or(no_room.clone())?;
            let cuts = chunk_at_char_boundaries(payload, room);
            if decimal_width(cuts.len()) <= digits {
                break cuts;
            }
            digits += 1;
        };
        let total = cuts.len();
        let mut marker = Vec::with_capacity(PART_MARKER_FIXED + 2 * digits);
        let mut start = 0;
        for (index, end) in cuts.iter().enumerate() {
            marker.clear();
            marker.extend_from_slice(b"Part:");
            push_decimal(&mut marker, (index + 1) as u64);
            marker.push(b'/');
            push_decimal(&mut marker, total as u64);
            marker.push(b',');
            self.push_frame(out, &[head, &marker, &payload.as_bytes()[start..*end]]);
            start = *end;
        }
        Ok(total)
    }

    fn push_frame(&self, out: &mut Frames<'_>, pieces: &[&[u8]]) {
        match self.settings.framing {
            Framing::OctetCounting => {
                let len: usize = pieces.iter().map(|p| p.len()).sum();
                let mut count = [0u8; 24];
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(len).as_bytes();
                count[..digits.len()].copy_from_slice(digits);
                count[digits.len()] = b' ';
                out.push(&count[..=digits.len()], pieces, b"");
            }
            Framing::Lf => out.push(b"", pieces, b"\n"),
        }
    }

    fn push_pri(&self, record: &Record, out: &mut Vec<u8>) {
        out.push(b'<');
        push_decimal(
            out,
            u64::from(self.settings.facility.code()) * 8 + u64::from(record.severity.code()),
        );
        out.push(b'>');
    }

    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD ` (RFC 5424 section 6).
    fn push_rfc5424_header(&self, record: &Record, out: &mut Vec<u8>) {
        self.push_pri(record, out);
        out.extend_from_slice(b"1 ");
        push_rfc5424(out, record.timestamp_ms);
        out.push(b' ');
        push_header_field(out, &record.origin.hostname, 255);
        out.push(b' ');
        push_header_field(out, &record.origin.app_name, 48);
        out.extend_from_slice(b" - ");
        push_header_field(out, &record.msg_id, 32);
        out.push(b' ');
        self.push_structured_data(record, out);
        out.push(b' ');
    }

    /// The origin's element (`SYSLOG_SD_ID`), then the record's own tags element; `-` when neither
    /// has anything to say.
    fn push_structured_data(&self, record: &Record, out: &mut Vec<u8>) {
        let mut any = false;
        if let Some(sd_id) = &self.settings.sd_id {
            let params = record
                .origin
                .params
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .chain(record.id.as_deref().map(|id| ("id", id)))
                .chain(self.context(record));
            any |= push_sd_element(out, sd_id, params);
        }
        if let Some(tags) = &record.detection {
            let params = tags
                .params
                .iter()
                .map(|(name, value)| (*name, value.as_str()));
            any |= push_sd_element(out, &tags.id, params);
        }
        if !any {
            out.push(b'-');
        }
    }

    /// The context every record carries after its own parameters: `SYSLOG_EXTRA_FIELDS`, then its
    /// origin's tags (a log group's); empty values are left out, as everywhere.
    fn context<'a>(&'a self, record: &'a Record) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.settings
            .extra_fields
            .iter()
            .chain(&record.origin.tags)
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: ` (RFC 3164 section 4.1).
    fn push_rfc3164_header(&self, record: &Record, out: &mut Vec<u8>) {
        self.push_pri(record, out);
        push_rfc3164(out, record.timestamp_ms);
        out.push(b' ');
        push_header_field(out, &record.origin.hostname, 255);
        out.push(b' ');
        let start = out.len();
        out.extend(
            record
                .origin
                .app_name
                .bytes()
                .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
                .take(TAG_MAX),
        );
        if out.len() == start {
            out.extend_from_slice(b"aws");
        }
        out.extend_from_slice(b": ");
    }
}

/// Writes `[id name="value" ...]` with the non-empty values; writes nothing and returns false when
/// there are none.
fn push_sd_element<'a>(
    out: &mut Vec<u8>,
    id: &str,
    params: impl Iterator<Item = (&'a str, &'a str)>,
) -> bool {
    let start = out.len();
    out.push(b'[');
    out.extend_from_slice(id.as_bytes());
    let any = push_sd_params(out, params);
    if any {
        out.push(b']');
    } else {
        out.truncate(start);
    }
    any
}

/// Writes ` name="value"` for each non-empty value; whether it wrote any.
fn push_sd_params<'a>(out: &mut Vec<u8>, params: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    let mut any = false;
    for (name, value) in params.filter(|(_, value)| !value.is_empty()) {
        any = true;
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        push_sd_value(out, value);
        out.push(b'"');
    }
    any
}

/// The tag every SIEM extraction regex starts from.
const PREFIX_TAG: &str = "Organisation:";

/// Writes `Organisation:` inside a payload as `Organisation#072` (`:` in rsyslog's octal notation).
/// SIEM regexes such as `Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),` are
/// unanchored: without this, a log line carrying that text would be filed under a tenant and source
/// of its author's choosing.
fn defuse_prefix(payload: &str) -> Cow<'_, str> {
    // Built once: a searcher set up per record costs more than the search in short lines.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(PREFIX_TAG));
    if FINDER.find(payload.as_bytes()).is_none() {
        return Cow::Borrowed(payload);
    }
    Cow::Owned(payload.replace(PREFIX_TAG, "Organisation#072"))
}

/// Replaces CR and LF with `#015` / `#012` (rsyslog's own notation) so an LF-framed message cannot
/// end early and a log line cannot forge a second record.
fn escape_line_breaks(payload: &str) -> Cow<'_, str> {
    if !payload.bytes().any(|b| b == b'\n' || b == b'\r') {
        return Cow::Borrowed(payload);
    }
    let mut out = String::with_capacity(payload.len() + 16);
    for ch in payload.chars() {
        match ch {
            '\n' => out.push_str("#012"),
            '\r' => out.push_str("#015"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// Bytes `payload` takes once a receiver has stored it: rsyslog writes each control character as
/// `#ooo` and applies its size limit after that, so they count four; and a message with any escape
/// is stored only up to 3 bytes less than rsyslog's limit (measured with rsyslog 8.2302).
fn stored_len(payload: &str) -> usize {
    match count_controls(payload.as_bytes()) {
        0 => payload.len(),
        controls => payload.len() + 3 * controls + ESCAPED_MESSAGE_MARGIN,
    }
}

/// Control characters in `bytes`, counted in byte-wide lanes a block at a time (log lines carry
/// tabs, so this runs on most records).
fn count_controls(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| {
            let in_block = block
                .iter()
                .fold(0u8, |count, &b| count + u8::from((b < 0x20) | (b == 0x7f)));
            usize::from(in_block)
        })
        .sum()
}

const ESCAPED_MESSAGE_MARGIN: usize = 3;

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// End offsets of consecutive chunks of at most `room` stored bytes (`room` ≥ 4), each ending on a
/// character boundary. An empty payload is one empty chunk.
fn chunk_at_char_boundaries(payload: &str, room: usize) -> Vec<usize> {
    let mut cuts = Vec::with_capacity(payload.len() / room + 1);
    let mut used = 0;
    for (index, ch) in payload.char_indices() {
        let width = match ch.len_utf8() {
            1 if is_control(ch as u8) => 4,
            n => n,
        };
        if used + width > room {
            cuts.push(index);
            used = 0;
        }
        used += width;
    }
    cuts.push(payload.len());
    cuts
}

fn decimal_width(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::record::{Origin, RecordKind, SdElement, Severity};

    fn settings() -> SyslogSettings {
        SyslogSettings {
            organisation: "Acme".into(),
            ..SyslogSettings::default()
        }
    }

    fn record(payload: &str) -> Record {
        Record {
            kind: RecordKind::Log,
            origin: Arc::new(Origin {
                hostname: "123456789012".into(),
                app_name: "orders-api".into(),
                source: "/aws/lambda/orders-api".into(),
                params: vec![
                    ("account", "123456789012".into()),
                    ("logGroup", "/aws/lambda/orders-api".into()),
                ],
                tags: Vec::new(),
            }),
            timestamp_ms: 1_795_000_000_123,
            msg_id: "log".into(),
            severity: Severity::Informational,
            id: Some("3719".into()),
            payload: payload.into(),
            detection: None,
        }
    }

    fn encode(settings: SyslogSettings, record: &Record) -> (String, usize) {
        let mut out = Vec::new();
        let parts = Formatter::new(settings).encode(record, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), parts)
    }

    /// Splits octet-counted frames.
    fn frames(mut bytes: &str) -> Vec<&str> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let space = bytes.find(' ').unwrap();
            let len: usize = bytes[..space].parse().unwrap();
            out.push(&bytes[space + 1..space + 1 + len]);
            bytes = &bytes[space + 1 + len..];
        }
        out
    }

    #[test]
    fn rfc5424_message_is_exact() {
        let (text, parts) = encode(settings(), &record("hello world"));
        let msg = "<134>1 2026-11-18T11:06:40.123Z 123456789012 orders-api - log \
                   [aws@32473 account=\"123456789012\" logGroup=\"/aws/lambda/orders-api\" id=\"3719\"] \
                   Organisation:Acme,Event Source:/aws/lambda/orders-api,hello world";
        assert_eq!(parts, 1);
        assert_eq!(text, format!("{} {msg}", msg.len()));
    }

    #[test]
    fn strict_rfc5424_parser_accepts_it() {
        let mut rec = record("payload with \"quotes\" and ] and \\");
        rec.id = Some("a\"b]c\\d".into());
        let (text, _) = encode(settings(), &rec);
        let msg = frames(&text)[0];
        let parsed = syslog_rfc5424::parse_message(msg).unwrap();
        assert_eq!(parsed.hostname.as_deref(), Some("123456789012"));
        assert_eq!(parsed.appname.as_deref(), Some("orders-api"));
        assert_eq!(parsed.msgid.as_deref(), Some("log"));
        assert_eq!(parsed.severity as u8, 6);
        assert_eq!(parsed.facility as u8, 16);
        assert_eq!(
            parsed.sd.find_tuple("aws@32473", "id"),
            Some(&"a\"b]c\\d".to_string())
        );
        assert_eq!(
            parsed.msg,
            "Organisation:Acme,Event Source:/aws/lambda/orders-api,payload with \"quotes\" and ] and \\"
        );
    }

    #[test]
    fn payload_cannot_claim_another_tenant() {
        let tenant = regex::Regex::new(
            r"Organisation:(?P<tenant>[^,]+),Event Source:(?P<computer>AWS\.ECR),",
        )
        .unwrap();
        let spoof = "user said Organisation:Evil,Event Source:AWS.ECR,boom";
        for framing in [Framing::OctetCounting, Framing::Lf] {
            let (text, _) = encode(
                SyslogSettings {
                    framing,
                    ..settings()
                },
                &record(spoof),
            );
            assert!(text.contains("user said Organisation#072Evil,Event Source:AWS.ECR,boom"));
            assert!(tenant.captures(&text).is_none(), "{text}");
        }
    }

    #[test]
    fn tags_element_follows_the_origin_element() {
        let mut rec = record("x");
        rec.detection = Some(Box::new(SdElement {
            id: "detection@32473".into(),
            params: vec![("rule", "a\"]b".into()), ("empty", String::new())],
        }));
        let (text, _) = encode(settings(), &rec);
        let msg = frames(&text)[0];
        assert!(msg.contains("id=\"3719\"][detection@32473 rule=\"a\\\"\\]b\"] Organisation:"));
        let parsed = syslog_rfc5424::parse_message(msg).unwrap();
        assert_eq!(
            parsed.sd.find_tuple("detection@32473", "rule"),
            Some(&"a\"]b".to_string())
        );

        let (text, _) = encode(
            SyslogSettings {
                sd_id: None,
                ..settings()
            },
            &rec,
        );
        assert!(text.contains(" log [detection@32473 rule="));
        rec.detection = Some(Box::new(SdElement {
            id: "detection@32473".into(),
            params: vec![("empty", String::new())],
        }));
        let (text, _) = encode(
            SyslogSettings {
                sd_id: None,
                ..settings()
            },
            &rec,
        );
        assert!(text.contains(" log - Organisation:"));
    }

    #[test]
    fn no_structured_data_when_turned_off() {
        let (text, _) = encode(
            SyslogSettings {
                sd_id: None,
                ..settings()
            },
            &record("x"),
        );
        assert!(
            text.contains(" orders-api - log - Organisation:Acme,"),
            "{text}"
        );
    }

    #[test]
    fn empty_params_leave_no_empty_element() {
        let mut rec = record("x");
        rec.origin = Arc::new(Origin {
            params: vec![("region", String::new())],
            ..(*rec.origin).clone()
        });
        rec.id = None;
        let (text, _) = encode(settings(), &rec);
        assert!(text.contains(" log - Organisation:"), "{text}");
    }

    #[test]
    fn bom_only_on_request() {
        let (plain, _) = encode(settings(), &record("x"));
        assert!(!plain.contains('\u{feff}'));
        let (bom, _) = encode(
            SyslogSettings {
                utf8_bom: true,
                ..settings()
            },
            &record("x"),
        );
        assert!(bom.contains("] \u{feff}Organisation:Acme,"), "{bom}");
    }

    #[test]
    fn lf_framing_escapes_line_breaks() {
        let forged = "first\n<131>1 2026-01-01T00:00:00Z h a - - - forged\r\nend";
        let (text, parts) = encode(
            SyslogSettings {
                framing: Framing::Lf,
                ..settings()
            },
            &record(forged),
        );
        assert_eq!(parts, 1);
        assert_eq!(text.matches('\n').count(), 1);
        assert!(
            text.ends_with("first#012<131>1 2026-01-01T00:00:00Z h a - - - forged#015#012end\n")
        );
    }

    #[test]
    fn organisation_cannot_add_a_field_or_a_line() {
        let (text, parts) = encode(
            SyslogSettings {
                organisation: "A,Event Source:forged\nB".into(),
                framing: Framing::Lf,
                ..settings()
            },
            &record("x"),
        );
        assert_eq!(parts, 1);
        assert_eq!(text.matches('\n').count(), 1);
        assert!(
            text.contains(
                " Organisation:A_Event Source:forged_B,Event Source:/aws/lambda/orders-api,x\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn octet_counting_keeps_payload_verbatim() {
        let (text, _) = encode(settings(), &record("a\nb"));
        assert!(frames(&text)[0].ends_with(",a\nb"));
    }

    #[test]
    fn rfc3164_header() {
        let (text, _) = encode(
            SyslogSettings {
                format: SyslogFormat::Rfc3164,
                framing: Framing::Lf,
                ..settings()
            },
            &record("hi"),
        );
        assert_eq!(
            text,
            "<134>Nov 18 11:06:40 123456789012 orders-api: Organisation:Acme,Event Source:/aws/lambda/orders-api,hi\n"
        );
    }

    #[test]
    fn long_messages_split_into_complete_parts() {
        let payload: String = "日本語テキスト-abc-".repeat(900);
        let max = 1000;
        let (text, parts) = encode(
            SyslogSettings {
                max_message_bytes: max,
                ..settings()
            },
            &record(&payload),
        );
        let messages = frames(&text);
        assert_eq!(messages.len(), parts);
        assert!(parts > 10);
        let mut rebuilt = String::new();
        for (i, msg) in messages.iter().enumerate() {
            assert!(msg.len() <= max, "part {} is {} bytes", i + 1, msg.len());
            let parsed = syslog_rfc5424::parse_message(*msg).unwrap();
            let marker = format!(
                "Organisation:Acme,Event Source:/aws/lambda/orders-api,Part:{}/{parts},",
                i + 1
            );
            let chunk = parsed.msg.strip_prefix(&marker).unwrap();
            rebuilt.push_str(chunk);
        }
        assert_eq!(rebuilt, payload);
    }

    #[test]
    fn split_exactly_at_the_cap_is_one_message() {
        let (whole, _) = encode(settings(), &record(""));
        let header_len = frames(&whole)[0].len();
        let payload = "x".repeat(100);
        let fits = SyslogSettings {
            max_message_bytes: header_len + 100,
            ..settings()
        };
        assert_eq!(encode(fits.clone(), &record(&payload)).1, 1);
        let over = SyslogSettings {
            max_message_bytes: header_len + 99,
            ..settings()
        };
        assert_eq!(encode(over, &record(&payload)).1, 2);
    }

    proptest::proptest! {
        #[test]
        fn control_characters_are_counted_in_any_length(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::Just(b'\t'), proptest::prelude::Just(0x7fu8), 0u8..=255
            ], 0..2000),
        ) {
            let naive = bytes.iter().filter(|&&b| is_control(b)).count();
            proptest::prop_assert_eq!(count_controls(&bytes), naive);
        }
    }

    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            proptest::prelude::Just(String::new()),
            "[a-z0-9/]{1,12}",
            "[ -~]{0,20}",
            ".{0,6}",
            proptest::prelude::Just("a\"b]c\\d\n,e:f".to_string()),
        ]
    }

    proptest::proptest! {
        /// Records of origins that change now and then, formatted with one scratch (the shared
        /// header parts reused), give exactly what each gives formatted alone, field by field.
        #[test]
        fn shared_header_parts_write_what_each_record_would(
            records in proptest::collection::vec(
                (0usize..3, text(), text(), proptest::option::of(text()), proptest::bool::ANY, 0u8..8),
                1..30,
            ),
            origins in proptest::collection::vec((text(), text(), text(), text(), text()), 3),
            bom in proptest::bool::ANY,
            sd in proptest::bool::ANY,
        ) {
            let settings = SyslogSettings {
                utf8_bom: bom,
                sd_id: sd.then(|| "aws@32473".to_string()),
                max_message_bytes: 0,
                ..settings()
            };
            let origins: Vec<Arc<Origin>> = origins
                .into_iter()
                .map(|(hostname, app_name, source, account, group)| {
                    Arc::new(Origin {
                        hostname,
                        app_name,
                        source,
                        params: vec![("account", account), ("logGroup", group)],
                        tags: Vec::new(),
                    })
                })
                .collect();
            let formatter = Formatter::new(settings);
            let mut scratch = Scratch::default();
            for (origin, msg_id, payload, id, detection, severity) in records {
                let mut record = record(&payload);
                record.origin = Arc::clone(&origins[origin]);
                record.msg_id = msg_id.into();
                record.id = id;
                record.severity = match severity {
                    0 => Severity::Emergency,
                    3 => Severity::Error,
                    _ => Severity::Informational,
                };
                record.detection = detection.then(|| {
                    Box::new(crate::record::SdElement {
                        id: "detection@32473".into(),
                        params: vec![("rule", "ECR-1".into())],
                    })
                });
                let (mut shared, mut bodies) = (Vec::new(), Vec::new());
                formatter
                    .encode_with(&record, &mut scratch, &mut Frames::new(&mut shared, &mut bodies))
                    .unwrap();
                let mut alone = Vec::new();
                let mut head = Vec::new();
                formatter.push_header(&record, &mut head);
                let payload = defuse_prefix(&record.payload);
                formatter.push_frame(
                    &mut Frames::new(&mut alone, &mut bodies),
                    &[&head, payload.as_bytes()],
                );
                proptest::prop_assert_eq!(
                    String::from_utf8_lossy(&shared),
                    String::from_utf8_lossy(&alone)
                );
            }
        }
    }

    #[test]
    fn extra_fields_and_tags_go_into_the_element_of_every_record_escaped() {
        let settings = SyslogSettings {
            extra_fields: vec![
                ("env".into(), "prod".into()),
                ("note".into(), r#"a "b" \c ]d"#.into()),
            ],
            max_message_bytes: 600,
            ..settings()
        };
        let mut rec = record("hello");
        rec.origin = Arc::new(Origin {
            tags: vec![
                ("tag.team".into(), "payments".into()),
                ("tag.empty".into(), String::new()),
            ],
            ..(*rec.origin).clone()
        });
        let mut detected = rec.clone();
        detected.detection = Some(Box::new(crate::record::SdElement {
            id: "detection@32473".into(),
            params: vec![("rule", "ECR-1".into())],
        }));
        let mut long = rec.clone();
        long.payload = "x".repeat(2_000);
        // The shared-header path, the record-by-record path, and a split record.
        for record in [&rec, &detected, &long] {
            let (text, parts) = encode(settings.clone(), record);
            assert_eq!(
                text.matches(r#"env="prod" note="a \"b\" \\c \]d" tag.team="payments"]"#)
                    .count(),
                parts,
                "every part carries the fields: {text}"
            );
            assert!(!text.contains("tag.empty"), "{text}");
            for frame in frames(&text) {
                let parsed = syslog_rfc5424::parse_message(frame).expect("strict RFC 5424");
                let param = |name| parsed.sd.find_tuple("aws@32473", name).cloned();
                assert_eq!(param("env").as_deref(), Some("prod"));
                assert_eq!(param("note").as_deref(), Some(r#"a "b" \c ]d"#));
                assert_eq!(param("tag.team").as_deref(), Some("payments"));
            }
        }
    }

    #[test]
    fn control_characters_count_as_the_receiver_stores_them() {
        let (whole, _) = encode(settings(), &record(""));
        let header_len = frames(&whole)[0].len();
        let tabs = "\t".repeat(20); // 20 bytes, 80 as stored (#011 each), 83 with rsyslog's margin
        let cap = |max| SyslogSettings {
            max_message_bytes: max,
            ..settings()
        };
        assert_eq!(encode(cap(header_len + 83), &record(&tabs)).1, 1);
        let (text, parts) = encode(cap(header_len + 82), &record(&tabs));
        assert_eq!(parts, 2);
        for msg in frames(&text) {
            let stored = msg.len() + 3 * msg.matches('\t').count();
            assert!(stored + 3 <= header_len + 82, "{stored}");
        }
    }

    #[test]
    fn part_count_with_more_digits_still_fits() {
        let payload = "y".repeat(20_000);
        let (text, parts) = encode(
            SyslogSettings {
                max_message_bytes: 260,
                sd_id: None,
                ..settings()
            },
            &record(&payload),
        );
        assert!(parts >= 100, "{parts}");
        assert!(frames(&text).iter().all(|m| m.len() <= 260));
    }

    #[test]
    fn no_room_is_an_error_not_a_cut() {
        let mut out = Vec::new();
        let err = Formatter::new(SyslogSettings {
            max_message_bytes: 100,
            ..settings()
        })
        .encode(&record("payload"), &mut out)
        .unwrap_err();
        assert!(matches!(
            err,
            FormatError::NoRoomForPayload { max: 100, .. }
        ));
        assert!(err.to_string().contains("SYSLOG_MAX_MESSAGE_BYTES"));
    }

    #[test]
    fn batch_tracks_record_boundaries() {
        let formatter = Formatter::new(SyslogSettings {
            max_message_bytes: 300,
            ..settings()
        });
        let records = vec![record("a"), record(&"b".repeat(500)), record("c")];
        let batch = formatter.batch(&records).unwrap();
        assert_eq!(batch.records(), 3);
        assert!(batch.messages() > 3);
        let per_record: Vec<usize> = batch
            .record_bytes()
            .map(|b| frames(std::str::from_utf8(b).unwrap()).len())
            .collect();
        assert_eq!(per_record[0], 1);
        assert_eq!(per_record[2], 1);
        assert_eq!(per_record.iter().sum::<usize>(), batch.messages());
    }
}
