//! A sliding window over the decompressed stream: the scanner reads at offsets from the current
//! position and the window grows only as far as one JSON value needs, so a payload is never held
//! whole.

use std::io::Read;

use super::DecodeError;

/// Bytes asked of the decompressor per read.
const CHUNK: usize = 64 * 1024;

pub(super) struct Input<R> {
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
    pub(super) fn new(reader: R, limit: usize, buf: Vec<u8>) -> Input<R> {
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
    pub(super) fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes from the position on that are in the window now.
    pub(super) fn window(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Makes at least `n` bytes from the position available, unless the stream ends first; returns
    /// how many are.
    pub(super) fn want(&mut self, n: usize) -> Result<usize, DecodeError> {
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
                .map_err(DecodeError::Gzip)?;
            if got == 0 {
                self.eof = true;
            }
            self.end += got;
            self.total += got;
            if self.total > self.limit {
                return Err(DecodeError::TooLarge { limit: self.limit });
            }
        }
        Ok(self.end - self.pos)
    }

    /// The byte at `offset` from the position, reading more when needed; `None` at the end.
    pub(super) fn byte_at(&mut self, offset: usize) -> Result<Option<u8>, DecodeError> {
        if offset >= self.end - self.pos {
            self.want(offset + 1)?;
        }
        Ok(self.window().get(offset).copied())
    }

    /// Consumes `n` bytes.
    pub(super) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    /// Skips JSON whitespace from `offset`; returns the offset of the next other byte (or the end).
    pub(super) fn skip_ws(&mut self, mut offset: usize) -> Result<usize, DecodeError> {
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
    pub(super) fn drain(&mut self) -> Result<(), DecodeError> {
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
    pub(super) fn only_ws_remains(&mut self) -> Result<bool, DecodeError> {
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
