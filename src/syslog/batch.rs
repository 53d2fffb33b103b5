//! The framed bytes of one invocation, with record and message boundaries: delivery confirms whole
//! records, a retry resumes at the first record that was not confirmed, and a transport that frames
//! messages itself (RELP) reads each message's body from its boundaries.

use std::ops::Range;

/// Framed syslog messages for a sequence of records, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    bytes: Vec<u8>,
    /// `record_ends[i]` is the offset just past the last byte of record `i` (all its parts).
    record_ends: Vec<usize>,
    /// Each message's body (without its octet count or line break), in order.
    bodies: Vec<Range<usize>>,
    /// `record_messages[i]` is the index just past record `i`'s last message.
    record_messages: Vec<usize>,
}

/// Where [`Formatter`](super::Formatter) writes one record's framed messages: the bytes, and the
/// body of each message as it is written.
pub struct Frames<'a> {
    bytes: &'a mut Vec<u8>,
    bodies: &'a mut Vec<Range<usize>>,
}

impl<'a> Frames<'a> {
    pub(super) fn new(bytes: &'a mut Vec<u8>, bodies: &'a mut Vec<Range<usize>>) -> Frames<'a> {
        Frames { bytes, bodies }
    }

    /// The frame's bytes before its body (an octet count), then the body's pieces, then what
    /// follows it (a line break).
    pub(super) fn push(&mut self, before: &[u8], pieces: &[&[u8]], after: &[u8]) {
        self.bytes.extend_from_slice(before);
        let start = self.bytes.len();
        pieces.iter().for_each(|p| self.bytes.extend_from_slice(p));
        self.bodies.push(start..self.bytes.len());
        self.bytes.extend_from_slice(after);
    }
}

/// Consecutive whole records of a batch, delivered and confirmed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub bytes: &'a [u8],
    /// Records of the batch that are complete once this segment is: the index just past its last.
    pub records_through: usize,
}

impl Batch {
    #[cfg(test)]
    fn of_records(records: &[&[u8]]) -> Batch {
        let mut batch = Batch::default();
        for record in records {
            batch
                .push_record(|mut frames| {
                    frames.push(b"", &[record], b"");
                    Ok::<usize, ()>(1)
                })
                .unwrap_or_default();
        }
        batch
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Empties the batch, keeping its buffers for the next records.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Keeps the first `records` records, dropping the rest (their bytes and messages).
    pub fn truncate(&mut self, records: usize) {
        if records >= self.records() {
            return;
        }
        let bytes = self.record_start(records);
        let messages = match records {
            0 => 0,
            i => self.record_messages[i - 1],
        };
        self.bytes.truncate(bytes);
        self.record_ends.truncate(records);
        self.record_messages.truncate(records);
        self.bodies.truncate(messages);
    }

    /// Appends a record's framed messages (written by `write`); on error the batch is unchanged.
    pub(super) fn push_record<E>(
        &mut self,
        write: impl FnOnce(Frames<'_>) -> Result<usize, E>,
    ) -> Result<(), E> {
        let (start, messages) = (self.bytes.len(), self.bodies.len());
        match write(Frames::new(&mut self.bytes, &mut self.bodies)) {
            Ok(_) => {
                self.record_ends.push(self.bytes.len());
                self.record_messages.push(self.bodies.len());
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(start);
                self.bodies.truncate(messages);
                Err(e)
            }
        }
    }

    pub fn records(&self) -> usize {
        self.record_ends.len()
    }

    /// Syslog messages, counting each part of a split record.
    pub fn messages(&self) -> usize {
        self.bodies.len()
    }

    /// The body of message `index` (what RELP sends in a `syslog` frame).
    pub fn message(&self, index: usize) -> Option<&[u8]> {
        self.bodies.get(index).map(|body| &self.bytes[body.clone()])
    }

    /// Records whose every message comes before message `first_unconfirmed`.
    pub fn records_before_message(&self, first_unconfirmed: usize) -> usize {
        self.record_messages
            .partition_point(|&end| end <= first_unconfirmed)
    }

    pub fn is_empty(&self) -> bool {
        self.record_ends.is_empty()
    }

    /// Byte offset where record `index` starts (`bytes().len()` past the last one).
    pub fn record_start(&self, index: usize) -> usize {
        match index {
            0 => 0,
            i => self
                .record_ends
                .get(i - 1)
                .copied()
                .unwrap_or(self.bytes.len()),
        }
    }

    /// Records that end within the first `bytes` bytes.
    pub fn records_within(&self, bytes: usize) -> usize {
        self.record_ends.partition_point(|&end| end <= bytes)
    }

    /// The records from `first` on, cut into segments of at least `target_bytes` (the last may be
    /// shorter), each ending at a record boundary; a record longer than `target_bytes` is a segment
    /// of its own.
    pub fn segments(&self, first: usize, target_bytes: usize) -> impl Iterator<Item = Segment<'_>> {
        let mut next = first.min(self.records());
        std::iter::from_fn(move || {
            if next >= self.records() {
                return None;
            }
            let start = self.record_start(next);
            // The first record whose end reaches the target closes the segment.
            let reach = start.saturating_add(target_bytes.max(1));
            let last = next + self.record_ends[next..].partition_point(|&end| end < reach);
            let last = last.min(self.records() - 1);
            next = last + 1;
            Some(Segment {
                bytes: &self.bytes[start..self.record_ends[last]],
                records_through: next,
            })
        })
    }

    /// The messages of each record, for tests and tools that inspect a batch.
    pub fn record_bytes(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.records()).map(|i| &self.bytes[self.record_start(i)..self.record_ends[i]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_whole_records() {
        let batch = Batch::of_records(&[b"aaa", b"bb", b"cccc"]);
        assert_eq!(batch.record_start(0), 0);
        assert_eq!(batch.record_start(2), 5);
        assert_eq!(batch.record_start(3), 9);
        let records: Vec<&[u8]> = batch.record_bytes().collect();
        assert_eq!(records, vec![&b"aaa"[..], b"bb", b"cccc"]);
    }

    #[test]
    fn segments_end_at_record_boundaries() {
        let batch = Batch::of_records(&[b"aaa", b"bb", b"cccc"]);
        let cut = |first, target| -> Vec<(&[u8], usize)> {
            batch
                .segments(first, target)
                .map(|s| (s.bytes, s.records_through))
                .collect()
        };
        assert_eq!(cut(0, 4), vec![(&b"aaabb"[..], 2), (b"cccc", 3)]);
        assert_eq!(cut(0, 3), vec![(&b"aaa"[..], 1), (b"bbcccc", 3)]);
        assert_eq!(cut(0, 100), vec![(&b"aaabbcccc"[..], 3)]);
        assert_eq!(cut(0, 1), vec![(&b"aaa"[..], 1), (b"bb", 2), (b"cccc", 3)]);
        assert_eq!(cut(1, 2), vec![(&b"bb"[..], 2), (b"cccc", 3)]);
        assert_eq!(cut(3, 2), vec![]);
        assert_eq!(cut(7, 2), vec![]);
    }

    #[test]
    fn truncating_drops_whole_records_and_their_messages() {
        let mut batch = Batch::default();
        for (record, parts) in [(&b"a"[..], 1usize), (b"bb", 2), (b"c", 1)] {
            batch
                .push_record(|mut frames| {
                    for _ in 0..parts {
                        frames.push(b"1 ", &[record], b"");
                    }
                    Ok::<usize, ()>(parts)
                })
                .unwrap();
        }
        assert_eq!((batch.records(), batch.messages()), (3, 4));
        assert_eq!(batch.message(1), Some(&b"bb"[..]));
        assert_eq!(batch.records_before_message(2), 1);
        assert_eq!(batch.records_before_message(3), 2);
        batch.truncate(1);
        assert_eq!((batch.records(), batch.messages()), (1, 1));
        assert_eq!(batch.bytes(), b"1 a");
        let failed = batch.push_record(|mut frames| {
            frames.push(b"9 ", &[b"partial"], b"");
            Err::<usize, ()>(())
        });
        assert!(failed.is_err());
        assert_eq!(
            (batch.records(), batch.messages(), batch.bytes()),
            (1, 1, &b"1 a"[..])
        );
    }

    proptest::proptest! {
        #[test]
        fn segments_cover_the_remaining_records_once(
            lengths in proptest::collection::vec(1usize..50, 0..40),
            first in 0usize..45,
            target in 1usize..200,
        ) {
            let at: usize = lengths.iter().sum();
            let records: Vec<Vec<u8>> = lengths.iter().map(|len| vec![b'x'; *len]).collect();
            let records: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
            let batch = Batch::of_records(&records);
            let segments: Vec<Segment> = batch.segments(first, target).collect();
            let covered: usize = segments.iter().map(|s| s.bytes.len()).sum();
            proptest::prop_assert_eq!(covered, at - batch.record_start(first.min(lengths.len())));
            let mut previous = first.min(lengths.len());
            for (i, s) in segments.iter().enumerate() {
                proptest::prop_assert!(s.records_through > previous);
                if i + 1 < segments.len() {
                    proptest::prop_assert!(s.bytes.len() >= target);
                }
                previous = s.records_through;
            }
            proptest::prop_assert_eq!(previous, lengths.len().max(first.min(lengths.len())));
        }
    }
}
