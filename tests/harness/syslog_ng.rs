//! A real syslog-ng (Debian's, unpacked by `make test` into `.syslog-ng/root`), receiving over TCP
//! with its `syslog()` source (octet counting, RFC 5424) and writing each message as JSON.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, is_listening, project_root, stop, test_dir, wait_until};

/// One message as syslog-ng parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub pri: String,
    pub host: String,
    pub program: String,
    pub msgid: String,
    pub sdata: String,
    pub msg: String,
}

pub struct SyslogNg {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

fn root() -> PathBuf {
    project_root().join(".syslog-ng/root")
}

/// `usr/lib/syslog-ng/<version>`: where its modules are.
fn module_dir(root: &Path) -> PathBuf {
    let lib = root.join("usr/lib/syslog-ng");
    std::fs::read_dir(&lib)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run `make test`, which unpacks syslog-ng",
                lib.display()
            )
        })
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .expect("a versioned module folder")
}

impl SyslogNg {
    /// Listens on 127.0.0.1 with `log-msg-size` bytes per message (syslog-ng's default: 64 KiB).
    pub fn start(log_msg_size: usize) -> SyslogNg {
        let root = root();
        let binary = root.join("usr/sbin/syslog-ng");
        assert!(
            binary.exists(),
            "{} not found: run `make test`, which unpacks syslog-ng",
            binary.display()
        );
        let dir = test_dir("syslog-ng");
        let port = free_port();
        let d = dir.display();
        let config = format!(
            r#"@version: 3.38
options {{ keep-hostname(yes); create-dirs(yes); }};
source s_net {{ syslog(ip("127.0.0.1") port({port}) transport("tcp") log-msg-size({log_msg_size})); }};
destination d_json {{ file("{d}/received.jsonl"
  template("$(format-json pri=${{PRI}} host=${{HOST}} program=${{PROGRAM}} msgid=${{MSGID}} sdata=${{SDATA}} msg=${{MSG}})\n")); }};
log {{ source(s_net); destination(d_json); flags(flow-control); }};
"#
        );
        std::fs::write(dir.join("syslog-ng.conf"), config).expect("write syslog-ng.conf");
        let arch = std::env::consts::ARCH;
        let library_path = [
            root.join("usr/lib/syslog-ng"),
            root.join(format!("usr/lib/{arch}-linux-gnu")),
            root.join(format!("lib/{arch}-linux-gnu")),
        ]
        .map(|p| p.display().to_string())
        .join(":");
        let log = File::create(dir.join("stderr.log")).expect("stderr log");
        let child = Command::new(&binary)
            .arg("-F")
            .arg("-f")
            .arg(dir.join("syslog-ng.conf"))
            .arg(format!("--module-path={}", module_dir(&root).display()))
            .arg("-R")
            .arg(dir.join("syslog-ng.persist"))
            .arg("-p")
            .arg(dir.join("syslog-ng.pid"))
            .arg("-c")
            .arg(dir.join("syslog-ng.ctl"))
            .env("LD_LIBRARY_PATH", library_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start syslog-ng");
        let mut syslog_ng = SyslogNg { port, dir, child };
        if !wait_until(Duration::from_secs(30), || is_listening(port)) {
            stop(&mut syslog_ng.child, false);
            panic!("syslog-ng did not listen on {port}: {}", syslog_ng.stderr());
        }
        syslog_ng
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// What syslog-ng has written so far (complete lines only).
    pub fn received(&self) -> Vec<Parsed> {
        let text = std::fs::read_to_string(self.dir.join("received.jsonl")).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("syslog-ng wrote {line:?}: {e}"));
                let field = |name: &str| v[name].as_str().unwrap_or_default().to_owned();
                Parsed {
                    pri: field("pri"),
                    host: field("host"),
                    program: field("program"),
                    msgid: field("msgid"),
                    sdata: field("sdata"),
                    msg: field("msg"),
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages are stored or `timeout` passes; returns what is stored.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Parsed> {
        wait_until(timeout, || self.received().len() >= n);
        self.received()
    }
}

impl Drop for SyslogNg {
    fn drop(&mut self) {
        stop(&mut self.child, false);
    }
}
