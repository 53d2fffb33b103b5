//! Subscription data in one pass: gunzip → a scanner that finds each log event's `id`, `timestamp`
//! and `message` and unescapes them straight into reused buffers, so a payload is never held whole
//! (neither its JSON nor its records).
//!
//! The scanner reads CloudWatch Logs' own layout (metadata keys, then `logEvents`) with any
//! whitespace. Anything else falls back to serde so that the result, and the error for bad input, is
//! exactly serde's: a log event it does not expect is handed to serde alone; a document whose top
//! level it does not expect (metadata after `logEvents`, escaped or duplicate keys, wrong types,
//! trailing bytes) is decoded whole by [`super::decode_gzip`] and its events are replayed from there.

use flate2::read::MultiGzDecoder;
use serde::de::IgnoredAny;

use super::{DecodeError, LogEvent, decode_gzip};
use crate::sources::Limits;
use crate::sources::input::{Input, InputError};
use crate::sources::json_text::{Stop, Unescaper};

/// The metadata of a subscription payload, known before its first log event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogMeta {
    pub message_type: String,
    pub owner: String,
    pub log_group: String,
    pub log_stream: String,
}

impl LogMeta {
    pub fn is_data(&self) -> bool {
        self.message_type == "DATA_MESSAGE"
    }
}

/// One log event, written into buffers the caller keeps between events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EventBuf {
    pub id: String,
    pub timestamp: i64,
    pub message: String,
}

/// The log events of one payload, one at a time.
pub struct LogStream<'a> {
    compressed: &'a [u8],
    limits: Limits,
    meta: LogMeta,
    events: Events<'a>,
    /// Events handed out so far.
    emitted: usize,
    /// Whether the document had to be decoded whole.
    whole: bool,
}

// One stream per payload: the scanner's size is not worth a box.
#[allow(clippy::large_enum_variant)]
enum Events<'a> {
    Scan(Scanner<'a>),
    /// Decoded whole by serde (an unusual document); the first `emitted` were already handed out.
    Whole(std::vec::IntoIter<LogEvent>),
    Done,
}

struct Scanner<'a> {
    input: Input<MultiGzDecoder<&'a [u8]>>,
    /// Whether the next element is the first of `logEvents`.
    first: bool,
    unescaper: Unescaper,
}

/// Why the scanner hands over to serde.
struct Unusual;

type Scan<T> = Result<Result<T, Unusual>, DecodeError>;

impl<'a> LogStream<'a> {
    /// Reads up to the first log event. `buffer` is a window buffer to reuse (an empty one is fine).
    pub fn open(
        compressed: &'a [u8],
        limits: Limits,
        buffer: Vec<u8>,
    ) -> Result<LogStream<'a>, DecodeError> {
        let input = Input::new(
            MultiGzDecoder::new(compressed),
            limits.max_decompressed_bytes,
            buffer,
        );
        let mut scanner = Scanner {
            input,
            first: true,
            unescaper: Unescaper::default(),
        };
        let mut stream = LogStream {
            compressed,
            limits,
            meta: LogMeta::default(),
            events: Events::Done,
            emitted: 0,
            whole: false,
        };
        match scanner.header()? {
            Ok(meta) => {
                stream.meta = meta;
                stream.events = Events::Scan(scanner);
            }
            Err(Unusual) => stream.whole()?,
        }
        Ok(stream)
    }

    pub fn meta(&self) -> &LogMeta {
        &self.meta
    }

    /// Whether the payload's layout made the stream decode it whole with serde (it never does for
    /// CloudWatch Logs' own layout).
    pub fn decoded_whole(&self) -> bool {
        self.whole
    }

    /// Writes the next log event into `event`; false after the last one.
    pub fn next_into(&mut self, event: &mut EventBuf) -> Result<bool, DecodeError> {
        let index = self.emitted;
        if index >= self.limits.max_log_events {
            // One more event than allowed is the error today's decoder gives, whatever follows.
            if self.has_more(event)? {
                return Err(DecodeError::TooManyEvents {
                    count: index + 1,
                    limit: self.limits.max_log_events,
                });
            }
            return Ok(false);
        }
        let more = self.next_unbounded(event).map_err(|e| match e {
            DecodeError::MessageTooLong { bytes, limit, .. } => DecodeError::MessageTooLong {
                index,
                bytes,
                limit,
            },
            other => other,
        })?;
        if more {
            if event.message.len() > self.limits.max_message_bytes {
                return Err(DecodeError::MessageTooLong {
                    index,
                    bytes: event.message.len(),
                    limit: self.limits.max_message_bytes,
                });
            }
            self.emitted += 1;
        }
        Ok(more)
    }

    /// The window buffer, for the next payload.
    pub fn into_buffer(self) -> Vec<u8> {
        match self.events {
            Events::Scan(scanner) => scanner.input.into_buffer(),
            _ => Vec::new(),
        }
    }

    fn has_more(&mut self, event: &mut EventBuf) -> Result<bool, DecodeError> {
        self.next_unbounded(event)
    }

    fn next_unbounded(&mut self, event: &mut EventBuf) -> Result<bool, DecodeError> {
        let scanned = match &mut self.events {
            Events::Done => return Ok(false),
            Events::Whole(events) => {
                return Ok(match events.next() {
                    Some(e) => {
                        event.id = e.id;
                        event.timestamp = e.timestamp;
                        event.message = e.message;
                        true
                    }
                    None => false,
                });
            }
            Events::Scan(scanner) => scanner.next_event(event, self.limits)?,
        };
        match scanned {
            Ok(true) => Ok(true),
            Ok(false) => {
                self.events = Events::Done;
                Ok(false)
            }
            Err(Unusual) => {
                self.whole()?;
                self.next_unbounded(event)
            }
        }
    }

    /// Hands the document to serde: decoded whole, its events replayed after those already out.
    fn whole(&mut self) -> Result<(), DecodeError> {
        self.whole = true;
        let data = decode_gzip(self.compressed, self.limits)?;
        let meta = LogMeta {
            message_type: data.message_type,
            owner: data.owner,
            log_group: data.log_group,
            log_stream: data.log_stream,
        };
        if self.emitted > 0 && meta != self.meta {
            // Cannot happen for a document serde accepts (metadata keys are unique), but events
            // already forwarded must not be re-labelled.
            return Err(DecodeError::Json(serde::de::Error::custom(
                "the payload's metadata changed after its first log events",
            )));
        }
        self.meta = meta;
        let mut events = data.log_events.into_iter();
        for _ in 0..self.emitted {
            events.next();
        }
        self.events = Events::Whole(events);
        Ok(())
    }
}

impl Scanner<'_> {
    /// Reads the top-level members up to the value of `logEvents` (left positioned inside its
    /// array). A document without `logEvents` is left to serde.
    fn header(&mut self) -> Scan<LogMeta> {
        let at = self.input.skip_ws(0)?;
        if self.input.byte_at(at)? != Some(b'{') {
            return Ok(Err(Unusual));
        }
        self.input.advance(at + 1);
        let mut fields: [Option<String>; 4] = Default::default();
        let mut seen = [false; 4];
        let mut first_member = true;
        loop {
            let Ok(key) = self.member_key(&mut first_member)? else {
                return Ok(Err(Unusual));
            };
            let Some(key) = key else {
                return Ok(Err(Unusual));
            };
            match key {
                Key::Meta(slot) => {
                    if std::mem::replace(&mut seen[slot], true) {
                        return Ok(Err(Unusual));
                    }
                    let at = self.input.skip_ws(0)?;
                    let mut text = String::new();
                    match self.string_into(at, &mut text, usize::MAX)? {
                        Ok(end) => {
                            fields[slot] = Some(text);
                            self.input.advance(end);
                        }
                        Err(Unusual) => return Ok(Err(Unusual)),
                    }
                }
                Key::LogEvents => {
                    let at = self.input.skip_ws(0)?;
                    if self.input.byte_at(at)? != Some(b'[') {
                        return Ok(Err(Unusual));
                    }
                    self.input.advance(at + 1);
                    let [Some(message_type), owner, log_group, log_stream] = fields else {
                        return Ok(Err(Unusual));
                    };
                    let meta = match message_type.as_str() {
                        "DATA_MESSAGE" => match (owner, log_group, log_stream) {
                            (Some(owner), Some(log_group), Some(log_stream)) => LogMeta {
                                message_type,
                                owner,
                                log_group,
                                log_stream,
                            },
                            _ => return Ok(Err(Unusual)),
                        },
                        "CONTROL_MESSAGE" => LogMeta {
                            message_type,
                            owner: owner.unwrap_or_default(),
                            log_group: log_group.unwrap_or_default(),
                            log_stream: log_stream.unwrap_or_default(),
                        },
                        _ => return Ok(Err(Unusual)),
                    };
                    return Ok(Ok(meta));
                }
                Key::Other => {
                    if self.skip_checked_value()?.is_err() {
                        return Ok(Err(Unusual));
                    }
                }
            }
        }
    }

    /// The next member's key of the top-level object, positioned after its `:`; `None` when the
    /// object closes (consumed).
    fn member_key(&mut self, first: &mut bool) -> Scan<Option<Key>> {
        let mut at = self.input.skip_ws(0)?;
        match self.input.byte_at(at)? {
            Some(b'}') => {
                self.input.advance(at + 1);
                return Ok(Ok(None));
            }
            Some(b',') if !*first => at = self.input.skip_ws(at + 1)?,
            Some(b'"') if *first => {}
            _ => return Ok(Err(Unusual)),
        }
        *first = false;
        let Ok((start, end)) = self.plain_string(at)? else {
            return Ok(Err(Unusual));
        };
        let key = match &self.input.window()[start..end] {
            b"messageType" => Key::Meta(0),
            b"owner" => Key::Meta(1),
            b"logGroup" => Key::Meta(2),
            b"logStream" => Key::Meta(3),
            b"logEvents" => Key::LogEvents,
            _ => Key::Other,
        };
        let colon = self.input.skip_ws(end + 1)?;
        if self.input.byte_at(colon)? != Some(b':') {
            return Ok(Err(Unusual));
        }
        self.input.advance(colon + 1);
        Ok(Ok(Some(key)))
    }

    /// The next element of `logEvents` into `event`; false (and the rest of the document checked)
    /// after the last.
    fn next_event(&mut self, event: &mut EventBuf, limits: Limits) -> Scan<bool> {
        let mut at = self.input.skip_ws(0)?;
        match self.input.byte_at(at)? {
            Some(b']') => {
                self.input.advance(at + 1);
                return self.trailer();
            }
            Some(b',') if !self.first => at = self.input.skip_ws(at + 1)?,
            Some(b'{') if self.first => {}
            _ => return Ok(Err(Unusual)),
        }
        self.first = false;
        match self.fast_event(at, event, limits.max_message_bytes)? {
            Some(end) => self.input.advance(end),
            None => {
                // Unusual but maybe valid (other key order, extra keys, escaped keys): serde reads
                // this one event, and says exactly what is wrong with it if anything is.
                let Ok(end) = self.value_end(at)? else {
                    return Ok(Err(Unusual));
                };
                let parsed: LogEvent = serde_json::from_slice(&self.input.window()[at..end])?;
                event.id = parsed.id;
                event.timestamp = parsed.timestamp;
                event.message = parsed.message;
                self.input.advance(end);
            }
        }
        Ok(Ok(true))
    }

    /// After `logEvents`: the remaining members (no metadata may repeat) and nothing after the
    /// object but whitespace.
    fn trailer(&mut self) -> Scan<bool> {
        let mut first = false;
        loop {
            let Ok(key) = self.member_key(&mut first)? else {
                return Ok(Err(Unusual));
            };
            match key {
                None => {
                    return Ok(if self.input.only_ws_remains()? {
                        Ok(false)
                    } else {
                        Err(Unusual)
                    });
                }
                Some(Key::Other) => {
                    if self.skip_checked_value()?.is_err() {
                        return Ok(Err(Unusual));
                    }
                }
                // Repeated or late metadata: serde decides.
                Some(_) => return Ok(Err(Unusual)),
            }
        }
    }

    /// `{"id":"…","timestamp":N,"message":"…"}` in any key order, with whitespace; `None` for
    /// anything else (left to serde). Returns the offset just past the object.
    fn fast_event(
        &mut self,
        at: usize,
        event: &mut EventBuf,
        max_message: usize,
    ) -> Result<Option<usize>, DecodeError> {
        if let Some(end) = self.compact_event(at, event, max_message)? {
            return Ok(Some(end));
        }
        // After a comma anything may come; only an object is a log event this scanner reads.
        if self.input.byte_at(at)? != Some(b'{') {
            return Ok(None);
        }
        let mut i = at + 1;
        let mut seen = [false; 3];
        loop {
            i = self.input.skip_ws(i)?;
            let Ok((start, end)) = self.plain_string(i)? else {
                return Ok(None);
            };
            let slot = match &self.input.window()[start..end] {
                b"id" => 0,
                b"timestamp" => 1,
                b"message" => 2,
                _ => return Ok(None),
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Ok(None);
            }
            i = self.input.skip_ws(end + 1)?;
            if self.input.byte_at(i)? != Some(b':') {
                return Ok(None);
            }
            i = self.input.skip_ws(i + 1)?;
            let value_end = match slot {
                0 => self.string_into(i, &mut event.id, usize::MAX)?,
                1 => match self.integer(i)? {
                    Some((value, end)) => {
                        event.timestamp = value;
                        Ok(end)
                    }
                    None => Err(Unusual),
                },
                _ => self.string_into(i, &mut event.message, max_message)?,
            };
            let Ok(value_end) = value_end else {
                return Ok(None);
            };
            i = self.input.skip_ws(value_end)?;
            match self.input.byte_at(i)? {
                Some(b',') => i += 1,
                Some(b'}') if seen == [true; 3] => return Ok(Some(i + 1)),
                _ => return Ok(None),
            }
        }
    }

    /// CloudWatch Logs' own compact form, `{"id":"…","timestamp":N,"message":"…"}`, matched by
    /// its fixed parts; `None` for any other form (which [`Scanner::fast_event`] reads from the
    /// start again). Its values are read exactly as the general form reads them.
    fn compact_event(
        &mut self,
        at: usize,
        event: &mut EventBuf,
        max_message: usize,
    ) -> Result<Option<usize>, DecodeError> {
        const ID: &[u8] = br#"{"id":"#;
        const TIMESTAMP: &[u8] = br#","timestamp":"#;
        const MESSAGE: &[u8] = br#","message":"#;
        if !self.follows(at, ID)? {
            return Ok(None);
        }
        let Ok(end) = self.string_into(at + ID.len(), &mut event.id, usize::MAX)? else {
            return Ok(None);
        };
        if !self.follows(end, TIMESTAMP)? {
            return Ok(None);
        }
        let Some((timestamp, end)) = self.integer(end + TIMESTAMP.len())? else {
            return Ok(None);
        };
        event.timestamp = timestamp;
        if !self.follows(end, MESSAGE)? {
            return Ok(None);
        }
        let Ok(end) = self.string_into(end + MESSAGE.len(), &mut event.message, max_message)?
        else {
            return Ok(None);
        };
        Ok(self.follows(end, b"}")?.then_some(end + 1))
    }

    /// Whether `text` is at `at`.
    fn follows(&mut self, at: usize, text: &[u8]) -> Result<bool, InputError> {
        if self.input.window().len() < at + text.len() {
            self.input.want(at + text.len())?;
        }
        Ok(self.input.window().get(at..at + text.len()) == Some(text))
    }

    /// A string without escapes at `at` (the opening quote): the offsets of its contents.
    fn plain_string(&mut self, at: usize) -> Scan<(usize, usize)> {
        if self.input.byte_at(at)? != Some(b'"') {
            return Ok(Err(Unusual));
        }
        let start = at + 1;
        let mut from = start;
        loop {
            let window = self.input.window();
            if let Some(found) = memchr::memchr2(b'"', b'\\', &window[from.min(window.len())..]) {
                let end = from + found;
                return Ok(if window[end] == b'"' {
                    Ok((start, end))
                } else {
                    Err(Unusual)
                });
            }
            from = window.len();
            if self.input.want(from + 1)? <= from {
                return Ok(Err(Unusual));
            }
        }
    }

    /// The string at `at` (its opening quote), unescaped into `out` in one pass over the window;
    /// the offset past its closing quote. `Unusual` for anything serde may judge differently: raw
    /// control characters, invalid UTF-8, lone surrogates, unknown escapes, a missing end. A
    /// message over `max` bytes is the `MessageTooLong` error, measured exactly.
    fn string_into(&mut self, at: usize, out: &mut String, max: usize) -> Scan<usize> {
        if self.input.byte_at(at)? != Some(b'"') {
            out.clear();
            return Ok(Err(Unusual));
        }
        let start = at + 1;
        // An escape takes at most six bytes per byte it stands for: past that, the message is
        // over the bound whatever it holds, and the window need not grow further.
        let max_raw = max.saturating_mul(6).saturating_add(6);
        let mut bytes = std::mem::take(out).into_bytes();
        bytes.clear();
        let scanned = self.unescape_into(start, max_raw, &mut bytes);
        // Escapes are ASCII and each stands for whole characters, so the output is valid UTF-8
        // exactly when the raw text is.
        let text = match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.clear();
                *out = String::from_utf8(bytes).unwrap_or_default();
                None
            }
        };
        let end = match scanned? {
            Scanned::End(end) => end,
            Scanned::Unusual => return Ok(Err(Unusual)),
            Scanned::TooLong => {
                // The rest of the payload still counts against the decompressed bound first, as
                // it does for a payload decoded whole; it is read and dropped, never held.
                self.input.drain()?;
                return Err(DecodeError::MessageTooLong {
                    index: 0,
                    // A lower bound: the string was not read to its end.
                    bytes: max_raw / 6 + 1,
                    limit: max,
                });
            }
        };
        let Some(text) = text else {
            return Ok(Err(Unusual));
        };
        *out = text;
        if out.len() > max {
            return Err(DecodeError::MessageTooLong {
                index: 0,
                bytes: out.len(),
                limit: max,
            });
        }
        Ok(Ok(end + 1))
    }

    /// Copies the string contents starting at `start` into `out`, escapes resolved, up to the
    /// closing quote (whose offset it returns), reading more into the window as needed. Once the
    /// contents turn out to be something serde must judge, only the end is looked for, so that a
    /// string too long to read is reported as such whatever it holds.
    fn unescape_into(
        &mut self,
        start: usize,
        max_raw: usize,
        out: &mut Vec<u8>,
    ) -> Result<Scanned, DecodeError> {
        let mut from = start;
        loop {
            let window = self.input.window();
            let have = window.len();
            let rest = window.get(from..).unwrap_or_default();
            // Bounded pieces keep the output's reserve small and the length bound checked.
            let piece = &rest[..rest.len().min(PIECE)];
            let (used, stop) = self.unescaper.unescape(piece, out);
            from += used;
            match stop {
                Stop::Quote => return Ok(Scanned::End(from)),
                Stop::Invalid => return self.end_after_unusual(start, from, max_raw),
                Stop::More => {
                    if from - start > max_raw {
                        return Ok(Scanned::TooLong);
                    }
                    // An escape cut by the window's end needs the bytes after it.
                    if piece.len() == rest.len() && self.input.want(have + 1)? <= have {
                        return Ok(Scanned::Unusual);
                    }
                }
            }
        }
    }

    /// The string's end after something unusual at `from`: `TooLong` when the string is longer
    /// than `max_raw`, else `Unusual` (serde decides).
    fn end_after_unusual(
        &mut self,
        start: usize,
        from: usize,
        max_raw: usize,
    ) -> Result<Scanned, DecodeError> {
        let budget = max_raw - (from - start);
        Ok(match self.string_end(from, budget)? {
            Ok(None) => Scanned::TooLong,
            _ => Scanned::Unusual,
        })
    }

    /// The offset of the closing quote of the string whose contents start at `start`, with the
    /// whole string read into the window; `None` once it is longer than `max_raw`.
    fn string_end(&mut self, start: usize, max_raw: usize) -> Scan<Option<usize>> {
        let mut from = start;
        loop {
            if from - start > max_raw {
                return Ok(Ok(None));
            }
            let window = self.input.window();
            match memchr::memchr2(b'"', b'\\', &window[from.min(window.len())..]) {
                Some(found) if window[from + found] == b'"' => return Ok(Ok(Some(from + found))),
                // Skip the escaped byte, whatever it is (checked when unescaping).
                Some(found) => from += found + 2,
                None => {
                    let have = window.len();
                    from = from.max(have);
                    if self.input.want(have + 1)? <= have {
                        return Ok(Err(Unusual));
                    }
                }
            }
        }
    }

    /// A JSON integer at `at` that fits i64, as serde reads an `i64`; `None` for anything else
    /// (floats, exponents, leading zeros, overflow).
    fn integer(&mut self, at: usize) -> Result<Option<(i64, usize)>, DecodeError> {
        self.input.want(at + 21)?;
        let window = self.input.window();
        let bytes = &window[at.min(window.len())..];
        let (negative, digits_from) = match bytes.first() {
            Some(b'-') => (true, 1),
            _ => (false, 0),
        };
        let digits = bytes[digits_from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = digits_from + digits;
        if digits == 0
            || (digits > 1 && bytes[digits_from] == b'0')
            || matches!(bytes.get(end), Some(b'.' | b'e' | b'E') | None)
        {
            return Ok(None);
        }
        // Eighteen digits cannot overflow an i64: the common case needs no checks.
        if digits <= 18 {
            let magnitude = bytes[digits_from..end]
                .iter()
                .fold(0i64, |value, &d| value * 10 + i64::from(d - b'0'));
            let value = if negative { -magnitude } else { magnitude };
            return Ok(Some((value, at + end)));
        }
        let mut value: i64 = 0;
        for &d in &bytes[digits_from..end] {
            let digit = i64::from(d - b'0');
            value = match value.checked_mul(10).and_then(|v| {
                if negative {
                    v.checked_sub(digit)
                } else {
                    v.checked_add(digit)
                }
            }) {
                Some(v) => v,
                None => return Ok(None),
            };
        }
        Ok(Some((value, at + end)))
    }

    /// Skips a value whose key the payload does not need, checking it is valid JSON as serde
    /// would (without recursion: nesting depth costs nothing).
    fn skip_checked_value(&mut self) -> Scan<()> {
        let at = self.input.skip_ws(0)?;
        let Ok(end) = self.value_end(at)? else {
            return Ok(Err(Unusual));
        };
        if serde_json::from_slice::<IgnoredAny>(&self.input.window()[at..end]).is_err() {
            return Ok(Err(Unusual));
        }
        self.input.advance(end);
        Ok(Ok(()))
    }

    /// The offset just past the JSON value at `at`, found by brackets and string ends alone (the
    /// value is checked by whoever parses it).
    fn value_end(&mut self, at: usize) -> Scan<usize> {
        let mut depth = 0usize;
        let mut i = at;
        loop {
            let Some(b) = self.input.byte_at(i)? else {
                return Ok(Err(Unusual));
            };
            match b {
                b'"' => {
                    let mut from = i + 1;
                    loop {
                        let window = self.input.window();
                        match memchr::memchr2(b'"', b'\\', &window[from.min(window.len())..]) {
                            Some(found) if window[from + found] == b'"' => {
                                i = from + found + 1;
                                break;
                            }
                            Some(found) => from += found + 2,
                            None => {
                                let have = window.len();
                                if self.input.want(have + 1)? <= have {
                                    return Ok(Err(Unusual));
                                }
                            }
                        }
                    }
                    if depth == 0 {
                        return Ok(Ok(i));
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        // The end of the enclosing container closes a scalar.
                        return Ok(if i > at { Ok(i) } else { Err(Unusual) });
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Ok(i + 1));
                    }
                }
                b',' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => {
                    return Ok(if i > at { Ok(i) } else { Err(Unusual) });
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// How a string's contents ended.
enum Scanned {
    /// At the closing quote, at this offset.
    End(usize),
    /// Longer than the bound allows, whatever it holds.
    TooLong,
    /// Not something this scanner reads (serde decides).
    Unusual,
}

/// Bytes of a string unescaped at a time, at most.
const PIECE: usize = 8192;

enum Key {
    /// messageType, owner, logGroup, logStream.
    Meta(usize),
    LogEvents,
    Other,
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
