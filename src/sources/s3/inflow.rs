//! An object's bytes as they arrive, chunk by chunk, read out decompressed: the async side pushes
//! each body chunk in, the scanner reads through [`std::io::Read`]. A gzip object (told by its magic
//! bytes, whatever its name) goes through a push-style decoder that is fed a little at a time, so
//! neither the compressed nor the decompressed object is ever held whole.

use std::collections::VecDeque;
use std::io::{Read, Write};

use bytes::Bytes;
use flate2::write::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Compressed bytes handed to the decoder per write: each write produces at most the decoder's
/// own 32 KiB buffer of output, so even a gzip bomb grows the output only that much at a time.
const FEED: usize = 16 * 1024;

pub struct Inflow {
    /// Chunks pushed in and not yet consumed, and how far into the first one we are.
    queue: VecDeque<Bytes>,
    at: usize,
    ended: bool,
    mode: Mode,
}

enum Mode {
    /// Not enough bytes yet to see the magic number.
    Sniffing,
    Plain,
    Gzip {
        decoder: Box<MultiGzDecoder<Vec<u8>>>,
        /// How much of the decoder's output was read out.
        read: usize,
        finished: bool,
    },
}

impl Default for Inflow {
    fn default() -> Self {
        Inflow {
            queue: VecDeque::new(),
            at: 0,
            ended: false,
            mode: Mode::Sniffing,
        }
    }
}

impl Inflow {
    /// One more chunk of the object's body.
    pub fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.queue.push_back(chunk);
        }
    }

    /// The body has ended: nothing more will be pushed.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Whether the object turned out to be gzip (known after its first bytes).
    pub fn is_gzip(&self) -> Option<bool> {
        match self.mode {
            Mode::Sniffing => None,
            Mode::Plain => Some(false),
            Mode::Gzip { .. } => Some(true),
        }
    }

    /// The next compressed bytes not yet consumed (empty when none are queued).
    fn front(&self) -> &[u8] {
        self.queue
            .front()
            .map_or(&[][..], |chunk| &chunk[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
        if self
            .queue
            .front()
            .is_some_and(|chunk| self.at >= chunk.len())
        {
            self.queue.pop_front();
            self.at = 0;
        }
    }

    /// Decides plain or gzip once two bytes (or the end) are there; false while waiting.
    fn sniff(&mut self) -> bool {
        let mut first = [0u8; 2];
        let mut have = 0;
        for chunk in &self.queue {
            let from = if have == 0 { self.at } else { 0 };
            for &b in chunk.get(from..).unwrap_or_default() {
                if have == 2 {
                    break;
                }
                first[have] = b;
                have += 1;
            }
        }
        if have < 2 && !self.ended {
            return false;
        }
        self.mode = if have == 2 && first == GZIP_MAGIC {
            Mode::Gzip {
                decoder: Box::new(MultiGzDecoder::new(Vec::with_capacity(64 * 1024))),
                read: 0,
                finished: false,
            }
        } else {
            Mode::Plain
        };
        true
    }
}

fn pending() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::WouldBlock)
}

impl Read for Inflow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if matches!(self.mode, Mode::Sniffing) && !self.sniff() {
            return Err(pending());
        }
        loop {
            let front_len = self.front().len();
            match &mut self.mode {
                Mode::Sniffing => return Err(pending()),
                Mode::Plain => {
                    if front_len == 0 {
                        return if self.ended { Ok(0) } else { Err(pending()) };
                    }
                    let n = front_len.min(buf.len());
                    buf[..n].copy_from_slice(&self.front()[..n]);
                    self.consume(n);
                    return Ok(n);
                }
                Mode::Gzip {
                    decoder,
                    read,
                    finished,
                } => {
                    let output = decoder.get_ref();
                    if *read < output.len() {
                        let n = (output.len() - *read).min(buf.len());
                        buf[..n].copy_from_slice(&output[*read..*read + n]);
                        *read += n;
                        return Ok(n);
                    }
                    decoder.get_mut().clear();
                    *read = 0;
                    if *finished {
                        return Ok(0);
                    }
                    if front_len == 0 {
                        if !self.ended {
                            return Err(pending());
                        }
                        // Writes out what the decoder still holds and checks the last member's
                        // trailer: a truncated object is an error here.
                        decoder.try_finish()?;
                        *finished = true;
                        continue;
                    }
                    let feed = front_len.min(FEED);
                    let front = match self.queue.front() {
                        Some(chunk) => chunk.slice(self.at..self.at + feed),
                        None => Bytes::new(),
                    };
                    let consumed = decoder.write(&front)?;
                    self.consume(consumed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::gzip;

    /// Pushes `data` in chunks of `size` and reads everything out, as the scanner would.
    fn through(data: &[u8], size: usize) -> std::io::Result<(Vec<u8>, Option<bool>)> {
        let mut inflow = Inflow::default();
        let mut out = Vec::new();
        let mut chunks = data.chunks(size.max(1));
        let mut buf = [0u8; 7000];
        loop {
            match inflow.read(&mut buf) {
                Ok(0) => return Ok((out, inflow.is_gzip())),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => match chunks.next() {
                    Some(chunk) => inflow.push(Bytes::copy_from_slice(chunk)),
                    None => inflow.end(),
                },
                Err(e) => return Err(e),
            }
        }
    }

    #[test]
    fn plain_and_gzip_come_out_the_same_in_any_chunking() {
        let text: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut two_members = gzip(&text[..1000]);
        two_members.extend(gzip(&text[1000..]));
        for size in [1, 2, 3, 100, 16 * 1024, 1 << 20] {
            assert_eq!(
                through(&text, size).unwrap(),
                (text.clone(), Some(false)),
                "{size}"
            );
            assert_eq!(
                through(&gzip(&text), size).unwrap(),
                (text.clone(), Some(true))
            );
            assert_eq!(through(&two_members, size).unwrap().0, text);
        }
        assert_eq!(through(b"", 10).unwrap(), (Vec::new(), Some(false)));
        assert_eq!(through(b"x", 10).unwrap(), (b"x".to_vec(), Some(false)));
    }

    #[test]
    fn a_truncated_or_corrupt_gzip_is_an_error() {
        let compressed = gzip(&vec![b'a'; 100_000]);
        assert!(through(&compressed[..compressed.len() - 4], 1000).is_err());
        let mut corrupt = compressed.clone();
        let middle = corrupt.len() / 2;
        corrupt[middle] ^= 0xff;
        corrupt[middle + 1] ^= 0xff;
        assert!(through(&corrupt, 1000).is_err());
        let mut trailing = compressed;
        trailing.extend_from_slice(b"not gzip");
        assert!(through(&trailing, 1000).is_err());
    }

    #[test]
    fn a_bomb_comes_out_a_little_at_a_time() {
        let bomb = gzip(&vec![0u8; 64 << 20]);
        let mut inflow = Inflow::default();
        inflow.push(Bytes::from(bomb));
        inflow.end();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            let n = inflow.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
            if let Mode::Gzip { decoder, .. } = &inflow.mode {
                assert!(decoder.get_ref().capacity() <= 256 * 1024);
            }
        }
        assert_eq!(total, 64 << 20);
    }
}
