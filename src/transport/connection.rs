//! One TCP or TLS connection to the receiver, with the checks plain sockets do not give: is the peer
//! still there, and how much of what we wrote has its TCP stack acknowledged.

use std::io::{self, Read};

use socket2::{SockRef, Socket};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

pub enum Connection {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection {
    fn tcp(&self) -> &TcpStream {
        match self {
            Connection::Tcp(s) => s,
            Connection::Tls(s) => s.get_ref().0,
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

    /// Bytes in the socket's send queue that the peer's TCP has not acknowledged yet (Linux
    /// `SIOCOUTQ`); `None` where the platform cannot tell.
    pub fn unacknowledged(&self) -> Option<usize> {
        outq(self.tcp())
    }

    /// A non-blocking look at the peer: still open, closed in order, or gone with an error. Anything
    /// the receiver sent is read and dropped (syslog receivers send nothing but TLS housekeeping).
    pub fn peer(&mut self) -> Peer {
        match self {
            Connection::Tcp(s) => drain_plain(s),
            Connection::Tls(s) => drain_tls(s),
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

fn drain_plain(stream: &TcpStream) -> Peer {
    let mut buf = [0u8; 4096];
    loop {
        match SocketReader(stream).read(&mut buf) {
            Ok(0) => return Peer::Closed,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Peer::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Peer::Failed(None),
        }
    }
}

/// Feeds whatever arrived into rustls (session tickets, alerts) and reports whether the connection is
/// still open: a peek at the raw socket would always see unread TLS records and never the EOF.
fn drain_tls(stream: &mut TlsStream<TcpStream>) -> Peer {
    let (tcp, tls) = stream.get_mut();
    let mut plaintext = [0u8; 4096];
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
                        Ok(_) => continue,
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
