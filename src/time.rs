//! Time for every part: the clock, RFC 3339 parsing (event times) and calendar fields for writing
//! timestamps without allocation. Sources and the syslog formatter both build on it.

/// A UTC instant broken into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millisecond: u16,
}

/// Largest instant RFC 5424's four-digit year can carry: 9999-12-31T23:59:59.999Z.
pub const MAX_MS: i64 = 253_402_300_799_999;

impl Civil {
    /// Splits milliseconds since the Unix epoch; `None` outside years 0000–9999.
    pub fn from_epoch_ms(ms: i64) -> Option<Civil> {
        const YEAR_0_MS: i64 = -62_167_219_200_000;
        if !(YEAR_0_MS..=MAX_MS).contains(&ms) {
            return None;
        }
        let days = ms.div_euclid(86_400_000);
        let in_day = ms.rem_euclid(86_400_000);
        // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Some(Civil {
            year,
            month,
            day,
            hour: (in_day / 3_600_000) as u8,
            minute: (in_day / 60_000 % 60) as u8,
            second: (in_day / 1_000 % 60) as u8,
            millisecond: (in_day % 1_000) as u16,
        })
    }
}

pub fn push_digits(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = value;
    let mut i = buf.len();
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = buf.len().saturating_sub(width).min(i);
    out.extend_from_slice(&buf[start..]);
}

/// Appends `hh:mm:ss`.
pub fn push_clock(out: &mut Vec<u8>, c: &Civil) {
    push_digits(out, c.hour.into(), 2);
    for value in [c.minute, c.second] {
        out.push(b':');
        push_digits(out, value.into(), 2);
    }
}

/// Current time in milliseconds since the Unix epoch (0 on a clock set before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Appends an RFC 3339 UTC timestamp with a millisecond fraction (`2026-11-22T10:15:30.123Z`);
/// returns false, writing nothing, when the instant has no four-digit year.
pub fn push_rfc3339(out: &mut Vec<u8>, epoch_ms: i64) -> bool {
    let Some(text) = rfc3339_text(epoch_ms) else {
        return false;
    };
    out.extend_from_slice(&text);
    true
}

/// The text [`push_rfc3339`] writes, as a value; `None` outside years 0000–9999.
pub fn rfc3339_text(epoch_ms: i64) -> Option<[u8; RFC3339_LEN]> {
    let c = Civil::from_epoch_ms(epoch_ms)?;
    // Filled in place and appended at once: one record, one timestamp, no digit-by-digit pushes.
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let fields: [(usize, usize, u32); 7] = [
        (0, 4, c.year as u32),
        (5, 2, c.month.into()),
        (8, 2, c.day.into()),
        (11, 2, c.hour.into()),
        (14, 2, c.minute.into()),
        (17, 2, c.second.into()),
        (20, 3, c.millisecond.into()),
    ];
    for (at, width, mut value) in fields {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    Some(text)
}

/// Bytes of `2026-11-22T10:15:30.123Z`.
pub const RFC3339_LEN: usize = 24;

/// Writes the millisecond digits of an RFC 3339 text made by [`rfc3339_text`] (their place is
/// fixed: `.mmmZ` ends it).
pub fn set_rfc3339_millis(text: &mut [u8; RFC3339_LEN], epoch_ms: i64) {
    let millis = epoch_ms.rem_euclid(1_000) as u16;
    text[20] = b'0' + (millis / 100) as u8;
    text[21] = b'0' + (millis / 10 % 10) as u8;
    text[22] = b'0' + (millis % 10) as u8;
}

/// [`push_rfc3339`] as a string; `None` outside years 0000–9999.
pub fn rfc3339(epoch_ms: i64) -> Option<String> {
    let mut out = Vec::with_capacity(24);
    push_rfc3339(&mut out, epoch_ms).then(|| String::from_utf8(out).ok())?
}

/// Parses an RFC 3339 / ISO 8601 date-time (offsets allowed) to epoch milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    DateTime::from_str(text, Format::DateTimeWithOffset)
        .or_else(|_| DateTime::from_str(text, Format::DateTime))
        .ok()?
        .to_millis()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-11-22T10:15:30.123Z"),
            Some(1_795_342_530_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-22T11:15:30+01:00"),
            parse_rfc3339_ms("2026-11-22T10:15:30Z")
        );
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
        assert_eq!(parse_rfc3339_ms(""), None);
    }

    #[test]
    fn formats_and_parses_back() {
        for ms in [0, 1_795_000_000_123, 951_782_400_000, MAX_MS] {
            let text = rfc3339(ms).unwrap();
            assert_eq!(parse_rfc3339_ms(&text), Some(ms), "{text}");
        }
        assert_eq!(rfc3339(MAX_MS + 1), None);
    }

    #[test]
    fn agrees_with_a_day_by_day_walk() {
        // Walk every day of 1999–2101 and compare with a naive calendar.
        let mut days = 10_592_i64; // 1999-01-01
        for year in 1999..=2101_i64 {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let lengths = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            for (m, len) in lengths.iter().enumerate() {
                for d in 1..=*len {
                    let c = Civil::from_epoch_ms(days * 86_400_000).unwrap();
                    assert_eq!((c.year, c.month as usize, c.day), (year, m + 1, d));
                    days += 1;
                }
            }
        }
    }
}
