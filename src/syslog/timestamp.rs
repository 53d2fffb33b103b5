//! Calendar arithmetic for syslog timestamps, without allocation.

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
const MAX_MS: i64 = 253_402_300_799_999;

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

fn push_digits(out: &mut Vec<u8>, value: u64, width: usize) {
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
fn push_clock(out: &mut Vec<u8>, c: &Civil) {
    push_digits(out, c.hour.into(), 2);
    for value in [c.minute, c.second] {
        out.push(b':');
        push_digits(out, value.into(), 2);
    }
}

/// Appends `value` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, value: u64) {
    push_digits(out, value, 1);
}

/// Appends an RFC 5424 / RFC 3339 timestamp with a millisecond fraction (`2026-11-22T10:15:30.123Z`),
/// or the NILVALUE `-` when the instant cannot be written with a four-digit year.
pub fn push_rfc5424(out: &mut Vec<u8>, epoch_ms: i64) {
    let Some(c) = Civil::from_epoch_ms(epoch_ms) else {
        out.push(b'-');
        return;
    };
    push_digits(out, c.year as u64, 4);
    for value in [c.month, c.day] {
        out.push(b'-');
        push_digits(out, value.into(), 2);
    }
    out.push(b'T');
    push_clock(out, &c);
    out.push(b'.');
    push_digits(out, c.millisecond.into(), 3);
    out.push(b'Z');
}

/// Appends an RFC 3164 timestamp (`Nov  2 09:05:01`, UTC). RFC 3164 has no way to say "unknown", so
/// an instant outside years 0000–9999 is written as the epoch.
pub fn push_rfc3164(out: &mut Vec<u8>, epoch_ms: i64) {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let c = Civil::from_epoch_ms(epoch_ms)
        .or_else(|| Civil::from_epoch_ms(0))
        .unwrap_or(Civil {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millisecond: 0,
        });
    out.extend_from_slice(MONTHS[usize::from(c.month - 1)]);
    out.push(b' ');
    if c.day < 10 {
        out.push(b' ');
    }
    push_decimal(out, c.day.into());
    out.push(b' ');
    push_clock(out, &c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc5424(ms: i64) -> String {
        let mut out = Vec::new();
        push_rfc5424(&mut out, ms);
        String::from_utf8(out).unwrap()
    }

    fn rfc3164(ms: i64) -> String {
        let mut out = Vec::new();
        push_rfc3164(&mut out, ms);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc5424(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc5424(1_795_000_000_123), "2026-11-18T11:06:40.123Z");
        assert_eq!(rfc5424(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc5424(MAX_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc5424(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn out_of_range_is_nil() {
        assert_eq!(rfc5424(MAX_MS + 1), "-");
        assert_eq!(rfc5424(i64::MIN), "-");
        assert_eq!(rfc5424(i64::MAX), "-");
    }

    #[test]
    fn rfc3164_pads_the_day_with_a_space() {
        assert_eq!(rfc3164(1_794_560_701_000), "Nov 13 09:05:01");
        assert_eq!(rfc3164(1_793_610_301_000), "Nov  2 09:05:01");
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
