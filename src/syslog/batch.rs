//! The framed bytes of one invocation, with record boundaries so delivery can resume at a record.

/// Framed syslog messages for a sequence of records, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    bytes: Vec<u8>,
    /// `record_ends[i]` is the offset just past the last byte of record `i` (all its parts).
    record_ends: Vec<usize>,
    messages: usize,
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
}
