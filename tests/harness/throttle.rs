//! An HTTP front for the moto server that answers the first requests with ECR's
//! `ThrottlingException` (HTTP 400, awsJson 1.1) and relays the rest to moto unchanged.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct ThrottlingFront {
    pub port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ThrottlingFront {
    /// Throttles the first `throttled` requests (`usize::MAX`: all of them), relays the others to
    /// the moto server on `moto_port`.
    pub fn start(moto_port: u16, throttled: usize) -> ThrottlingFront {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((mut client, _)) => {
                            let _ = client.set_nonblocking(false);
                            let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
                            let Some(request) = read_request(&mut client) else {
                                continue;
                            };
                            let index = requests.fetch_add(1, Ordering::SeqCst);
                            let response = if index < throttled {
                                throttling_response()
                            } else {
                                relay(moto_port, &request)
                            };
                            let _ = client.write_all(&response);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(e) => panic!("accept failed: {e}"),
                    }
                }
            })
        };
        ThrottlingFront {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for ThrottlingFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One HTTP/1.1 request (headers and a Content-Length body), rewritten to `Connection: close`.
fn read_request(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&data, b"\r\n\r\n") {
            break at + 4;
        }
        let n = client.read(&mut buf).ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = client.read(&mut buf).ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
    }
    let headers: Vec<&str> = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut request = format!("{}\r\nConnection: close\r\n\r\n", headers.join("\r\n")).into_bytes();
    request.extend_from_slice(&data[head_end..head_end + length]);
    Some(request)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn throttling_response() -> Vec<u8> {
    let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
         x-amzn-RequestId: 6b1c7a52-0f3e-4c1d-9a8b-2e5f7d3c9a10\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn relay(moto_port: u16, request: &[u8]) -> Vec<u8> {
    let mut moto = TcpStream::connect(("127.0.0.1", moto_port)).expect("connect to moto");
    moto.write_all(request).expect("send to moto");
    let mut response = Vec::new();
    let _ = moto.read_to_end(&mut response);
    response
}
