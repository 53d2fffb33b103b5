//! Real parts the integration tests talk to: rsyslog, syslog-ng, the moto server (ECR and S3) and
//! cargo-lambda's Runtime API emulator, and a scripted RELP receiver for the faults rsyslog does not
//! play. Each binds to 127.0.0.1 only and is stopped by its own process id (or, for threads, joined)
//! when dropped.
#![allow(dead_code)]

pub mod batches;
pub mod certs;
pub mod emulator;
pub mod encode;
pub mod faulty;
pub mod forwarding;
pub mod moto;
pub mod relp_server;
pub mod rsyslog;
pub mod s3;
pub mod syslog_ng;
pub mod throttle;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool installed by `make test` into the project's venv (`FORWARDER_TEST_VENV` overrides it).
pub fn venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var_os("FORWARDER_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv"));
    let path = venv.join("bin").join(name);
    assert!(
        path.exists(),
        "{} not found: run `make test`, which installs it",
        path.display()
    );
    path
}

/// A port nothing listens on right now (the small race with other processes is accepted).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind 127.0.0.1:0")
}

/// A fresh, absolute, empty directory for one test's files.
pub fn test_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = project_root().join("target/test-tmp").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a test directory under target/");
    dir
}

/// Polls `ready` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    ready()
}

/// Whether something listens on 127.0.0.1:`port`, read from /proc (a probe connection would make a
/// TLS listener log a handshake error).
pub fn is_listening(port: u16) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    ["/proc/net/tcp"].iter().any(|table| {
        std::fs::read_to_string(table)
            .map(|text| {
                text.lines().skip(1).any(|line| {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    cols.len() > 3 && cols[1] == wanted && cols[3] == "0A"
                })
            })
            .unwrap_or(false)
    })
}

/// Stops a child by its pid: SIGTERM, up to 3 s, then SIGKILL; always reaped. With `group`, the
/// whole process group it leads.
pub fn stop(child: &mut Child, group: bool) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pid = child.id() as libc::pid_t;
    let target = if group { -pid } else { pid };
    // SAFETY: kill(2) with a pid (or group) this test started; no memory is involved.
    unsafe { libc::kill(target, libc::SIGTERM) };
    let exited = wait_until(Duration::from_secs(3), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        // SAFETY: as above.
        unsafe { libc::kill(target, libc::SIGKILL) };
        let _ = child.wait();
    }
}
