//! A sliding window over a decompressed stream: a scanner reads at offsets from the current
//! position and the window grows only as far as one value (a JSON element, a line) needs, so an
//! input is never held whole. Shared by the CloudWatch Logs scanner and the S3 object reader.
//!
//! A reader that has no bytes yet but has not ended (an S3 body still arriving) answers
//! `WouldBlock`: the error leaves the window as it was, so the scanner can return, let more arrive
//! and scan again from the same position.

use std::io::Read;

/// Why the window could not grow.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The reader failed (a corrupt gzip stream), or has nothing yet (`WouldBlock`).
    #[error("{0}")]
    Read(std::io::Error),
    /// More than `limit` bytes came out of the reader.
    #[error("more than {limit} bytes")]
    TooLarge { limit: usize },
}

impl InputError {
    /// The reader has no bytes yet but more will come.
    pub fn is_pending(&self) -> bool {
        matches!(self, InputError::Read(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// Bytes asked of the decompressor per read.
const CHUNK: usize = 64 * 1024;

pub struct Input<R> {
    reader: R,
    buf: Vec<u8>,
    /// The scanner's position: everything before it is consumed.
    pos: usize,
    end: usize,
    eof: bool,
    /// Decompressed bytes read so far, against `limit`.
    total: usize,
    limit: usize,
}

impl<R: Read> Input<R> {
    pub fn new(reader: R, limit: usize, buf: Vec<u8>) -> Input<R> {
        Input {
            reader,
            buf,
            pos: 0,
            end: 0,
            eof: false,
            total: 0,
            limit,
        }
    }

    /// The window's buffer, for reuse by the next stream.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes read from the reader so far (consumed or still in the window).
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether the reader has ended: nothing beyond the window will come.
    pub fn at_end(&self) -> bool {
        self.eof
    }

    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// The reader, to hand it more input.
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The bytes from the position on that are in the window now.
    pub fn window(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Makes at least `n` bytes from the position available, unless the stream ends first; returns
    /// how many are.
    pub fn want(&mut self, n: usize) -> Result<usize, InputError> {
        while self.end - self.pos < n && !self.eof {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            }
            let room = n.max(self.end + CHUNK);
            if self.buf.len() < room {
                self.buf.resize(room, 0);
            }
            let got = self
                .reader
                .read(&mut self.buf[self.end..])
                .map_err(InputError::Read)?;
            if got == 0 {
                self.eof = true;
            }
            self.end += got;
            self.total += got;
            if self.total > self.limit {
                return Err(InputError::TooLarge { limit: self.limit });
            }
        }
        Ok(self.end - self.pos)
    }

    /// The byte at `offset` from the position, reading more when needed; `None` at the end.
    pub fn byte_at(&mut self, offset: usize) -> Result<Option<u8>, InputError> {
        if offset >= self.end - self.pos {
            self.want(offset + 1)?;
        }
        Ok(self.window().get(offset).copied())
    }

    /// Consumes `n` bytes.
    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    /// Skips JSON whitespace from `offset`; returns the offset of the next other byte (or the end).
    pub fn skip_ws(&mut self, mut offset: usize) -> Result<usize, InputError> {
        while let Some(b) = self.byte_at(offset)? {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            offset += 1;
        }
        Ok(offset)
    }

    /// Reads the rest of the stream and drops it (the decompressed bound and gzip errors still
    /// apply).
    pub fn drain(&mut self) -> Result<(), InputError> {
        loop {
            let have = self.end - self.pos;
            self.advance(have);
            if self.want(1)? == 0 {
                return Ok(());
            }
        }
    }

    /// Whether the rest of the stream is whitespace only (read to its end, so a corrupt gzip
    /// trailer is still an error).
    pub fn only_ws_remains(&mut self) -> Result<bool, InputError> {
        loop {
            let at = self.skip_ws(0)?;
            if at < self.window().len() {
                return Ok(false);
            }
            self.advance(at);
            if self.want(1)? == 0 {
                return Ok(true);
            }
        }
    }
}
