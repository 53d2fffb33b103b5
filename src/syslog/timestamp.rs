//! Syslog timestamps (RFC 5424 and RFC 3164), written without allocation.

use crate::time::{Civil, push_clock, push_digits, push_rfc3339};

/// Appends `value` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, value: u64) {
    push_digits(out, value, 1);
}

/// Appends an RFC 5424 / RFC 3339 timestamp with a millisecond fraction (`2026-11-22T10:15:30.123Z`),
/// or the NILVALUE `-` when the instant cannot be written with a four-digit year.
pub fn push_rfc5424(out: &mut Vec<u8>, epoch_ms: i64) {
    if !push_rfc3339(out, epoch_ms) {
        out.push(b'-');
    }
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
    use crate::time::MAX_MS;

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
}
