//! RELP frames on the wire (librelp's `doc/relp.md`): `TXNR SP COMMAND SP DATALEN [SP DATA] LF`, the
//! `rsp` answer inside a frame's data, and the transaction numbers.
//!
//! The parser reads what a receiver sends, so it trusts nothing: every field has a bound, a frame
//! is taken only once complete, and a frame announcing more data than [`MAX_RESPONSE_DATA`] is
//! refused before anything is buffered for it.

/// The largest transaction number (0 is reserved for hints). The spec wraps to 1 after it; a
/// session here never gets that far (see `Session::numbers_left`).
pub const MAX_TXNR: u32 = 999_999_999;
/// TXNR and DATALEN have at most 9 digits.
const MAX_DIGITS: usize = 9;
/// COMMAND is 1 to 32 letters.
const MAX_COMMAND: usize = 32;
/// The longest data a receiver's frame may carry. Answers are a status line and, for `open`, a few
/// offers (librelp's are under 100 bytes); anything near this bound is not a RELP receiver.
pub const MAX_RESPONSE_DATA: usize = 64 * 1024;
/// The longest data we send: DATALEN has 9 digits.
pub const MAX_DATA: usize = 999_999_999;
/// How much of a receiver's human-readable status text is kept for error messages.
const MAX_STATUS_TEXT: usize = 80;

/// Why a frame could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "a message of {0} bytes is longer than a RELP frame can carry (999,999,999); set \
         SYSLOG_MAX_MESSAGE_BYTES so that long records are split"
    )]
    DataTooLong(usize),
    #[error("transaction number {0} is outside 0-999,999,999")]
    Txnr(u64),
    #[error(
        "the RELP session has used up its transaction numbers (999,999,998 frames); a new \
         session takes the rest"
    )]
    NumbersUsedUp,
}

/// Appends the frame `txnr command datalen [data]` + LF to `out`. `command` is one of ours (ASCII
/// letters); only the data length and the number can be out of range.
pub fn encode_frame(
    out: &mut Vec<u8>,
    txnr: u32,
    command: &str,
    data: &[u8],
) -> Result<(), EncodeError> {
    if txnr > MAX_TXNR {
        return Err(EncodeError::Txnr(u64::from(txnr)));
    }
    if data.len() > MAX_DATA {
        return Err(EncodeError::DataTooLong(data.len()));
    }
    debug_assert!(
        !command.is_empty()
            && command.len() <= MAX_COMMAND
            && command.bytes().all(|b| b.is_ascii_alphabetic())
    );
    out.reserve(command.len() + data.len() + 2 * MAX_DIGITS + 4);
    push_decimal(out, txnr as usize);
    out.push(b' ');
    out.extend_from_slice(command.as_bytes());
    out.push(b' ');
    push_decimal(out, data.len());
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
    Ok(())
}

fn push_decimal(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// One frame, borrowed from the bytes it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub txnr: u32,
    /// 1 to 32 ASCII letters.
    pub command: &'a [u8],
    pub data: &'a [u8],
}

/// What is wrong with the bytes a receiver sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the transaction number is not 1-9 digits followed by a space")]
    Txnr,
    #[error("the command is not 1-32 letters followed by a space")]
    Command,
    #[error("the data length is not 1-9 digits")]
    DataLength,
    #[error(
        "a frame announces {0} bytes of data, more than an answer can hold ({MAX_RESPONSE_DATA})"
    )]
    DataTooLong(usize),
    #[error(
        "the data length is not followed by a space (or, without data, by the end of the frame)"
    )]
    DataSeparator,
    #[error("a frame does not end with LF where its data length says it ends")]
    Trailer,
}

/// Parses the frame at the start of `input`: `Ok(Some((frame, length)))` for a complete frame of
/// `length` bytes, `Ok(None)` when `input` is a valid beginning of a frame that needs more bytes,
/// an error as soon as the bytes cannot begin a valid frame.
pub fn parse_frame(input: &[u8]) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    Ok(layout(input)?.map(|l| (l.frame(input), l.length)))
}

/// Where the parts of a complete frame lie in its bytes.
struct Layout {
    txnr: u32,
    command: std::ops::Range<usize>,
    data: std::ops::Range<usize>,
    /// The whole frame, trailer included.
    length: usize,
}

impl Layout {
    fn frame<'a>(&self, input: &'a [u8]) -> Frame<'a> {
        Frame {
            txnr: self.txnr,
            command: &input[self.command.clone()],
            data: &input[self.data.clone()],
        }
    }
}

fn layout(input: &[u8]) -> Result<Option<Layout>, FrameError> {
    let mut at = 0;
    let Some(txnr) = number(input, &mut at, FrameError::Txnr)? else {
        return Ok(None);
    };
    if input[at] != b' ' {
        return Err(FrameError::Txnr);
    }
    at += 1;
    let command_start = at;
    while let Some(&b) = input.get(at) {
        if !b.is_ascii_alphabetic() {
            break;
        }
        at += 1;
        if at - command_start > MAX_COMMAND {
            return Err(FrameError::Command);
        }
    }
    match input.get(at) {
        None => return Ok(None),
        Some(b' ') if at > command_start => {}
        Some(_) => return Err(FrameError::Command),
    }
    let command = command_start..at;
    at += 1;
    let Some(length) = number(input, &mut at, FrameError::DataLength)? else {
        return Ok(None);
    };
    let length = length as usize;
    if length > MAX_RESPONSE_DATA {
        return Err(FrameError::DataTooLong(length));
    }
    // Without data the trailer follows the length at once (as librelp requires).
    let data_start = match (input[at], length) {
        (b'\n', 0) => at,
        (b' ', 1..) => at + 1,
        _ => return Err(FrameError::DataSeparator),
    };
    let data_end = data_start + length;
    match input.get(data_end) {
        None => Ok(None),
        Some(b'\n') => Ok(Some(Layout {
            txnr,
            command,
            data: data_start..data_end,
            length: data_end + 1,
        })),
        Some(_) => Err(FrameError::Trailer),
    }
}

/// Reads 1 to 9 digits at `*at`; `None` when the input ends inside the number, so that on `Some`
/// a byte follows the digits.
fn number(input: &[u8], at: &mut usize, error: FrameError) -> Result<Option<u32>, FrameError> {
    let start = *at;
    let mut value: u32 = 0;
    while let Some(&b) = input.get(*at) {
        if !b.is_ascii_digit() {
            break;
        }
        if *at - start == MAX_DIGITS {
            return Err(error);
        }
        // 9 digits stay below u32::MAX.
        value = value * 10 + u32::from(b - b'0');
        *at += 1;
    }
    if *at == input.len() {
        return Ok(None);
    }
    if *at == start {
        return Err(error);
    }
    Ok(Some(value))
}

/// The data of an `rsp` frame: `CODE [SP TEXT] [LF BODY]`, or nothing at all (librelp answers
/// `close` with an empty `rsp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    Empty,
    Status {
        code: u16,
        /// The human-readable text after the code, up to the first LF.
        text: &'a [u8],
        /// What follows that LF (the offers of an `open` answer).
        body: &'a [u8],
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("an answer does not start with a 3-digit status code")]
    Code,
    #[error("an answer's status code is not followed by a space or the end of the line")]
    Separator,
}

pub fn parse_response(data: &[u8]) -> Result<Response<'_>, ResponseError> {
    if data.is_empty() {
        return Ok(Response::Empty);
    }
    let code = match data.get(..3) {
        Some(digits) if digits.iter().all(u8::is_ascii_digit) => digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0')),
        _ => return Err(ResponseError::Code),
    };
    let rest = match data.get(3) {
        None => &data[3..],
        Some(b' ') => &data[4..],
        Some(b'\n') => &data[3..],
        Some(_) => return Err(ResponseError::Separator),
    };
    let (text, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(lf) => (&rest[..lf], &rest[lf + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    Ok(Response::Status { code, text, body })
}

/// A receiver's status text, fit for a log line or an error message: at most 80 characters,
/// control characters and non-ASCII bytes shown as `?`.
pub fn printable(text: &[u8]) -> String {
    let shown: String = text
        .iter()
        .take(MAX_STATUS_TEXT)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if text.len() > MAX_STATUS_TEXT {
        format!("{shown}…")
    } else {
        shown
    }
}

/// An incremental parser: bytes in as they arrive, complete frames out. It holds at most one
/// incomplete frame plus what one read delivered.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    /// Bytes at the front of `buffer` already taken as frames.
    consumed: usize,
}

impl Decoder {
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.consumed > 0 {
            self.buffer.drain(..self.consumed);
            self.consumed = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received and not yet taken as a frame.
    pub fn pending(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// The next complete frame, if one has arrived. After an error the decoder is of no more use:
    /// the stream has lost its framing.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        let start = self.consumed;
        let input = &self.buffer[start..];
        let Some(layout) = layout(input)? else {
            return Ok(None);
        };
        self.consumed += layout.length;
        Ok(Some(layout.frame(&self.buffer[start..])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(txnr: u32, command: &str, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(&mut out, txnr, command, data).unwrap();
        out
    }

    #[test]
    fn encodes_the_documented_layout() {
        assert_eq!(frame(2, "syslog", b"<134>1 x"), b"2 syslog 8 <134>1 x\n");
        assert_eq!(frame(3, "close", b""), b"3 close 0\n");
        assert_eq!(
            encode_frame(&mut Vec::new(), MAX_TXNR + 1, "close", b""),
            Err(EncodeError::Txnr(u64::from(MAX_TXNR) + 1))
        );
    }

    #[test]
    fn the_largest_transaction_number_is_encoded() {
        assert_eq!(frame(MAX_TXNR, "close", b""), b"999999999 close 0\n");
    }

    #[test]
    fn parses_librelps_answers() {
        let open = b"1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";
        let (f, n) = parse_frame(open).unwrap().unwrap();
        assert_eq!((f.txnr, f.command, n), (1, &b"rsp"[..], open.len()));
        let Response::Status { code, text, body } = parse_response(f.data).unwrap() else {
            panic!("a status");
        };
        assert_eq!((code, text), (200, &b"OK"[..]));
        assert!(body.starts_with(b"relp_version=0\n"));

        let (f, _) = parse_frame(b"2 rsp 6 200 OK\n").unwrap().unwrap();
        assert_eq!(
            parse_response(f.data).unwrap(),
            Response::Status {
                code: 200,
                text: b"OK",
                body: b""
            }
        );
        let (f, _) = parse_frame(b"3 rsp 0\n").unwrap().unwrap();
        assert_eq!(parse_response(f.data).unwrap(), Response::Empty);
        let (f, _) = parse_frame(b"0 serverclose 0\n").unwrap().unwrap();
        assert_eq!(
            (f.txnr, f.command, f.data),
            (0, &b"serverclose"[..], &b""[..])
        );
        let (f, _) = parse_frame(b"7 rsp 20 500 command disabled\n")
            .unwrap()
            .unwrap();
        assert!(matches!(
            parse_response(f.data).unwrap(),
            Response::Status {
                code: 500,
                text: b"command disabled",
                ..
            }
        ));
    }

    #[test]
    fn incomplete_frames_wait_and_broken_ones_fail_early() {
        let whole = b"12 rsp 6 200 OK\n";
        for end in 0..whole.len() {
            assert_eq!(parse_frame(&whole[..end]), Ok(None), "{end}");
        }
        let cases: [(&[u8], FrameError); 10] = [
            (b"x", FrameError::Txnr),
            (b" 1 rsp 0\n", FrameError::Txnr),
            (b"1234567890 rsp 0\n", FrameError::Txnr),
            (b"1 r5p 0\n", FrameError::Command),
            (b"1  0\n", FrameError::Command),
            (
                b"1 abcdefghijklmnopqrstuvwxyzabcdefg 0\n",
                FrameError::Command,
            ),
            (b"1 rsp x\n", FrameError::DataLength),
            (b"1 rsp 1234567890", FrameError::DataLength),
            (b"1 rsp 999999999 ", FrameError::DataTooLong(999_999_999)),
            (b"1 rsp 2 OK!\n", FrameError::Trailer),
        ];
        for (input, error) in cases {
            assert_eq!(parse_frame(input), Err(error), "{:?}", printable(input));
        }
        assert_eq!(parse_frame(b"1 rsp 6\n"), Err(FrameError::DataSeparator));
        assert_eq!(parse_frame(b"1 rsp 0 \n"), Err(FrameError::DataSeparator));
        assert_eq!(parse_response(b"20 OK"), Err(ResponseError::Code));
        assert_eq!(parse_response(b"200OK"), Err(ResponseError::Separator));
    }

    #[test]
    fn decoder_takes_frames_across_reads() {
        let mut decoder = Decoder::default();
        let stream = b"2 rsp 6 200 OK\n3 rsp 6 200 OK\n4 rsp 6 2";
        decoder.feed(&stream[..5]);
        assert_eq!(decoder.next_frame(), Ok(None));
        decoder.feed(&stream[5..]);
        assert_eq!(decoder.next_frame().unwrap().unwrap().txnr, 2);
        assert_eq!(decoder.next_frame().unwrap().unwrap().txnr, 3);
        assert_eq!(decoder.next_frame(), Ok(None));
        decoder.feed(b"00 OK\n");
        assert_eq!(decoder.next_frame().unwrap().unwrap().txnr, 4);
        assert_eq!(decoder.pending(), 0);
    }

    #[test]
    fn status_text_is_bounded_and_printable() {
        assert_eq!(printable(b"queue full\n\x1b[31m"), "queue full??[31m");
        assert_eq!(printable(&[b'a'; 100]).chars().count(), 81);
    }

    proptest::proptest! {
        #[test]
        fn encode_then_decode_gives_the_frame_back(
            txnr in 0u32..=MAX_TXNR,
            command in "[a-zA-Z]{1,32}",
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
            cut in 0usize..4096,
        ) {
            let bytes = frame(txnr, &command, &data);
            let (parsed, length) = parse_frame(&bytes).unwrap().unwrap();
            proptest::prop_assert_eq!(length, bytes.len());
            proptest::prop_assert_eq!(parsed, Frame { txnr, command: command.as_bytes(), data: &data });
            // Any split into two reads gives the same frame.
            let cut = cut % (bytes.len() + 1);
            let mut decoder = Decoder::default();
            decoder.feed(&bytes[..cut]);
            if cut < bytes.len() {
                proptest::prop_assert_eq!(decoder.next_frame(), Ok(None));
                decoder.feed(&bytes[cut..]);
            }
            let again = decoder.next_frame().unwrap().unwrap();
            proptest::prop_assert_eq!(again, Frame { txnr, command: command.as_bytes(), data: &data });
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let mut decoder = Decoder::default();
            decoder.feed(&bytes);
            while let Ok(Some(frame)) = decoder.next_frame() {
                proptest::prop_assert!(frame.data.len() <= MAX_RESPONSE_DATA);
                let _ = parse_response(frame.data);
            }
            let _ = parse_response(&bytes);
            let _ = printable(&bytes);
            proptest::prop_assert!(decoder.pending() <= bytes.len());
        }

        #[test]
        fn frame_like_bytes_never_panic(
            txnr in "[0-9]{0,11}",
            command in "[a-z ]{0,34}",
            length in "[0-9]{0,11}",
            rest in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let mut bytes = format!("{txnr} {command} {length} ").into_bytes();
            bytes.extend_from_slice(&rest);
            if let Ok(Some((frame, used))) = parse_frame(&bytes) {
                proptest::prop_assert!(used <= bytes.len());
                proptest::prop_assert!(frame.txnr <= MAX_TXNR);
                let _ = parse_response(frame.data);
            }
        }
    }
}
