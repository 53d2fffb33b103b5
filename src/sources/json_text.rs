//! JSON string contents unescaped in one pass. CloudTrail records are JSON inside JSON strings, so
//! their text has an escape (`\"`) every few bytes: where the special bytes of 64 bytes of input
//! are is found at once, as a bitmask, and the plain runs between them are copied with whole-word
//! stores, so the work per escape is a few instructions and no hard-to-predict branch.

/// Bytes looked at (and stored) at once.
const WORD: usize = 8;
const ONES: u64 = u64::from_ne_bytes([0x01; WORD]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; WORD]);
const LOWS: u64 = !HIGHS;

/// Input bytes whose special bytes one bitmask holds.
const CHUNK: usize = 64;
/// Bytes a run's copy may read and write past its end (it copies whole pieces of this size).
const COPY: usize = 16;
/// Bytes read for a chunk: its own, and what a run's copy or an escape at its end reads past it.
const CHUNK_READ: usize = CHUNK + COPY;
const _: () = assert!(
    COPY >= MAX_ESCAPE,
    "an escape at a chunk's end is read whole"
);
/// Bytes of output built on the stack before they are appended to the caller's vector.
const BLOCK: usize = 512;
/// The most one chunk writes: its bytes, the character of an escape that runs past its end (up to
/// four bytes), and a copy's overrun.
const CHUNK_OUTPUT: usize = CHUNK + 4 + COPY;
/// The most one step of the tail writes: a word, or the plain bytes before an escape (fewer than a
/// word) and the escape's character.
const STEP_OUTPUT: usize = WORD + 4;

/// Where [`Unescaper::unescape`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// At the closing quote, the byte just past what was consumed.
    Quote,
    /// At the end of the input, or at an escape cut by it: more input is needed.
    More,
    /// At something a JSON string cannot hold as it is: a raw control character, an unknown
    /// escape, a lone surrogate.
    Invalid,
}

/// Unescapes JSON string contents, its output block kept from one string to the next (a scanner
/// unescapes thousands of short strings per payload).
pub struct Unescaper {
    /// The text is built here and appended to the caller's vector a block at a time: the output
    /// position stays in a register, and no store checks the vector's capacity.
    block: [u8; BLOCK],
}

impl Default for Unescaper {
    fn default() -> Unescaper {
        Unescaper { block: [0; BLOCK] }
    }
}

impl Unescaper {
    /// Unescapes string contents (from just after the opening quote) onto `out`, up to the closing
    /// quote, the end of `raw`, or the first thing that is not valid JSON. Returns how many bytes of
    /// `raw` it consumed (whole escapes only) and why it stopped. Bytes at or above 0x80 are copied as
    /// they are: the caller checks UTF-8 once on the result (escapes are ASCII and stand for whole
    /// characters, so the result is valid exactly when `raw` is).
    pub fn unescape(&mut self, raw: &[u8], out: &mut Vec<u8>) -> (usize, Stop) {
        let block = &mut self.block;
        let mut o = 0;
        let mut i = 0;
        let stop = 'scan: {
            // Chunks while a run's copy cannot read past the input.
            while let Some(chunk) = raw
                .get(i..)
                .and_then(|rest| rest.first_chunk::<CHUNK_READ>())
            {
                if o > BLOCK - CHUNK_OUTPUT {
                    out.extend_from_slice(&block[..o]);
                    o = 0;
                }
                let chunk_start = i;
                let mut specials = special_bits(&chunk[..CHUNK]);
                // Bytes of the chunk consumed.
                let mut done = 0;
                while specials != 0 {
                    let at = specials.trailing_zeros() as usize;
                    copy_run(block, o, &chunk[done..], at - done);
                    o += at - done;
                    // The special byte is consumed (escapes also consume a flagged `"` or `\`
                    // after it).
                    specials &= specials - 1;
                    // CloudTrail's text (JSON in a JSON string) is mostly this escape.
                    if chunk[at] == b'\\' && chunk[at + 1] == b'"' {
                        block[o] = b'"';
                        o += 1;
                        done = at + 2;
                        specials &= specials.wrapping_sub(1);
                        continue;
                    }
                    i = chunk_start + at;
                    match raw[i] {
                        b'\\' => match escape(&raw[i..], &mut block[o..]) {
                            Some((read, written)) => {
                                o += written;
                                done = at + read;
                                let consumed = done as u32;
                                specials = specials
                                    .checked_shr(consumed)
                                    .map_or(0, |rest| rest << consumed);
                            }
                            // Whole escapes fit in what is left of the chunk's read.
                            None => break 'scan Stop::Invalid,
                        },
                        b'"' => break 'scan Stop::Quote,
                        _ => break 'scan Stop::Invalid,
                    }
                }
                if done < CHUNK {
                    copy_run(block, o, &chunk[done..], CHUNK - done);
                    o += CHUNK - done;
                    done = CHUNK;
                }
                i = chunk_start + done;
            }
            // The tail, a word at a time.
            loop {
                if o > BLOCK - STEP_OUTPUT {
                    out.extend_from_slice(&block[..o]);
                    o = 0;
                }
                if let Some(word) = raw.get(i..).and_then(|rest| rest.first_chunk::<WORD>()) {
                    // The whole word is stored; only the bytes before a special one are kept.
                    block[o..o + WORD].copy_from_slice(word);
                    let special = exact_special_bytes(u64::from_le_bytes(*word));
                    if special == 0 {
                        i += WORD;
                        o += WORD;
                        continue;
                    }
                    let plain = (special.trailing_zeros() / 8) as usize;
                    i += plain;
                    o += plain;
                } else {
                    match raw.get(i) {
                        None => break 'scan Stop::More,
                        Some(&b) if !is_special(b) => {
                            block[o] = b;
                            o += 1;
                            i += 1;
                            continue;
                        }
                        Some(_) => {}
                    }
                }
                match raw[i] {
                    b'"' => break 'scan Stop::Quote,
                    b'\\' => match escape(&raw[i..], &mut block[o..]) {
                        Some((read, written)) => {
                            i += read;
                            o += written;
                        }
                        None if raw.len() - i < MAX_ESCAPE => break 'scan Stop::More,
                        None => break 'scan Stop::Invalid,
                    },
                    _ => break 'scan Stop::Invalid,
                }
            }
        };
        out.extend_from_slice(&block[..o]);
        (i, stop)
    }
}

/// Copies the first `len` bytes of `from` to `block` at `at` in whole pieces of [`COPY`] bytes:
/// both have room for the last piece's overrun, whose bytes are overwritten or cut off later.
fn copy_run(block: &mut [u8; BLOCK], at: usize, from: &[u8], len: usize) {
    // Most runs between CloudTrail's escapes fit one piece.
    block[at..at + COPY].copy_from_slice(&from[..COPY]);
    let mut done = COPY;
    while done < len {
        block[at + done..at + done + COPY].copy_from_slice(&from[done..done + COPY]);
        done += COPY;
    }
}

/// A bit for each byte of `chunk` that is `"`, `\` or a control character (below 0x20), the first
/// byte's in the lowest bit.
fn special_bits(chunk: &[u8]) -> u64 {
    chunk
        .chunks_exact(WORD)
        .enumerate()
        .fold(0, |bits, (n, word)| {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            bits | (byte_flags_to_bits(exact_special_bytes(word)) << (n * WORD))
        })
}

/// The high bit of each byte that is `"`, `\` or below 0x20, exactly (no carry crosses a byte).
fn exact_special_bytes(word: u64) -> u64 {
    // The high bit of each byte that is zero.
    let zero = |v: u64| !(((v & LOWS) + LOWS) | v | LOWS);
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    // A byte below 0x20 has its high bit clear and stays below 0x80 when 0x60 is added.
    let control = !(((word & LOWS) + ONES * 0x60) | word) & HIGHS;
    quote | backslash | control
}

/// The high bits of the eight bytes gathered into the low eight bits, the first byte's lowest.
fn byte_flags_to_bits(flags: u64) -> u64 {
    // Each flag, shifted to the bottom of its byte, is multiplied to a distinct bit of the top
    // byte, with no carries into it.
    ((flags >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The longest escape: a surrogate pair, `\uXXXX\uXXXX`.
const MAX_ESCAPE: usize = 12;

/// The escape at the start of `escape` (its backslash) written at the start of `out` (room for
/// four bytes); the bytes it read and wrote. `None` when it is not a valid escape, or is cut short
/// by the end of the input.
fn escape(escape: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
    let byte = match escape.get(1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return unicode(escape, out),
        _ => return None,
    };
    *out.first_mut()? = byte;
    Some((2, 1))
}

/// `\uXXXX`, or a surrogate pair `\uXXXX\uXXXX`, as serde_json reads it (a lone surrogate is an
/// error there too).
fn unicode(escape: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
    let high = hex4(escape.get(2..6)?)?;
    let (code, read) = match high {
        0xD800..=0xDBFF => {
            let low = match escape.get(6..12)?.split_at(2) {
                (b"\\u", digits) => hex4(digits)?,
                _ => return None,
            };
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12)
        }
        0xDC00..=0xDFFF => return None,
        code => (code, 6),
    };
    let written = char::from_u32(code)?.encode_utf8(out.get_mut(..4)?).len();
    Some((read, written))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &d| {
        let digit = char::from(d).to_digit(16)?;
        Some(value * 16 + digit)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn unescape(raw: &[u8], out: &mut Vec<u8>) -> (usize, Stop) {
        Unescaper::default().unescape(raw, out)
    }

    /// What serde_json makes of the same contents between quotes.
    fn reference(raw: &[u8]) -> Option<String> {
        let mut quoted = vec![b'"'];
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted).ok()
    }

    /// Unescapes `raw` fed in pieces cut at `cuts`, as a window that grows would feed it.
    fn in_pieces(raw: &[u8], cuts: &[usize]) -> Option<String> {
        let mut out = Vec::new();
        let mut at = 0;
        let mut cuts = cuts
            .iter()
            .copied()
            .filter(|&c| c <= raw.len())
            .collect::<Vec<_>>();
        cuts.sort_unstable();
        cuts.push(raw.len());
        for cut in cuts {
            if cut < at {
                continue;
            }
            let (used, stop) = unescape(&raw[at..cut], &mut out);
            at += used;
            if stop != Stop::More {
                return None;
            }
        }
        // The whole input was contents: every byte must have been consumed.
        (at == raw.len()).then_some(())?;
        String::from_utf8(out).ok()
    }

    #[test]
    fn escapes_and_stops() {
        let run = |raw: &[u8]| {
            let mut out = Vec::new();
            let (used, stop) = unescape(raw, &mut out);
            (String::from_utf8_lossy(&out).into_owned(), used, stop)
        };
        assert_eq!(
            run(br#"a\"b\\c\/d"e"#),
            ("a\"b\\c/d".into(), 10, Stop::Quote)
        );
        assert_eq!(
            run(br"\b\f\n\r\t"),
            ("\u{8}\u{c}\n\r\t".into(), 10, Stop::More)
        );
        assert_eq!(run(br"\u00e9\ud83d\ude00"), ("é😀".into(), 18, Stop::More));
        assert_eq!(run(br"abc\ud83d"), ("abc".into(), 3, Stop::More));
        assert_eq!(run(br"abc\ud83d\u0041"), ("abc".into(), 3, Stop::Invalid));
        // Near the end an invalid escape may be one cut short: more input decides.
        assert_eq!(run(br"\ude00"), ("".into(), 0, Stop::More));
        assert_eq!(run(br"\ude00 and more text"), ("".into(), 0, Stop::Invalid));
        assert_eq!(run(br"\x"), ("".into(), 0, Stop::More));
        assert_eq!(run(br"\x and more text"), ("".into(), 0, Stop::Invalid));
        assert_eq!(run(br"\u12"), ("".into(), 0, Stop::More));
        assert_eq!(run(br"\u12g4 and more text"), ("".into(), 0, Stop::Invalid));
        assert_eq!(
            run(b"long plain text\tthen"),
            ("long plain text".into(), 15, Stop::Invalid)
        );
        assert_eq!(
            run(b"0123456789abcdef\""),
            ("0123456789abcdef".into(), 16, Stop::Quote)
        );
        assert_eq!(
            run("é\u{7f}x".as_bytes()),
            ("é\u{7f}x".into(), 4, Stop::More)
        );
    }

    #[test]
    fn word_flags_find_the_first_special_byte() {
        for special in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..WORD {
                let mut word = *b"abcdefgh";
                word[at] = special;
                // Bytes above a hit may be anything (the flags are exact; they once borrowed).
                word[at + 1..].fill(0x00);
                let flags = exact_special_bytes(u64::from_le_bytes(word));
                assert_eq!((flags.trailing_zeros() / 8) as usize, at, "{word:?}");
            }
        }
        for b in (0x20u8..=0xff).filter(|&b| b != b'"' && b != b'\\') {
            assert_eq!(
                exact_special_bytes(u64::from_le_bytes([b; WORD])),
                0,
                "{b:#x}"
            );
        }
    }

    /// Every escape, and every stop, at every offset across the first chunks and the tail.
    #[test]
    fn escapes_anywhere_agree_with_serde() {
        let specials: [&[u8]; 9] = [
            br#"\""#,
            br"\\",
            br"\/",
            br"\t",
            br"\u00e9",
            br"\ud83d\ude00",
            br"\ud800",
            b"\x01",
            br#"""#,
        ];
        for special in specials {
            for at in 0..2 * CHUNK + COPY {
                let mut raw = vec![b'a'; at];
                raw.extend_from_slice(special);
                raw.extend_from_slice(br#"b\"c"#);
                raw.extend(std::iter::repeat_n(b'd', 3 * CHUNK));
                let mut out = Vec::new();
                let (used, stop) = unescape(&raw, &mut out);
                let expected = reference(&raw[..used]);
                match stop {
                    Stop::More => {
                        assert_eq!(used, raw.len());
                        assert_eq!(String::from_utf8(out).ok(), reference(&raw), "{at}");
                    }
                    Stop::Quote => {
                        assert_eq!(raw[used], b'"', "{at}");
                        assert_eq!(String::from_utf8(out).ok(), expected, "{at}");
                    }
                    Stop::Invalid => {
                        assert_eq!(reference(&raw), None, "{at}");
                        assert_eq!(used, at, "{at}");
                        assert_eq!(out, vec![b'a'; at], "{at}");
                    }
                }
            }
        }
    }

    fn contents() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => "[a-zA-Z0-9 :{},]{0,12}".prop_map(String::into_bytes),
            // Runs longer than the stack block, so that its flushes fall anywhere.
            1 => "[a-z ]{0,300}".prop_map(String::into_bytes),
            2 => Just(br#"\""#.to_vec()),
            1 => prop::sample::select(vec![
                br"\\".to_vec(), br"\/".to_vec(), br"\b".to_vec(), br"\f".to_vec(),
                br"\n".to_vec(), br"\r".to_vec(), br"\t".to_vec(), br"\u0000".to_vec(),
                br"\u00E9".to_vec(), br"\uD83D\uDE00".to_vec(), br"\ud800".to_vec(),
                br"\udc00".to_vec(), br"\x".to_vec(), br"\u12".to_vec(), b"\x01".to_vec(),
                b"\x7f".to_vec(), "é日😀".as_bytes().to_vec(), vec![0xc3], vec![0xff],
            ]),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn agrees_with_serde_whatever_the_pieces(
            raw in contents(),
            cuts in prop::collection::vec(0usize..4_000, 0..6),
        ) {
            prop_assert_eq!(in_pieces(&raw, &cuts), reference(&raw));
        }
    }
}
