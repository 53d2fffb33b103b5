//! Misbehaving receivers for the fault-injection tests: a proxy in front of rsyslog that resets or
//! closes on cue, a server that accepts and never reads, a server that reads slowly. Each runs on
//! threads bound to 127.0.0.1 and is stopped (threads joined) when dropped.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

const POLL: Duration = Duration::from_millis(20);

/// What the proxy does to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwards the first `n` bytes to rsyslog, then resets the connection (close with SO_LINGER 0).
    ResetAfter(usize),
    /// Reads and forwards exactly `n` bytes, then closes in order (FIN).
    CloseAfter(usize),
    /// Forwards everything.
    Pass,
}

/// A listener with a small receive buffer, set before `listen` so the advertised window stays small:
/// what the server's TCP acknowledges then stays close to what it has read, as with a receiver that
/// reads promptly.
fn listener(receive_buffer: usize) -> TcpListener {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket
        .set_recv_buffer_size(receive_buffer)
        .expect("SO_RCVBUF");
    let address: SocketAddr = "127.0.0.1:0".parse().expect("address");
    socket.bind(&address.into()).expect("bind 127.0.0.1");
    socket.listen(16).expect("listen");
    let listener: TcpListener = socket.into();
    listener.set_nonblocking(true).expect("non-blocking");
    listener
}

/// Threads and a stop flag shared by the servers below.
struct Running {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Accepts connections until stopped; `serve(index, stream, stop)` handles each on its own thread.
    fn start(
        receive_buffer: usize,
        serve: impl Fn(usize, TcpStream, &AtomicBool) + Send + Sync + 'static,
    ) -> Running {
        let listener = listener(receive_buffer);
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let serve = Arc::new(serve);
        let thread = {
            let (stop, accepted) = (stop.clone(), accepted.clone());
            std::thread::spawn(move || {
                let mut workers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let index = accepted.fetch_add(1, Ordering::SeqCst);
                            let (serve, stop) = (serve.clone(), stop.clone());
                            stream.set_nonblocking(false).expect("blocking stream");
                            workers.push(std::thread::spawn(move || serve(index, stream, &stop)));
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
        Running {
            port,
            stop,
            accepted,
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// A TCP proxy in front of a real receiver, applying `faults[i]` to the i-th connection (`Pass`
/// beyond the list).
pub struct FaultyProxy {
    running: Running,
    /// Bytes forwarded to the receiver, over all connections.
    forwarded: Arc<AtomicUsize>,
}

impl FaultyProxy {
    pub fn start(upstream_port: u16, faults: Vec<Fault>) -> FaultyProxy {
        let forwarded = Arc::new(AtomicUsize::new(0));
        let counter = forwarded.clone();
        let running = Running::start(16 * 1024, move |index, client, stop| {
            let fault = faults.get(index).copied().unwrap_or(Fault::Pass);
            let mut upstream =
                TcpStream::connect(("127.0.0.1", upstream_port)).expect("connect to the receiver");
            client.set_read_timeout(Some(POLL)).expect("read timeout");
            let limit = match fault {
                Fault::ResetAfter(n) | Fault::CloseAfter(n) => n,
                Fault::Pass => usize::MAX,
            };
            let mut client = client;
            let mut total = 0;
            let mut buf = vec![0u8; 8 * 1024];
            while total < limit && !stop.load(Ordering::SeqCst) {
                let room = buf.len().min(limit - total);
                match client.read(&mut buf[..room]) {
                    Ok(0) => return,
                    Ok(n) => {
                        upstream
                            .write_all(&buf[..n])
                            .expect("forward to the receiver");
                        total += n;
                        counter.fetch_add(n, Ordering::SeqCst);
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
            match fault {
                Fault::ResetAfter(_) => reset(client),
                Fault::CloseAfter(_) | Fault::Pass => drop(client),
            }
        });
        FaultyProxy { running, forwarded }
    }

    pub fn port(&self) -> u16 {
        self.running.port
    }

    pub fn connections(&self) -> usize {
        self.running.accepted.load(Ordering::SeqCst)
    }

    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

/// Accepts connections and never reads from them (a hung receiver: its window fills up).
pub struct SilentServer {
    running: Running,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let running = Running::start(4 * 1024, |_, stream, stop| {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(POLL);
            }
            drop(stream);
        });
        SilentServer { running }
    }

    pub fn port(&self) -> u16 {
        self.running.port
    }

    pub fn connections(&self) -> usize {
        self.running.accepted.load(Ordering::SeqCst)
    }
}

/// Reads at most `bytes_per_second` and discards it (a receiver too slow for the backlog).
pub struct SlowReader {
    running: Running,
    read: Arc<AtomicUsize>,
}

impl SlowReader {
    pub fn start(bytes_per_second: usize) -> SlowReader {
        let read = Arc::new(AtomicUsize::new(0));
        let counter = read.clone();
        let running = Running::start(4 * 1024, move |_, mut stream, stop| {
            stream.set_read_timeout(Some(POLL)).expect("read timeout");
            let slice = (bytes_per_second / 10).max(1);
            let mut buf = vec![0u8; slice];
            while !stop.load(Ordering::SeqCst) {
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        counter.fetch_add(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        });
        SlowReader { running, read }
    }

    pub fn port(&self) -> u16 {
        self.running.port
    }

    pub fn read(&self) -> usize {
        self.read.load(Ordering::SeqCst)
    }
}

/// A transparent two-way TCP relay in front of a receiver that counts the connections it sees (TLS
/// passes through untouched).
pub struct CountingRelay {
    running: Running,
}

impl CountingRelay {
    pub fn start(upstream_port: u16) -> CountingRelay {
        let running = Running::start(256 * 1024, move |_, client, stop| {
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                return;
            };
            let pump = |mut from: TcpStream, mut to: TcpStream, stop: &AtomicBool| {
                from.set_read_timeout(Some(POLL)).expect("read timeout");
                let mut buf = vec![0u8; 16 * 1024];
                while !stop.load(Ordering::SeqCst) {
                    match from.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(_) => break,
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            };
            let (client_in, upstream_out) = (
                client.try_clone().expect("clone client"),
                upstream.try_clone().expect("clone upstream"),
            );
            std::thread::scope(|scope| {
                scope.spawn(|| pump(client_in, upstream_out, stop));
                pump(upstream, client, stop);
            });
        });
        CountingRelay { running }
    }

    pub fn port(&self) -> u16 {
        self.running.port
    }

    pub fn connections(&self) -> usize {
        self.running.accepted.load(Ordering::SeqCst)
    }
}
