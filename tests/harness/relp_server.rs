//! A RELP receiver of the tests' own making, to play what rsyslog never does on cue: refuse some
//! messages with `500`, answer out of order, end the session with `serverclose`, fall silent, or
//! send a malformed frame. It keeps every message it answered `200`, in that order. Threads bound
//! to 127.0.0.1, stopped (and joined) when dropped.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(20);
/// The offers librelp answers `open` with.
pub const OFFERS: &str = "200 OK\nrelp_version=0\nrelp_software=scripted,1,-\ncommands=syslog\n";

/// What the server does on one connection; message numbers count `syslog` frames on that
/// connection from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Answers every message `200`.
    Accept,
    /// Answers `500` to these messages and `200` to the others.
    Refuse(Vec<usize>),
    /// Answers in groups of `n` messages, each group in reverse order.
    Reverse(usize),
    /// Answers `n` messages, then sends `serverclose` and closes.
    ServerCloseAfter(usize),
    /// Answers `n` messages, then reads on and answers nothing.
    StallAfter(usize),
    /// Answers `n` messages, then sends these bytes instead of the next answer and reads on.
    GarbageAfter(usize, Vec<u8>),
    /// Answers every message `200`, sending these bytes before the answer to message `n`.
    InsertBefore(usize, Vec<u8>),
    /// Answers `open` with this data (instead of [`OFFERS`]), then behaves as `Accept`.
    OpenAnswer(String),
    /// Answers `n` messages, then acknowledges a transaction number it was never sent.
    UnknownAnswerAfter(usize),
}

pub struct RelpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    closes: Arc<AtomicUsize>,
    stored: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<JoinHandle<()>>,
}

impl RelpServer {
    /// Applies `scripts[i]` to the i-th connection, `Accept` beyond the list.
    pub fn start(scripts: Vec<Script>) -> RelpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let closes = Arc::new(AtomicUsize::new(0));
        let stored = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, accepted, stored) = (stop.clone(), accepted.clone(), stored.clone());
            let closes = closes.clone();
            std::thread::spawn(move || {
                let mut workers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let index = accepted.fetch_add(1, Ordering::SeqCst);
                            let script = scripts.get(index).cloned().unwrap_or(Script::Accept);
                            let (stop, stored) = (stop.clone(), stored.clone());
                            let closes = closes.clone();
                            stream.set_nonblocking(false).expect("blocking stream");
                            workers.push(std::thread::spawn(move || {
                                if serve(stream, &script, &stored, &stop) {
                                    closes.fetch_add(1, Ordering::SeqCst);
                                }
                            }));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
                        Err(e) => panic!("accept failed: {e}"),
                    }
                }
                workers.into_iter().for_each(|w| {
                    let _ = w.join();
                });
            })
        };
        RelpServer {
            port,
            stop,
            accepted,
            closes,
            stored,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Sessions the client ended with `close`.
    pub fn closes(&self) -> usize {
        self.closes.load(Ordering::SeqCst)
    }

    /// The messages answered `200`, in the order they were answered.
    pub fn stored(&self) -> Vec<Vec<u8>> {
        self.stored.lock().expect("stored messages").clone()
    }
}

impl Drop for RelpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One frame as the client sent it.
struct Frame {
    txnr: u32,
    command: String,
    data: Vec<u8>,
}

/// Reads `TXNR SP COMMAND SP DATALEN [SP DATA] LF`; `None` at the end of the stream or on a
/// framing error (the test then sees the client's frames were wrong).
fn read_frame(reader: &mut impl BufRead, stop: &AtomicBool) -> Option<Frame> {
    let mut field = |until: &[u8]| -> Option<(Vec<u8>, u8)> {
        let mut bytes = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            match reader.read(&mut byte) {
                Ok(0) => return None,
                Ok(_) if until.contains(&byte[0]) => return Some((bytes, byte[0])),
                Ok(_) => bytes.push(byte[0]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if stop.load(Ordering::SeqCst) {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    };
    let (txnr, _) = field(b" ")?;
    let (command, _) = field(b" ")?;
    let (length, after) = field(b" \n")?;
    let txnr = std::str::from_utf8(&txnr).ok()?.parse().ok()?;
    let length: usize = std::str::from_utf8(&length).ok()?.parse().ok()?;
    let mut data = vec![0u8; length];
    if after == b' ' {
        read_fully(reader, &mut data, stop)?;
        let mut trailer = [0u8; 1];
        read_fully(reader, &mut trailer, stop)?;
        if trailer != *b"\n" {
            return None;
        }
    } else if length != 0 {
        return None;
    }
    Some(Frame {
        txnr,
        command: String::from_utf8(command).ok()?,
        data,
    })
}

fn read_fully(reader: &mut impl Read, buf: &mut [u8], stop: &AtomicBool) -> Option<()> {
    let mut at = 0;
    while at < buf.len() {
        match reader.read(&mut buf[at..]) {
            Ok(0) => return None,
            Ok(n) => at += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    Some(())
}

fn answer(txnr: u32, data: &str) -> Vec<u8> {
    if data.is_empty() {
        return format!("{txnr} rsp 0\n").into_bytes();
    }
    format!("{txnr} rsp {} {data}\n", data.len()).into_bytes()
}

/// Serves one connection; true when the client ended it with `close`.
fn serve(
    stream: TcpStream,
    script: &Script,
    stored: &Mutex<Vec<Vec<u8>>>,
    stop: &AtomicBool,
) -> bool {
    stream.set_read_timeout(Some(POLL)).expect("read timeout");
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    let Some(open) = read_frame(&mut reader, stop) else {
        return false;
    };
    assert_eq!(
        (open.txnr, open.command.as_str()),
        (1, "open"),
        "the first frame opens"
    );
    let offers = match script {
        Script::OpenAnswer(data) => data.clone(),
        _ => OFFERS.to_owned(),
    };
    if writer.write_all(&answer(1, &offers)).is_err() {
        return false;
    }
    let mut count = 0;
    // Frames held back for a reversed answer.
    let mut held: Vec<(u32, Vec<u8>)> = Vec::new();
    let store = |message: Vec<u8>| stored.lock().expect("stored messages").push(message);
    while let Some(frame) = read_frame(&mut reader, stop) {
        if frame.command == "close" {
            let _ = writer.write_all(&answer(frame.txnr, ""));
            return true;
        }
        assert_eq!(frame.command, "syslog", "only syslog frames follow open");
        let n = count;
        count += 1;
        let reply = match script {
            Script::Accept | Script::OpenAnswer(_) => Some(true),
            Script::Refuse(refused) => Some(!refused.contains(&n)),
            Script::Reverse(group) => {
                held.push((frame.txnr, frame.data));
                if held.len() == *group {
                    for (txnr, data) in held.drain(..).rev() {
                        store(data);
                        if writer.write_all(&answer(txnr, "200 OK")).is_err() {
                            return false;
                        }
                    }
                }
                continue;
            }
            Script::ServerCloseAfter(after) if n >= *after => {
                let _ = writer.write_all(b"0 serverclose 0\n");
                return false;
            }
            Script::StallAfter(after) if n >= *after => None,
            Script::GarbageAfter(after, garbage) if n >= *after => {
                if n == *after && writer.write_all(garbage).is_err() {
                    return false;
                }
                None
            }
            Script::InsertBefore(at, bytes) if n == *at => {
                // One write, so that both arrive in one read.
                let mut out = bytes.clone();
                out.extend_from_slice(&answer(frame.txnr, "200 OK"));
                store(frame.data);
                if writer.write_all(&out).is_err() {
                    return false;
                }
                continue;
            }
            Script::UnknownAnswerAfter(after) if n == *after => {
                if writer
                    .write_all(&answer(frame.txnr + 1000, "200 OK"))
                    .is_err()
                {
                    return false;
                }
                None
            }
            _ => Some(true),
        };
        let written = match reply {
            Some(true) => {
                store(frame.data);
                writer.write_all(&answer(frame.txnr, "200 OK"))
            }
            Some(false) => writer.write_all(&answer(frame.txnr, "500 queue full")),
            None => Ok(()),
        };
        if written.is_err() {
            return false;
        }
    }
    false
}
