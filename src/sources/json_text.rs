//! JSON string contents unescaped in one pass, a word at a time. CloudTrail records are JSON inside
//! JSON strings, so their text has an escape (`\"`) every few bytes: the plain runs between escapes
//! are copied with whole-word stores, not with a search and a copy per run.

/// Bytes looked at (and stored) at once.
const WORD: usize = 8;
const ONES: u64 = u64::from_ne_bytes([0x01; WORD]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; WORD]);

/// Where [`unescape`] stopped.
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

/// Unescapes string contents (from just after the opening quote) onto `out`, up to the closing
/// quote, the end of `raw`, or the first thing that is not valid JSON. Returns how many bytes of
/// `raw` it consumed (whole escapes only) and why it stopped. Bytes at or above 0x80 are copied as
/// they are: the caller checks UTF-8 once on the result (escapes are ASCII and stand for whole
/// characters, so the result is valid exactly when `raw` is).
pub fn unescape(raw: &[u8], out: &mut Vec<u8>) -> (usize, Stop) {
    // Unescaping never lengthens text: with this room, no store below reallocates.
    out.reserve(raw.len() + WORD);
    let mut i = 0;
    let stop = loop {
        if let Some(word) = raw.get(i..).and_then(|rest| rest.first_chunk::<WORD>()) {
            // The whole word is stored, then cut back to the bytes before a special one.
            out.extend_from_slice(word);
            let special = special_bytes(u64::from_le_bytes(*word));
            if special == 0 {
                i += WORD;
                continue;
            }
            // The lowest flag is exact (only bytes above a true hit can be flagged falsely).
            let plain = (special.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - (WORD - plain));
            i += plain;
        } else {
            match raw.get(i) {
                None => break Stop::More,
                Some(&b) if !is_special(b) => {
                    out.push(b);
                    i += 1;
                    continue;
                }
                Some(_) => {}
            }
        }
        match raw[i] {
            b'"' => break Stop::Quote,
            b'\\' => match escape(&raw[i..], out) {
                Some(read) => i += read,
                None if raw.len() - i < MAX_ESCAPE => break Stop::More,
                None => break Stop::Invalid,
            },
            _ => break Stop::Invalid,
        }
    };
    (i, stop)
}

/// A flag (the high bit) in each byte of `word` that is `"`, `\` or a control character (below
/// 0x20). Borrows can flag bytes above a true hit, never below one.
fn special_bytes(word: u64) -> u64 {
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero_in(quote) | zero_in(backslash) | (word.wrapping_sub(ONES * 0x20) & !word)) & HIGHS
}

fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The longest escape: a surrogate pair, `\uXXXX\uXXXX`.
const MAX_ESCAPE: usize = 12;

/// The escape at the start of `escape` (its backslash) appended to `out`; the bytes it took.
/// `None` when it is not a valid escape, or is cut short by the end of the input.
fn escape(escape: &[u8], out: &mut Vec<u8>) -> Option<usize> {
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
    out.push(byte);
    Some(2)
}

/// `\uXXXX`, or a surrogate pair `\uXXXX\uXXXX`, as serde_json reads it (a lone surrogate is an
/// error there too).
fn unicode(escape: &[u8], out: &mut Vec<u8>) -> Option<usize> {
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
    let mut utf8 = [0u8; 4];
    out.extend_from_slice(char::from_u32(code)?.encode_utf8(&mut utf8).as_bytes());
    Some(read)
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
                // Bytes above a hit may be anything, the one that can borrow included.
                word[at + 1..].fill(0x00);
                let flags = special_bytes(u64::from_le_bytes(word));
                assert_eq!((flags.trailing_zeros() / 8) as usize, at, "{word:?}");
            }
        }
        for b in (0x20u8..=0xff).filter(|&b| b != b'"' && b != b'\\') {
            assert_eq!(special_bytes(u64::from_le_bytes([b; WORD])), 0, "{b:#x}");
        }
    }

    fn contents() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => "[a-zA-Z0-9 :{},]{0,12}".prop_map(String::into_bytes),
            2 => Just(br#"\""#.to_vec()),
            1 => prop::sample::select(vec![
                br"\\".to_vec(), br"\/".to_vec(), br"\b".to_vec(), br"\f".to_vec(),
                br"\n".to_vec(), br"\r".to_vec(), br"\t".to_vec(), br"\u0000".to_vec(),
                br"\u00E9".to_vec(), br"\uD83D\uDE00".to_vec(), br"\ud800".to_vec(),
                br"\udc00".to_vec(), br"\x".to_vec(), br"\u12".to_vec(), b"\x01".to_vec(),
                b"\x7f".to_vec(), "é日😀".as_bytes().to_vec(), vec![0xc3], vec![0xff],
            ]),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn agrees_with_serde_whatever_the_pieces(
            raw in contents(),
            cuts in prop::collection::vec(0usize..400, 0..6),
        ) {
            prop_assert_eq!(in_pieces(&raw, &cuts), reference(&raw));
        }
    }
}
