//! A real rsyslogd (Debian package) in the foreground, listening on 127.0.0.1 for plain TCP and for
//! TLS (and, when asked, RELP over TCP and TLS), storing every message it receives as one JSON line.
//!
//! rsyslog escapes control characters of received messages (LF becomes `#012`, TAB `#011`) in both
//! `msg` and `rawmsg`.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::certs::{self, TestPki};
use super::{free_port, is_listening, stop, test_dir, wait_until};

pub struct RsyslogOptions {
    /// rsyslog's `maxMessageSize`.
    pub max_message_size: usize,
    /// `gtls` (GnuTLS, negotiates TLS 1.2 here) or `ossl` (OpenSSL, TLS 1.3).
    pub tls_driver: &'static str,
    /// `anon`, or `x509/certvalid` to require a client certificate.
    pub tls_auth_mode: &'static str,
    /// gtls only: a GnuTLS priority string for the TLS input, e.g. `NORMAL:-VERS-TLS1.3` to
    /// offer TLS 1.2 only.
    pub gnutls_priority: Option<&'static str>,
    /// SANs of the server certificate.
    pub names: Vec<String>,
    /// Serve an expired server certificate.
    pub expired_certificate: bool,
    /// Serve a self-signed server certificate (no CA).
    pub self_signed_certificate: bool,
    /// Also listen with imrelp (package rsyslog-relp): plain, and TLS requiring a client
    /// certificate signed by the test CA.
    pub relp: bool,
    /// Direct main and ruleset queues: a message is written to the file before its input returns,
    /// so a RELP acknowledgement means "written".
    pub direct_queues: bool,
}

impl Default for RsyslogOptions {
    fn default() -> Self {
        RsyslogOptions {
            max_message_size: 64 * 1024,
            tls_driver: "gtls",
            tls_auth_mode: "anon",
            gnutls_priority: None,
            names: vec!["localhost".into(), "127.0.0.1".into()],
            expired_certificate: false,
            self_signed_certificate: false,
            relp: false,
            direct_queues: false,
        }
    }
}

/// One message as rsyslog stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub pri: String,
    pub severity: u8,
    pub facility: u8,
    pub timestamp: String,
    pub hostname: String,
    pub app_name: String,
    pub msgid: String,
    pub sd: String,
    pub msg: String,
    pub raw: String,
}

pub struct Rsyslog {
    pub tcp_port: u16,
    pub tls_port: u16,
    /// imrelp ports (0 unless `RsyslogOptions::relp`).
    pub relp_port: u16,
    pub relp_tls_port: u16,
    pub pki: TestPki,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Rsyslog {
    pub fn start() -> Rsyslog {
        Rsyslog::start_with(RsyslogOptions::default())
    }

    pub fn start_with(options: RsyslogOptions) -> Rsyslog {
        let dir = test_dir("rsyslog");
        let names: Vec<&str> = options.names.iter().map(String::as_str).collect();
        let pki = if options.self_signed_certificate {
            certs::generate_self_signed(&names)
        } else if options.expired_certificate {
            certs::generate_expired(&names)
        } else {
            certs::generate(&names)
        };
        std::fs::write(dir.join("ca.pem"), &pki.ca_pem).expect("write ca.pem");
        std::fs::write(dir.join("server.pem"), &pki.server_cert_pem).expect("write server.pem");
        std::fs::write(dir.join("server.key"), &pki.server_key_pem).expect("write server.key");
        std::fs::create_dir_all(dir.join("work")).expect("create work dir");
        let (tcp_port, tls_port) = (free_port(), free_port());
        let (relp_port, relp_tls_port) = if options.relp {
            (free_port(), free_port())
        } else {
            (0, 0)
        };
        let d = dir.display();
        let relp = if options.relp {
            format!(
                r#"module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="{relp_port}" ruleset="store")
input(type="imrelp" address="127.0.0.1" port="{relp_tls_port}" ruleset="store" tls="on"
      tls.caCert="{d}/ca.pem" tls.myCert="{d}/server.pem" tls.myPrivKey="{d}/server.key"
      tls.authMode="certvalid")
"#
            )
        } else {
            String::new()
        };
        let (main_queue, ruleset_queue) = if options.direct_queues {
            (
                "main_queue(queue.type=\"Direct\")\n",
                " queue.type=\"Direct\"",
            )
        } else {
            ("", "")
        };
        let config = format!(
            r#"global(workDirectory="{d}/work" maxMessageSize="{max}"
       defaultNetstreamDriverCAFile="{d}/ca.pem"
       defaultNetstreamDriverCertFile="{d}/server.pem"
       defaultNetstreamDriverKeyFile="{d}/server.key")
module(load="imtcp" maxSessions="50")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" name="tcp" ruleset="store")
input(type="imtcp" address="127.0.0.1" port="{tls_port}" name="tls" ruleset="store"
      streamDriver.name="{driver}" streamDriver.mode="1" streamDriver.authMode="{auth}"{priority})
{relp}{main_queue}template(name="json" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}}
ruleset(name="store"{ruleset_queue}) {{
  action(type="omfile" file="{d}/received.jsonl" template="json" flushOnTXEnd="on" asyncWriting="off")
}}
"#,
            max = options.max_message_size,
            driver = options.tls_driver,
            auth = options.tls_auth_mode,
            priority = options
                .gnutls_priority
                .map(|p| format!(" gnutlsPriorityString=\"{p}\""))
                .unwrap_or_default(),
        );
        std::fs::write(dir.join("rsyslog.conf"), config).expect("write rsyslog.conf");
        let mut rsyslog = Rsyslog {
            tcp_port,
            tls_port,
            relp_port,
            relp_tls_port,
            pki,
            dir,
            child: None,
        };
        rsyslog.launch();
        rsyslog
    }

    fn launch(&mut self) {
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("stderr.log"))
            .expect("open stderr.log");
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("rsyslogd not found: run `make test`, which installs rsyslog");
        self.child = Some(child);
        let ports = self.ports();
        let ready = wait_until(Duration::from_secs(30), || {
            ports.iter().all(|p| is_listening(*p))
        });
        assert!(
            ready,
            "rsyslogd did not listen on {ports:?}: {}",
            self.stderr()
        );
    }

    fn ports(&self) -> Vec<u16> {
        [
            self.tcp_port,
            self.tls_port,
            self.relp_port,
            self.relp_tls_port,
        ]
        .into_iter()
        .filter(|p| *p != 0)
        .collect()
    }

    /// Kills rsyslogd with SIGKILL (no chance to finish anything) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the pid of the child this harness started; no memory involved.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
            let _ = child.wait();
        }
    }

    /// Starts rsyslogd again on the same ports and files after [`Rsyslog::kill`] or
    /// [`Rsyslog::stop`].
    pub fn start_again(&mut self) {
        let ports = self.ports();
        wait_until(Duration::from_secs(5), || {
            ports.iter().all(|p| !is_listening(*p))
        });
        let _ = std::fs::remove_file(self.dir.join("rsyslogd.pid"));
        self.launch();
    }

    /// Lines rsyslog has written to its output file so far (cheaper than parsing them).
    pub fn stored_lines(&self) -> usize {
        std::fs::read(self.dir.join("received.jsonl"))
            .map_or(0, |bytes| bytes.iter().filter(|b| **b == b'\n').count())
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, false);
        }
    }

    /// Stops rsyslogd and starts it again on the same ports and files.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    pub fn received(&self) -> Vec<Received> {
        self.read_received(false).0
    }

    /// What rsyslog stored, and how many lines were cut short (an rsyslogd killed in the middle of
    /// a write leaves part of a line, which the next instance continues).
    pub fn received_after_kill(&self) -> (Vec<Received>, usize) {
        self.read_received(true)
    }

    fn read_received(&self, skip_broken: bool) -> (Vec<Received>, usize) {
        let bytes = std::fs::read(self.dir.join("received.jsonl")).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        // rsyslog may be writing the last line right now: only complete lines count.
        let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        let mut broken = 0;
        let received = complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|line| {
                let v: serde_json::Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(_) if skip_broken => {
                        broken += 1;
                        return None;
                    }
                    Err(e) => panic!("rsyslog wrote a line that is not JSON ({e}): {line}"),
                };
                let text = |k: &str| match &v[k] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                let number = |k: &str| text(k).parse::<u8>().unwrap_or(u8::MAX);
                Some(Received {
                    pri: text("pri"),
                    severity: number("severity"),
                    facility: number("facility"),
                    timestamp: text("timestamp"),
                    hostname: text("hostname"),
                    app_name: text("app_name"),
                    msgid: text("msgid"),
                    sd: text("sd"),
                    msg: text("msg"),
                    raw: text("raw"),
                })
            })
            .collect();
        (received, broken)
    }

    /// Waits until at least `n` messages were stored or `timeout` passes, then returns what is there
    /// (waiting a little longer, so a surplus shows).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        wait_until(timeout, || self.received().len() >= n);
        std::thread::sleep(Duration::from_millis(200));
        self.received()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}
