//! One TCP or TLS connection to the receiver, with the checks plain sockets do not give: is the peer
//! still there, and how much of what we wrote has its TCP stack acknowledged.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::{SockRef, Socket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

pub enum Connection {
    Tcp(TcpStream),
    Tls(Box<TlsStream<Watched>>),
}

/// The TCP stream under TLS, noting how the handshake went: a TLS 1.2 receiver that refuses our
/// certificate may end the connection right after our Finished, with no alert, and only the
/// flights we wrote tell that from a receiver that is not there.
#[derive(Debug)]
pub struct Watched {
    stream: TcpStream,
    /// Bursts of writes, each after the receiver sent something (or the first).
    flights: u32,
    reading: bool,
    /// The receiver's first bytes (enough to tell a HelloRetryRequest).
    first_read: Vec<u8>,
}

/// A TLS record header, a handshake header, the version and the random of a ServerHello.
const SERVER_HELLO_PREFIX: usize = 5 + 4 + 2 + 32;
/// The random of a TLS 1.3 HelloRetryRequest (RFC 8446, 4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

impl Watched {
    pub fn new(stream: TcpStream) -> Watched {
        Watched {
            stream,
            flights: 0,
            reading: true,
            first_read: Vec::new(),
        }
    }

    /// The handshake had reached our last flight: we answered the receiver's first flight
    /// (its hello, certificate and, for TLS 1.2, hello-done) with ours, which ends in our
    /// Finished. A TLS 1.3 HelloRetryRequest also gets a second flight (a new hello), so it does
    /// not count.
    pub fn sent_final_flight(&self) -> bool {
        let retry = self.first_read.len() >= SERVER_HELLO_PREFIX
            && self.first_read[11..SERVER_HELLO_PREFIX] == HELLO_RETRY_RANDOM;
        self.flights >= 2 && !retry
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        let fresh = &buf.filled()[before..];
        if !fresh.is_empty() {
            let room = SERVER_HELLO_PREFIX.saturating_sub(self.first_read.len());
            let keep = fresh.len().min(room);
            let head = fresh[..keep].to_vec();
            self.first_read.extend_from_slice(&head);
            self.reading = true;
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) && self.reading {
            self.reading = false;
            self.flights = self.flights.saturating_add(1);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Connection {
    fn tcp(&self) -> &TcpStream {
        match self {
            Connection::Tcp(s) => s,
            Connection::Tls(s) => &s.get_ref().0.stream,
        }
    }

    /// Writes `chunk` completely; for TLS also pushes rustls' buffer to the socket, so that what the
    /// kernel holds is everything written so far.
    pub async fn write_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        match self {
            Connection::Tcp(s) => s.write_all(chunk).await,
            Connection::Tls(s) => {
                s.write_all(chunk).await?;
                s.flush().await
            }
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Connection::Tls(_))
    }

    /// Bytes in the socket's send queue that the peer's TCP has not acknowledged yet (Linux
    /// `SIOCOUTQ`); `None` where the platform cannot tell.
    pub fn unacknowledged(&self) -> Option<usize> {
        outq(self.tcp())
    }

    /// A non-blocking look at the peer: still open, closed in order, or gone with an error. Anything
    /// the receiver sent is read and dropped (syslog receivers send nothing but TLS housekeeping).
    pub fn peer(&mut self) -> Peer {
        self.drain(|_| true)
    }

    /// Like [`Connection::peer`], but appends what the receiver sent to `out`, stopping (and
    /// reporting the peer open) once `out` holds `limit` bytes or more.
    pub fn read_available(&mut self, out: &mut Vec<u8>, limit: usize) -> Peer {
        self.drain(|bytes| {
            out.extend_from_slice(bytes);
            out.len() < limit
        })
    }

    /// Waits for data from the receiver; 0 is an orderly close.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Connection::Tcp(s) => s.read(buf).await,
            Connection::Tls(s) => s.read(buf).await,
        }
    }

    /// Hands `bytes` to the socket without waiting (for TLS followed by `close_notify`), as far as
    /// the socket takes them right now: for a goodbye where nobody can wait, as in `Drop`.
    pub fn write_now(&mut self, bytes: &[u8]) {
        match self {
            Connection::Tcp(s) => {
                let _ = SocketWriter(s).write(bytes);
            }
            Connection::Tls(s) => {
                let (watched, tls) = s.get_mut();
                let tcp = &watched.stream;
                if tls.writer().write_all(bytes).is_err() {
                    return;
                }
                tls.send_close_notify();
                while tls.wants_write() {
                    if !matches!(tls.write_tls(&mut SocketWriter(tcp)), Ok(n) if n > 0) {
                        return;
                    }
                }
            }
        }
    }

    fn drain(&mut self, take: impl FnMut(&[u8]) -> bool) -> Peer {
        match self {
            Connection::Tcp(s) => drain_plain(s, take),
            Connection::Tls(s) => drain_tls(s, take),
        }
    }
}

/// What a non-blocking read says about the receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    Open,
    /// An orderly close (FIN, or TLS close_notify): the receiver's TCP stack sends it only when the
    /// application closed having read everything it was sent; with unread data it resets instead.
    Closed,
    /// Reset or failed (with the TLS alert, when there was one): the receiver may have dropped data
    /// its TCP had already acknowledged.
    Failed(Option<rustls::Error>),
}

/// Reads what the socket holds, handing it to `take` until that returns false (more wanted later).
fn drain_plain(stream: &TcpStream, mut take: impl FnMut(&[u8]) -> bool) -> Peer {
    let mut buf = [0u8; 4096];
    loop {
        match SocketReader(stream).read(&mut buf) {
            Ok(0) => return Peer::Closed,
            Ok(n) if take(&buf[..n]) => continue,
            Ok(_) => return Peer::Open,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Peer::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Peer::Failed(None),
        }
    }
}

/// Feeds whatever arrived into rustls (session tickets, alerts) and reports whether the connection is
/// still open: a peek at the raw socket would always see unread TLS records and never the EOF.
fn drain_tls(stream: &mut TlsStream<Watched>, mut take: impl FnMut(&[u8]) -> bool) -> Peer {
    let (watched, tls) = stream.get_mut();
    let tcp = &watched.stream;
    let mut plaintext = [0u8; 4096];
    // Plaintext rustls decrypted earlier but nobody read yet comes first.
    loop {
        match tls.reader().read(&mut plaintext) {
            Ok(0) => return Peer::Closed,
            Ok(n) if take(&plaintext[..n]) => continue,
            Ok(_) => return Peer::Open,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Peer::Closed,
            Err(_) => return Peer::Failed(None),
        }
    }
    loop {
        match tls.read_tls(&mut SocketReader(tcp)) {
            Ok(0) => return Peer::Closed,
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    return Peer::Failed(Some(e));
                }
                loop {
                    match tls.reader().read(&mut plaintext) {
                        Ok(0) => return Peer::Closed, // close_notify
                        Ok(n) if take(&plaintext[..n]) => continue,
                        Ok(_) => return Peer::Open,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // EOF without close_notify: the peer closed (or died) mid-record.
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Peer::Closed,
                        Err(_) => return Peer::Failed(None),
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Peer::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Peer::Failed(None),
        }
    }
}

/// Reads straight from the (non-blocking) socket, bypassing tokio's readiness cache, which may not
/// have seen the peer's FIN yet.
struct SocketReader<'a>(&'a TcpStream);

impl Read for SocketReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let socket = SockRef::from(self.0);
        let mut raw: &Socket = &socket;
        raw.read(buf)
    }
}

/// Writes straight to the (non-blocking) socket: a write that would block writes nothing.
struct SocketWriter<'a>(&'a TcpStream);

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let socket = SockRef::from(self.0);
        let mut raw: &Socket = &socket;
        raw.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn outq(stream: &TcpStream) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut pending: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (= SIOCOUTQ for TCP) writes one c_int through the pointer, which points to a
    // live local; the descriptor belongs to `stream`, borrowed for the duration of the call.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut pending) };
    (rc == 0).then(|| usize::try_from(pending).unwrap_or(0))
}

#[cfg(not(target_os = "linux"))]
fn outq(_: &TcpStream) -> Option<usize> {
    None
}
