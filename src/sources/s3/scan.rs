//! The records of one object, one at a time, from its decompressed bytes as they arrive: a
//! CloudTrail log file (`{"Records":[…]}`, told by its first bytes) gives one entry per element,
//! anything else one entry per line. The scanner only moves past whole units (an element, a line),
//! so when the bytes run out it says [`Step::NeedInput`] and scans again once more have come.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Deserialize;

use super::inflow::Inflow;
use super::{ObjectRef, S3Error, Version};
use crate::sources::eventbridge::compact_json_into;
use crate::sources::input::{Input, InputError};
use crate::time::parse_rfc3339_ms;

/// Leading whitespace looked at before deciding that an object is not a CloudTrail log file.
const SNIFF_BYTES: usize = 4096;
/// How far past the cut of a long line a [`CutGuard`] sees: what a match may reach beyond the cut
/// and still be moved whole into the next piece. The window holds this much more than a record
/// while a line is cut (and only when a guard is set).
pub const CUT_LOOKAHEAD: usize = 64 * 1024;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One record of an object, written into buffers kept between records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Entry {
    pub payload: String,
    /// `eventID` of a CloudTrail record, `<key>:<line number>` of a line.
    pub id: String,
    /// `eventTime` of a CloudTrail record.
    pub timestamp_ms: Option<i64>,
    /// `recipientAccountId` and `awsRegion` of a CloudTrail record (empty for a line).
    pub account: String,
    pub region: String,
}

/// Chooses where a line longer than a record is cut, so that no match of what it guards (a secret
/// redaction must see whole) straddles the cut. The scanner knows nothing of what is guarded.
pub trait CutGuard: Sync {
    /// Whether the guard may move a cut at all (without one the scanner reads no lookahead).
    fn guards(&self) -> bool {
        true
    }

    /// The largest position at most `max` (a character boundary of `text`) that no match spans,
    /// that is, no match starts before it and ends after it; `0` when every position up to `max`
    /// is inside one match. `text[..max]` is the piece as it would be cut, `text[max..]` the
    /// lookahead (up to [`CUT_LOOKAHEAD`] bytes of the line, fewer when the line ends sooner).
    fn cut(&self, text: &str, max: usize) -> usize;
}

/// What the scanner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The entry holds the next record.
    Entry,
    /// The bytes pushed so far are used up: push the next chunk (or say the body ended).
    NeedInput,
    /// The object has no more records.
    Done,
}

/// What kind of object it is, and where the scan is within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Unknown,
    CloudTrail(Trail),
    Lines,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trail {
    /// Just inside `[`: an element or `]`.
    ValueOrEnd,
    /// After an element: `,` or `]`.
    CommaOrEnd,
    /// After `,`: an element.
    Value,
    /// After `]`: the document's `}`.
    Close,
    /// After a document: the end, or another `{"Records":[` document (concatenated files).
    Between,
}

/// How far the search for the end of a JSON value got, kept while more bytes arrive.
#[derive(Debug, Default, Clone, Copy)]
struct ValueScan {
    scanned: usize,
    depth: usize,
    in_string: bool,
}

/// Why a scan stopped short.
enum Fault {
    Input(InputError),
    Record(String),
    Layout(String),
}

impl From<InputError> for Fault {
    fn from(error: InputError) -> Fault {
        Fault::Input(error)
    }
}

/// The fields of a CloudTrail record the syslog header and structured data need.
#[derive(Deserialize)]
struct TrailFields<'a> {
    #[serde(rename = "eventTime", borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "recipientAccountId", borrow, default)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(rename = "awsRegion", borrow, default)]
    aws_region: Option<Cow<'a, str>>,
}

pub struct ObjectStream<'g> {
    input: Input<Inflow>,
    /// Where long lines are cut, when something must not straddle a cut.
    guard: Option<&'g dyn CutGuard>,
    bucket: String,
    key: String,
    version: Version,
    layout: Layout,
    cloudtrail: bool,
    /// The longest record (a CloudTrail element; a line is cut into records of this size).
    max_record: usize,
    value: ValueScan,
    /// Records handed out.
    records: usize,
    /// The line being read (1-based), the pieces of it already handed out, and how far the
    /// search for its end went.
    line: u64,
    piece: u32,
    searched: usize,
}

impl<'g> ObjectStream<'g> {
    /// A scanner for `object`, reading at most `max_bytes` decompressed bytes; `buffer` is a window
    /// buffer to reuse (an empty one is fine).
    pub fn new(
        object: &ObjectRef,
        max_bytes: usize,
        max_record: usize,
        buffer: Vec<u8>,
    ) -> ObjectStream<'g> {
        ObjectStream {
            input: Input::new(Inflow::default(), max_bytes, buffer),
            guard: None,
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            version: object.version(),
            layout: Layout::Unknown,
            cloudtrail: false,
            max_record: max_record.max(16),
            value: ValueScan::default(),
            records: 0,
            line: 1,
            piece: 0,
            searched: 0,
        }
    }

    /// Cuts lines longer than a record where `guard` says, so that no match of it straddles a cut
    /// (the redaction's: see [`CutGuard`]). Without a guard a line is cut at the record size.
    pub fn guard_cuts(&mut self, guard: &'g dyn CutGuard) {
        self.guard = guard.guards().then_some(guard);
    }

    /// Hands over the next chunk of the body.
    pub fn push(&mut self, chunk: bytes::Bytes) {
        self.input.reader_mut().push(chunk);
    }

    /// The body has ended.
    pub fn end(&mut self) {
        self.input.reader_mut().end();
    }

    /// Whether the object is a CloudTrail log file (known after its first bytes).
    pub fn is_cloudtrail(&self) -> bool {
        self.cloudtrail
    }

    /// Whether the object is gzip (known after its first bytes).
    pub fn is_gzip(&self) -> Option<bool> {
        self.input.reader().is_gzip()
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> usize {
        self.input.total()
    }

    pub fn records(&self) -> usize {
        self.records
    }

    /// The window buffer, for the next object.
    pub fn into_buffer(self) -> Vec<u8> {
        self.input.into_buffer()
    }

    /// Writes the next record into `entry`.
    pub fn next_into(&mut self, entry: &mut Entry) -> Result<Step, S3Error> {
        let step = match self.layout {
            Layout::Unknown => self.detect().map(|()| None),
            Layout::CloudTrail(trail) => self.trail(trail, entry),
            Layout::Lines => self.lines(entry),
            Layout::Done => return Ok(Step::Done),
        };
        match step {
            Ok(None) => self.next_into(entry),
            Ok(Some(step)) => {
                if step == Step::Entry {
                    self.records += 1;
                }
                Ok(step)
            }
            Err(Fault::Input(e)) if e.is_pending() => Ok(Step::NeedInput),
            Err(fault) => Err(self.error(fault)),
        }
    }

    fn error(&self, fault: Fault) -> S3Error {
        let (bucket, key, version) = (self.bucket.clone(), self.key.clone(), self.version.clone());
        match fault {
            Fault::Input(InputError::TooLarge { limit }) => S3Error::TooLarge {
                bucket,
                key,
                version,
                limit,
            },
            Fault::Input(InputError::Read(source)) => S3Error::Gzip {
                bucket,
                key,
                version,
                source,
            },
            Fault::Record(reason) => S3Error::Record {
                bucket,
                key,
                version,
                index: self.records + 1,
                reason,
            },
            Fault::Layout(reason) => S3Error::Layout {
                bucket,
                key,
                version,
                offset: self.input.total() - self.input.window().len(),
                reason,
            },
        }
    }

    /// A CloudTrail log file starts `{"Records":[` (whitespace allowed); anything else is lines.
    fn detect(&mut self) -> Result<(), Fault> {
        match self.document_start()? {
            Some(end) => {
                self.input.advance(end);
                self.layout = Layout::CloudTrail(Trail::ValueOrEnd);
                self.cloudtrail = true;
            }
            None => {
                if self.input.want(UTF8_BOM.len())? >= UTF8_BOM.len()
                    && self.input.window().starts_with(UTF8_BOM)
                {
                    self.input.advance(UTF8_BOM.len());
                }
                self.layout = Layout::Lines;
            }
        }
        Ok(())
    }

    /// The offset just past `[` when the window starts `{"Records":[`, else `None`.
    fn document_start(&mut self) -> Result<Option<usize>, Fault> {
        let mut at = 0;
        for expected in [&b"{"[..], b"\"Records\"", b":", b"["] {
            while let Some(b) = self.input.byte_at(at)? {
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') || at > SNIFF_BYTES {
                    break;
                }
                at += 1;
            }
            if self.input.want(at + expected.len())? < at + expected.len()
                || &self.input.window()[at..at + expected.len()] != expected
            {
                return Ok(None);
            }
            at += expected.len();
        }
        Ok(Some(at))
    }

    /// Consumes whitespace as it comes (never holding it); the next byte, or `None` at the end.
    fn next_token(&mut self) -> Result<Option<u8>, Fault> {
        loop {
            let window = self.input.window();
            let blank = window
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            let next = window.get(blank).copied();
            self.input.advance(blank);
            if next.is_some() {
                return Ok(next);
            }
            if self.input.want(1)? == 0 {
                return Ok(None);
            }
        }
    }

    fn trail(&mut self, trail: Trail, entry: &mut Entry) -> Result<Option<Step>, Fault> {
        let token = self.next_token()?;
        let next = |state| Layout::CloudTrail(state);
        match (trail, token) {
            (Trail::ValueOrEnd | Trail::CommaOrEnd, Some(b']')) => {
                self.input.advance(1);
                self.layout = next(Trail::Close);
            }
            (Trail::CommaOrEnd, Some(b',')) => {
                self.input.advance(1);
                self.layout = next(Trail::Value);
            }
            (Trail::ValueOrEnd | Trail::Value, Some(b'{')) => {
                self.element(entry)?;
                self.layout = next(Trail::CommaOrEnd);
                return Ok(Some(Step::Entry));
            }
            (Trail::Close, Some(b'}')) => {
                self.input.advance(1);
                self.layout = next(Trail::Between);
            }
            (Trail::Between, None) => {
                self.layout = Layout::Done;
                return Ok(Some(Step::Done));
            }
            (Trail::Between, Some(b'{')) => match self.document_start()? {
                Some(end) => {
                    self.input.advance(end);
                    self.layout = next(Trail::ValueOrEnd);
                }
                None => {
                    return Err(Fault::Layout(
                        "after a {\"Records\":[…]} document comes a JSON object that is not one"
                            .into(),
                    ));
                }
            },
            (_, None) => {
                return Err(Fault::Layout(
                    "the object ends inside its Records array (a truncated CloudTrail log file)"
                        .into(),
                ));
            }
            (state, Some(b)) => {
                let expected = match state {
                    Trail::ValueOrEnd => "a record or ]",
                    Trail::CommaOrEnd => ", or ]",
                    Trail::Value => "a record (a JSON object)",
                    Trail::Close => "} (the end of the {\"Records\":[…]} document)",
                    Trail::Between => "the end of the object or another {\"Records\":[…]} document",
                };
                return Err(Fault::Layout(format!(
                    "expected {expected}, found {:?}",
                    char::from(b)
                )));
            }
        }
        Ok(None)
    }

    /// The element at the position (its `{`), read whole into `entry` and consumed.
    fn element(&mut self, entry: &mut Entry) -> Result<(), Fault> {
        let end = self.object_end()?;
        self.value = ValueScan::default();
        let raw = &self.input.window()[..end];
        let fields: TrailFields = serde_json::from_slice(raw)
            .map_err(|e| Fault::Record(format!("not valid JSON ({e})")))?;
        // serde checked every string, and the rest of JSON is ASCII: this cannot fail.
        let text = std::str::from_utf8(raw)
            .map_err(|e| Fault::Record(format!("not valid UTF-8 ({e})")))?;
        entry.payload.clear();
        compact_json_into(text, &mut entry.payload);
        entry.id.clear();
        match fields.event_id {
            Some(id) => entry.id.push_str(&id),
            // A record without an eventID is still told apart by its place in the object.
            None => {
                let _ = write!(entry.id, "{}:{}", self.key, self.records + 1);
            }
        }
        entry.timestamp_ms = fields.event_time.as_deref().and_then(parse_rfc3339_ms);
        entry.account.clear();
        entry
            .account
            .push_str(fields.recipient_account_id.as_deref().unwrap_or_default());
        entry.region.clear();
        entry
            .region
            .push_str(fields.aws_region.as_deref().unwrap_or_default());
        self.input.advance(end);
        Ok(())
    }

    /// The offset just past the JSON object at the position, found by brackets and string ends
    /// alone (serde checks the rest); the search resumes where it stopped when bytes run out.
    fn object_end(&mut self) -> Result<usize, Fault> {
        loop {
            let window = self.input.window();
            let scan = &mut self.value;
            while scan.scanned < window.len() {
                if scan.in_string {
                    match memchr::memchr2(b'"', b'\\', &window[scan.scanned..]) {
                        None => scan.scanned = window.len(),
                        Some(found) => {
                            let at = scan.scanned + found;
                            if window[at] == b'"' {
                                scan.in_string = false;
                                scan.scanned = at + 1;
                            } else if at + 1 < window.len() {
                                scan.scanned = at + 2;
                            } else {
                                // The escaped character has not arrived yet.
                                scan.scanned = at;
                                break;
                            }
                        }
                    }
                    continue;
                }
                match window[scan.scanned] {
                    b'"' => scan.in_string = true,
                    b'{' | b'[' => scan.depth += 1,
                    b'}' | b']' => {
                        scan.depth = scan.depth.saturating_sub(1);
                        if scan.depth == 0 {
                            return Ok(scan.scanned + 1);
                        }
                    }
                    _ => {}
                }
                scan.scanned += 1;
            }
            let have = window.len();
            if have > self.max_record {
                return Err(Fault::Record(format!(
                    "longer than {} bytes, the largest record this forwarder reads",
                    self.max_record
                )));
            }
            if self.input.want(have + 1)? <= have {
                return Err(Fault::Layout(
                    "the object ends inside a record (a truncated CloudTrail log file)".into(),
                ));
            }
        }
    }

    /// The next line (without its line break) into `entry`; empty lines are skipped, and a line
    /// longer than a record is handed out in pieces, cut where the guard says.
    fn lines(&mut self, entry: &mut Entry) -> Result<Option<Step>, Fault> {
        // What the window must hold past the record size before a line is cut there.
        let reach = self.max_record
            + if self.guard.is_some() {
                CUT_LOOKAHEAD
            } else {
                0
            };
        loop {
            let len = self.input.window().len();
            let from = self.searched.min(len);
            let newline = memchr::memchr(b'\n', &self.input.window()[from..]).map(|i| from + i);
            // (end of the content, bytes consumed, whether the line ends here)
            let (end, consumed, whole) = match newline {
                Some(newline) => {
                    let carriage = newline > 0 && self.input.window()[newline - 1] == b'\r';
                    let end = newline - usize::from(carriage);
                    if end <= self.max_record {
                        (end, newline + 1, true)
                    } else {
                        let cut = self.cut(end.min(reach));
                        (cut, cut, false)
                    }
                }
                None if len >= reach => {
                    let cut = self.cut(reach);
                    (cut, cut, false)
                }
                None => {
                    self.searched = len;
                    if self.input.want(len + 1)? > len {
                        continue;
                    }
                    if len == 0 {
                        self.layout = Layout::Done;
                        return Ok(Some(Step::Done));
                    }
                    if len > self.max_record {
                        let cut = self.cut(len);
                        (cut, cut, false)
                    } else {
                        // The last line has no line break.
                        (len, len, true)
                    }
                }
            };
            // An empty line (or the empty rest of a long one) is no record.
            if end == 0 && (self.piece == 0 || whole) {
                self.input.advance(consumed);
                self.searched = 0;
                if whole {
                    self.line += 1;
                    self.piece = 0;
                }
                continue;
            }
            entry.payload.clear();
            entry
                .payload
                .push_str(&String::from_utf8_lossy(&self.input.window()[..end]));
            entry.id.clear();
            let _ = write!(entry.id, "{}:{}", self.key, self.line);
            if self.piece > 0 {
                let _ = write!(entry.id, "/{}", self.piece + 1);
            }
            entry.timestamp_ms = None;
            entry.account.clear();
            entry.region.clear();
            self.input.advance(consumed);
            if whole {
                self.line += 1;
                self.piece = 0;
                self.searched = 0;
            } else {
                self.piece += 1;
                // No line break before the newline found, or before the end of the window.
                self.searched = newline.unwrap_or(len) - consumed;
            }
            return Ok(Some(Step::Entry));
        }
    }

    /// Where the line at the position is cut: at the record size (on a character boundary), moved
    /// earlier by the guard so that no match straddles it. `seen` bytes of the line are in the
    /// window (the record size and the lookahead, or less when the line ends sooner).
    fn cut(&self, seen: usize) -> usize {
        // The byte after the record size tells whether a character goes on past it.
        let cut = char_boundary(self.input.window(), self.max_record);
        match self.guard {
            Some(guard) => guarded_cut(guard, &self.input.window()[..seen], cut),
            None => cut,
        }
    }
}

/// `cut`, moved earlier to where `guard` says no match straddles it, unless that leaves nothing
/// before it. The guard reads the valid UTF-8 around the cut, up to the nearest invalid bytes (the
/// payload has U+FFFD there, which no rule's secret value holds): a match across them is not seen.
fn guarded_cut(guard: &dyn CutGuard, text: &[u8], cut: usize) -> usize {
    let mut start = 0;
    for chunk in text.utf8_chunks() {
        let valid = chunk.valid();
        let end = start + valid.len();
        if cut < start {
            // The cut falls among invalid bytes: nothing there is text a pattern could match.
            break;
        }
        if cut <= end {
            let moved = start + guard.cut(valid, cut - start).min(cut - start);
            return if moved == 0 { cut } else { moved };
        }
        start = end + chunk.invalid().len();
    }
    cut
}

/// Whether `id` names a later piece (`<line>/2`, `<line>/3`, …) of the line whose first piece (or
/// whole record) has the id `line`.
pub fn is_later_piece(line: &str, id: &str) -> bool {
    id.strip_prefix(line)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The largest cut at most `max` into `bytes` that does not split a UTF-8 character.
fn char_boundary(bytes: &[u8], max: usize) -> usize {
    let mut cut = max.min(bytes.len());
    // At most three continuation bytes (10xxxxxx) precede a character's end.
    for _ in 0..3 {
        if cut == 0 || cut >= bytes.len() || bytes[cut] & 0xC0 != 0x80 {
            break;
        }
        cut -= 1;
    }
    if cut == 0 { max.min(bytes.len()) } else { cut }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
