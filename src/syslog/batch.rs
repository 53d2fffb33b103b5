//! The framed bytes of one invocation, with record boundaries: delivery confirms whole records and
//! a retry resumes at the first record that was not confirmed.

/// Framed syslog messages for a sequence of records, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    bytes: Vec<u8>,
    /// `record_ends[i]` is the offset just past the last byte of record `i` (all its parts).
    record_ends: Vec<usize>,
    messages: usize,
}

/// Consecutive whole records of a batch, delivered and confirmed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub bytes: &'a [u8],
    /// Records of the batch that are complete once this segment is: the index just past its last.
    pub records_through: usize,
}

impl Batch {
    pub(super) fn parts(bytes: Vec<u8>, record_ends: Vec<usize>, messages: usize) -> Batch {
        Batch {
            bytes,
            record_ends,
            messages,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Empties the batch, keeping its buffers for the next records.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.record_ends.clear();
        self.messages = 0;
    }

    /// Appends a record's framed messages (written by `write` into the byte buffer).
    pub(super) fn push_record<E>(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<usize, E>,
    ) -> Result<(), E> {
        let start = self.bytes.len();
        match write(&mut self.bytes) {
            Ok(messages) => {
                self.messages += messages;
                self.record_ends.push(self.bytes.len());
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(start);
                Err(e)
            }
        }
    }

    pub fn records(&self) -> usize {
        self.record_ends.len()
    }

    /// Syslog messages, counting each part of a split record.
    pub fn messages(&self) -> usize {
        self.messages
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
        let batch = Batch::parts(b"aaabbcccc".to_vec(), vec![3, 5, 9], 3);
        assert_eq!(batch.record_start(0), 0);
        assert_eq!(batch.record_start(2), 5);
        assert_eq!(batch.record_start(3), 9);
        let records: Vec<&[u8]> = batch.record_bytes().collect();
        assert_eq!(records, vec![&b"aaa"[..], b"bb", b"cccc"]);
    }

    #[test]
    fn segments_end_at_record_boundaries() {
        let batch = Batch::parts(b"aaabbcccc".to_vec(), vec![3, 5, 9], 3);
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

    proptest::proptest! {
        #[test]
        fn segments_cover_the_remaining_records_once(
            lengths in proptest::collection::vec(1usize..50, 0..40),
            first in 0usize..45,
            target in 1usize..200,
        ) {
            let mut ends = Vec::new();
            let mut at = 0;
            for len in &lengths {
                at += len;
                ends.push(at);
            }
            let batch = Batch::parts(vec![b'x'; at], ends, lengths.len());
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
