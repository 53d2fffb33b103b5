//! One RELP session on one connection: `open` and the offers check, a window of `syslog` frames
//! waiting for their answers, answers matched by transaction number, `close`.
//!
//! The session knows frames, not batches: the sender hands it messages with a tag (their index in
//! the batch) and hears back which tag was acknowledged or refused.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::RelpError;
use super::codec::{
    Decoder, EncodeError, MAX_TXNR, Response, encode_frame, parse_response, printable,
};
use super::offers::{check_server_offers, client_offers};
use crate::transport::TransportError;
use crate::transport::connection::{Connection, Peer};
use crate::transport::retry::budget;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// The transaction number of `open`: a session starts at 1.
const OPEN_TXNR: u32 = 1;
/// The last transaction number a `syslog` frame may take: [`MAX_TXNR`] itself is kept for
/// `close`, so that a session whose numbers are used up can still end politely.
const LAST_SYSLOG_TXNR: u64 = MAX_TXNR as u64 - 1;

/// The receiver's verdict on one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `200`: the receiver has the message.
    Acknowledged(usize),
    /// Any other status: the receiver did not take the message.
    Refused { tag: usize, status: String },
}

pub struct Session {
    connection: Connection,
    decoder: Decoder,
    /// The transaction number the next frame takes. Counted in 64 bits and never wrapped: a
    /// session never reuses a number (the window matches answers by number), it is replaced
    /// before the numbers run out (see [`Session::numbers_left`]).
    next_txnr: u64,
    /// Frames sent and not answered yet, oldest first: (transaction number, tag).
    window: VecDeque<(u32, usize)>,
    capacity: usize,
    /// Frames encoded and not written yet.
    out: Vec<u8>,
    /// False once anything went wrong: the session is then dropped without a `close`.
    healthy: bool,
    tls_without_client_cert: bool,
}

impl Session {
    /// Sends `open` on a new connection and waits for the receiver's offers, which must let us
    /// send `syslog` frames.
    pub async fn open(
        connection: Connection,
        capacity: usize,
        limit: Duration,
        deadline: Instant,
        tls_without_client_cert: bool,
    ) -> Result<Session, TransportError> {
        let mut session = Session {
            connection,
            decoder: Decoder::default(),
            next_txnr: u64::from(OPEN_TXNR),
            window: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
            out: Vec::new(),
            healthy: false,
            tls_without_client_cert,
        };
        encode_frame(&mut session.out, OPEN_TXNR, "open", &client_offers())
            .map_err(RelpError::from)?;
        session.write(limit, deadline).await?;
        session.next_txnr = u64::from(OPEN_TXNR) + 1;
        while session.open_answer()?.is_none() {
            session.receive(limit, deadline, true).await?;
        }
        session.healthy = true;
        Ok(session)
    }

    /// The answer to `open`, once it has arrived: `Some` when the session may carry syslog, an
    /// error when the receiver refused or cannot carry it.
    fn open_answer(&mut self) -> Result<Option<()>, TransportError> {
        let Some(frame) = self.decoder.next_frame().map_err(protocol)? else {
            return Ok(None);
        };
        if frame.txnr == 0 && frame.command == b"serverclose" {
            return Err(RelpError::ServerClose { unanswered: 0 }.into());
        }
        if frame.txnr != OPEN_TXNR || frame.command != b"rsp" {
            return Err(protocol_detail(format!(
                "a frame {} {} where the answer to open was due",
                frame.txnr,
                printable(frame.command)
            )));
        }
        match parse_response(frame.data).map_err(protocol)? {
            Response::Status {
                code: 200, body, ..
            } => {
                check_server_offers(body).map_err(RelpError::Offers)?;
                Ok(Some(()))
            }
            Response::Status { code, text, .. } => Err(RelpError::OpenRefused {
                status: format!("{code} {}", printable(text)),
            }
            .into()),
            Response::Empty => Err(protocol_detail("an empty answer to open".into())),
        }
    }

    /// Frames that may still be sent before the window is full.
    pub fn room(&self) -> usize {
        self.capacity.saturating_sub(self.window.len())
    }

    /// Frames sent and not answered.
    pub fn in_flight(&self) -> usize {
        self.window.len()
    }

    /// Transaction numbers this session can still give `syslog` frames. The numbers never wrap
    /// within a session: librelp's receiver expects 1,000,000,000 after 999,999,999 (a number its
    /// own parser refuses) where the spec says 1, and a wrapped number could match the answer of
    /// an older frame still in the window. So a session is replaced before it gets there rather
    /// than trusting either; 0 once used up, and it stays 0.
    pub fn numbers_left(&self) -> usize {
        let left = (LAST_SYSLOG_TXNR + 1).saturating_sub(self.next_txnr);
        usize::try_from(left).unwrap_or(usize::MAX)
    }

    /// The next transaction number as it goes on the wire, or the error that says it cannot.
    fn wire_txnr(&self) -> Result<u32, EncodeError> {
        u32::try_from(self.next_txnr)
            .ok()
            .filter(|&txnr| txnr <= MAX_TXNR)
            .ok_or(EncodeError::Txnr(self.next_txnr))
    }

    /// Bytes encoded and not written yet.
    pub fn unwritten(&self) -> usize {
        self.out.len()
    }

    /// Encodes `message` as the next `syslog` frame; [`Session::write`] sends it.
    /// With no transaction number left the session fails (the sender then opens a new one).
    pub fn queue(&mut self, message: &[u8], tag: usize) -> Result<(), TransportError> {
        debug_assert!(self.room() > 0);
        let encoded = if self.numbers_left() == 0 {
            Err(EncodeError::NumbersUsedUp)
        } else {
            self.wire_txnr().and_then(|txnr| {
                encode_frame(&mut self.out, txnr, "syslog", message).map(|()| txnr)
            })
        };
        let txnr = match encoded {
            Ok(txnr) => txnr,
            Err(e) => {
                self.healthy = false;
                return Err(RelpError::from(e).into());
            }
        };
        self.window.push_back((txnr, tag));
        self.next_txnr += 1;
        Ok(())
    }

    /// Writes every queued frame; returns the bytes written.
    pub async fn write(
        &mut self,
        limit: Duration,
        deadline: Instant,
    ) -> Result<usize, TransportError> {
        let budget_left = self.guard(budget(limit, deadline))?;
        let written = match timeout(budget_left, self.connection.write_chunk(&self.out)).await {
            Ok(Ok(())) => Ok(self.out.len()),
            Ok(Err(e)) => Err(TransportError::Write(e)),
            Err(_) if Instant::now() >= deadline => Err(TransportError::DeadlineExceeded),
            Err(_) => Err(TransportError::WriteTimeout(budget_left)),
        };
        self.out.clear();
        self.guard(written)
    }

    /// Waits for at least one answer (unless some already arrived) and hands every complete
    /// answer received to `on_answer`. A `serverclose` hint, a frame that breaks the protocol, a
    /// closed connection or no answer within `limit` end the session with an error, after the
    /// answers that came before were handed over.
    pub async fn answers(
        &mut self,
        limit: Duration,
        deadline: Instant,
        mut on_answer: impl FnMut(Answer),
    ) -> Result<(), TransportError> {
        loop {
            let mut answered = false;
            while let Some(answer) = self.next_answer()? {
                answered = true;
                on_answer(answer);
            }
            if answered || self.window.is_empty() {
                return Ok(());
            }
            self.receive(limit, deadline, false).await?;
        }
    }

    fn next_answer(&mut self) -> Result<Option<Answer>, TransportError> {
        let result = self.take_answer();
        self.guard(result)
    }

    fn take_answer(&mut self) -> Result<Option<Answer>, TransportError> {
        let frame = loop {
            let Some(frame) = self.decoder.next_frame().map_err(protocol)? else {
                return Ok(None);
            };
            if frame.txnr != 0 {
                break frame;
            }
            if frame.command == b"serverclose" {
                return Err(RelpError::ServerClose {
                    unanswered: self.window.len(),
                }
                .into());
            }
            // Other hints ask nothing of us (the spec: "if they do not arrive at the client,
            // nothing fatal should happen").
            tracing::debug!(hint = %printable(frame.command), "RELP receiver sent a hint; ignored");
        };
        if frame.command != b"rsp" {
            return Err(protocol_detail(format!(
                "a {} command (transaction {}), where only answers may come",
                printable(frame.command),
                frame.txnr
            )));
        }
        // Answers normally come in order, so the search ends at the oldest frame.
        let position = self
            .window
            .iter()
            .position(|(txnr, _)| *txnr == frame.txnr)
            .ok_or_else(|| {
                protocol_detail(format!(
                    "an answer to transaction {}, which is not waiting for one",
                    frame.txnr
                ))
            })?;
        let response = parse_response(frame.data).map_err(protocol)?;
        let Some((_, tag)) = self.window.remove(position) else {
            return Ok(None);
        };
        match response {
            Response::Status { code: 200, .. } => Ok(Some(Answer::Acknowledged(tag))),
            Response::Status { code, text, .. } => Ok(Some(Answer::Refused {
                tag,
                status: format!("{code} {}", printable(text)),
            })),
            Response::Empty => Err(protocol_detail(format!(
                "an empty answer to syslog message transaction {}",
                frame.txnr
            ))),
        }
    }

    /// Reads once from the connection into the decoder, waiting up to `limit`.
    async fn receive(
        &mut self,
        limit: Duration,
        deadline: Instant,
        opening: bool,
    ) -> Result<(), TransportError> {
        let result = self.receive_once(limit, deadline, opening).await;
        self.guard(result)
    }

    async fn receive_once(
        &mut self,
        limit: Duration,
        deadline: Instant,
        opening: bool,
    ) -> Result<(), TransportError> {
        let budget_left = budget(limit, deadline)?;
        let mut chunk = [0u8; READ_CHUNK];
        let unanswered = self.window.len() + usize::from(opening);
        match timeout(budget_left, self.connection.read(&mut chunk)).await {
            Ok(Ok(0)) => Err(RelpError::Closed {
                unanswered,
                opening,
                tls_without_client_cert: self.tls_without_client_cert,
            }
            .into()),
            Ok(Ok(n)) => {
                self.decoder.feed(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(read_error(
                e,
                unanswered,
                opening,
                self.tls_without_client_cert,
            )),
            Err(_) if Instant::now() >= deadline => Err(TransportError::DeadlineExceeded),
            Err(_) => Err(RelpError::NotAnswered {
                unanswered,
                after: budget_left,
                opening,
                tls_without_client_cert: self.tls_without_client_cert,
            }
            .into()),
        }
    }

    /// Whether an idle session can carry the next batch: the connection is open and the receiver
    /// sent nothing meanwhile (an idle session gets no frames but a `serverclose` or garbage).
    pub fn is_reusable(&mut self) -> bool {
        if !self.healthy || !self.window.is_empty() {
            return false;
        }
        let mut received = Vec::new();
        let peer = self.connection.read_available(&mut received, READ_CHUNK);
        if peer != Peer::Open || !received.is_empty() {
            tracing::info!(
                ?peer,
                received = %printable(&received),
                "RELP receiver closed the idle session; reconnecting"
            );
            self.healthy = false;
            return false;
        }
        true
    }

    /// Sends `close` and waits (up to `limit`) for its answer, then drops the connection.
    pub async fn close(mut self, limit: Duration, deadline: Instant) {
        if !self.healthy || !self.window.is_empty() {
            return;
        }
        self.healthy = false;
        let Ok(txnr) = self.wire_txnr() else {
            return;
        };
        if encode_frame(&mut self.out, txnr, "close", b"").is_err()
            || self.write(limit, deadline).await.is_err()
        {
            return;
        }
        // Whatever the answer says (librelp's is empty), the session is over: only its arrival
        // is waited for.
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) if frame.txnr == txnr => return,
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(_) => return,
            }
            if self.receive_once(limit, deadline, false).await.is_err() {
                return;
            }
        }
    }

    /// Records that the session failed on `result`'s error: it will not be closed politely.
    fn guard<T>(&mut self, result: Result<T, TransportError>) -> Result<T, TransportError> {
        if result.is_err() {
            self.healthy = false;
        }
        result
    }
}

impl Drop for Session {
    /// A session dropped while healthy (the forwarder shutting down) says goodbye without waiting
    /// for the answer: the receiver then ends it at once instead of finding the connection gone.
    fn drop(&mut self) {
        if !self.healthy || !self.window.is_empty() {
            return;
        }
        let mut close = Vec::with_capacity(24);
        let Ok(txnr) = self.wire_txnr() else {
            return;
        };
        if encode_frame(&mut close, txnr, "close", b"").is_ok() {
            self.connection.write_now(&close);
        }
    }
}

fn protocol(error: impl std::fmt::Display) -> TransportError {
    protocol_detail(format!("a malformed frame ({error})"))
}

fn protocol_detail(detail: String) -> TransportError {
    RelpError::Protocol { detail }.into()
}

/// A failed read: over TLS, the receiver's alert (a refused client certificate, most often) is
/// named as for any TLS failure; otherwise the session was lost.
fn read_error(
    error: std::io::Error,
    unanswered: usize,
    opening: bool,
    tls_without_client_cert: bool,
) -> TransportError {
    let tls = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned();
    match tls {
        Some(tls) => TransportError::ResetAfterSend {
            tls: Some(tls),
            tls_without_client_cert,
        },
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => RelpError::Closed {
            unanswered,
            opening,
            tls_without_client_cert,
        }
        .into(),
        None => RelpError::Read(error).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A receiver that answers every frame `200 OK` (`close` with an empty answer) and returns
    /// the transaction numbers and commands it saw, once the client hangs up.
    async fn answering_peer() -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut pending = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return seen;
                }
                pending.extend_from_slice(&buf[..n]);
                // Frames here are `TXNR COMMAND LEN[ DATA]\n` with no LF inside the data.
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line = String::from_utf8_lossy(&pending[..end]).into_owned();
                    pending.drain(..=end);
                    let mut fields = line.splitn(3, ' ');
                    let txnr = fields.next().unwrap_or_default().to_owned();
                    let command = fields.next().unwrap_or_default().to_owned();
                    let answer = if command == "close" {
                        format!("{txnr} rsp 0\n")
                    } else {
                        format!("{txnr} rsp 6 200 OK\n")
                    };
                    socket.write_all(answer.as_bytes()).await.unwrap();
                    seen.push(format!("{txnr} {command}"));
                }
            }
        });
        (address, peer)
    }

    /// A session already open (as if `open` had been answered) whose next number is `next`.
    async fn session_at(address: std::net::SocketAddr, next: u64) -> Session {
        let stream = TcpStream::connect(address).await.unwrap();
        Session {
            connection: Connection::Tcp(stream),
            decoder: Decoder::default(),
            next_txnr: next,
            window: VecDeque::new(),
            capacity: 8,
            out: Vec::new(),
            healthy: true,
            tls_without_client_cert: false,
        }
    }

    async fn send(session: &mut Session, tags: std::ops::Range<usize>) -> Vec<usize> {
        let limit = Duration::from_secs(5);
        let deadline = Instant::now() + limit;
        for tag in tags {
            session.queue(b"<134>1 - - - - - - x", tag).unwrap();
        }
        session.write(limit, deadline).await.unwrap();
        let mut acknowledged = Vec::new();
        while session.in_flight() > 0 {
            session
                .answers(limit, deadline, |answer| match answer {
                    Answer::Acknowledged(tag) => acknowledged.push(tag),
                    Answer::Refused { tag, status } => panic!("{tag} refused: {status}"),
                })
                .await
                .unwrap();
        }
        acknowledged
    }

    #[tokio::test]
    async fn a_batch_ending_at_the_last_number_leaves_none_and_never_wraps() {
        let (address, peer) = answering_peer().await;
        let mut session = session_at(address, LAST_SYSLOG_TXNR - 2).await;
        assert_eq!(session.numbers_left(), 3);
        // The batch takes 999,999,996 to 999,999,998: the last numbers a syslog frame may use.
        assert_eq!(send(&mut session, 0..3).await, vec![0, 1, 2]);
        assert_eq!(session.numbers_left(), 0, "used up, not wrapped to 1");
        // A further frame is refused, and not permanently: a new session carries it.
        let error = session.queue(b"x", 3).unwrap_err();
        assert!(
            matches!(
                error,
                TransportError::Relp(RelpError::Encode(EncodeError::NumbersUsedUp))
            ),
            "{error:?}"
        );
        assert!(!error.is_permanent(), "{error}");
        assert_eq!(session.numbers_left(), 0);
        assert_eq!(session.in_flight(), 0);
        drop(session);
        let seen = peer.await.unwrap();
        assert_eq!(
            seen,
            ["999999996 syslog", "999999997 syslog", "999999998 syslog"],
            "the failed queue made the session unhealthy: no close, and no number reused"
        );
    }

    #[tokio::test]
    async fn a_used_up_session_still_closes_with_the_largest_number() {
        let (address, peer) = answering_peer().await;
        let mut session = session_at(address, LAST_SYSLOG_TXNR).await;
        assert_eq!(send(&mut session, 0..1).await, vec![0]);
        assert_eq!(session.numbers_left(), 0);
        let limit = Duration::from_secs(5);
        session.close(limit, Instant::now() + limit).await;
        assert_eq!(peer.await.unwrap(), ["999999998 syslog", "999999999 close"]);
    }
}
