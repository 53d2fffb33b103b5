//! Syslog timestamps (RFC 5424 and RFC 3164), written without allocation.

use crate::time::{Civil, RFC3339_LEN, push_clock, push_rfc3339, rfc3339_text, set_rfc3339_millis};

/// Appends `value` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// The RFC 5424 text of the last second written: the records of one batch mostly share their
/// seconds, and then only the milliseconds change.
#[derive(Debug, Default)]
pub struct Clock {
    last: Option<(i64, [u8; RFC3339_LEN])>,
}

impl Clock {
    /// Appends what [`push_rfc5424`] would.
    pub fn push_rfc5424(&mut self, out: &mut Vec<u8>, epoch_ms: i64) {
        let second = epoch_ms.div_euclid(1_000);
        match &mut self.last {
            Some((cached, text)) if *cached == second => {
                set_rfc3339_millis(text, epoch_ms);
                out.extend_from_slice(text);
            }
            last => match rfc3339_text(epoch_ms) {
                Some(text) => {
                    out.extend_from_slice(&text);
                    *last = Some((second, text));
                }
                None => out.push(b'-'),
            },
        }
    }
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
    use proptest::strategy::Strategy;

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

    proptest::proptest! {
        #[test]
        fn the_clock_writes_what_each_instant_would_alone(
            instants in proptest::collection::vec(
                proptest::prop_oneof![
                    // Runs within a few seconds (the cache's case), and anything at all.
                    (1_795_000_000_000i64..1_795_000_004_000).boxed(),
                    (-62_167_219_200_000i64..MAX_MS).boxed(),
                    proptest::prelude::any::<i64>().boxed(),
                ],
                1..64,
            )
        ) {
            let mut clock = Clock::default();
            for ms in instants {
                let mut cached = Vec::new();
                clock.push_rfc5424(&mut cached, ms);
                proptest::prop_assert_eq!(String::from_utf8(cached).unwrap(), rfc5424(ms));
            }
        }
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
