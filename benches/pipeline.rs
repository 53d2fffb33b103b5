//! End-to-end throughput against the physical limit, cold start, peak memory and package size.
//! `make bench` runs it; it prints a table and a final machine-readable `BENCH …` line, and writes
//! the report to `$BENCH_REPORT` when set. `cargo bench --bench pipeline -- relp` runs only the
//! rows whose name contains `relp` and the TCP rows they are compared with. With `BENCH_RUNS=N`
//! each row runs exactly N times (after its warm-up), so that work can be counted under a profiler
//! (`valgrind --tool=callgrind`): instructions per invocation hold where times on a shared machine
//! do not.

#[path = "common/workload.rs"]
mod workload;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_syslog_forwarder::config::DEFAULT_RELP_WINDOW;
use aws_syslog_forwarder::config::{Destination, FilterSettings, TlsSettings, Transport};
use aws_syslog_forwarder::filters::{Filters, Rule};
use aws_syslog_forwarder::findings::{FindingsSource, StaticFindings};
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::sources::s3::S3Objects;
use aws_syslog_forwarder::syslog::SyslogSettings;
use aws_syslog_forwarder::transport::{RelpSender, Sink, SyslogSender, TlsClient};
use workload::Payload;

const BINARY: &str = env!("CARGO_BIN_EXE_aws-syslog-forwarder");

/// A loopback receiver that reads and discards, counting bytes: the far end of every row.
struct DiscardSink {
    port: u16,
    received: Arc<AtomicU64>,
}

impl DiscardSink {
    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> DiscardSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let received = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = Arc::clone(&counter);
                let tls = tls.clone();
                std::thread::spawn(move || discard(stream, tls, &counter));
            }
        });
        DiscardSink { port, received }
    }

    fn wait_for(&self, total: u64) {
        while self.received.load(Ordering::Acquire) < total {
            std::hint::spin_loop();
        }
    }
}

fn discard(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, counter: &AtomicU64) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut reader: Box<dyn Read> = match tls {
        None => Box::new(stream),
        Some(config) => {
            let Ok(connection) = rustls::ServerConnection::new(config) else {
                return;
            };
            // Reads the socket in large pieces (rustls alone asks for 4 KiB at a time), as a
            // receiver built for throughput would, so that the row measures the sender.
            let buffered = BufferedSocket(std::io::BufReader::with_capacity(256 * 1024, stream));
            Box::new(rustls::StreamOwned::new(connection, buffered))
        }
    };
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            return;
        }
        counter.fetch_add(n as u64, Ordering::Release);
    }
}

/// A socket read through a large buffer and written directly (TLS handshake answers).
struct BufferedSocket(std::io::BufReader<TcpStream>);

impl Read for BufferedSocket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for BufferedSocket {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.get_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.get_mut().flush()
    }
}

/// A loopback RELP receiver that answers `open` with librelp's offers and every other frame
/// `200 OK` (`close` with an empty answer), in order, one write per read: the far end of the RELP
/// rows.
struct RelpAckSink {
    port: u16,
}

impl RelpAckSink {
    fn start() -> RelpAckSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || acknowledge(stream));
            }
        });
        RelpAckSink { port }
    }
}

fn acknowledge(mut stream: TcpStream) {
    const OFFERS: &str = "200 OK\nrelp_version=0\nrelp_software=bench,1,-\ncommands=syslog\n";
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 256 * 1024];
    let (mut filled, mut answers) = (0, Vec::new());
    loop {
        let Ok(n) = stream.read(&mut buf[filled..]) else {
            return;
        };
        if n == 0 {
            return;
        }
        filled += n;
        let mut at = 0;
        // Each complete frame `TXNR SP COMMAND SP LEN [SP DATA] LF` gets its answer.
        while let Some((txnr, command, end)) = relp_frame(&buf[at..filled]) {
            let reply = match command {
                b"open" => OFFERS,
                b"close" => "",
                _ => "200 OK",
            };
            answers.extend_from_slice(txnr);
            if reply.is_empty() {
                answers.extend_from_slice(b" rsp 0\n");
            } else {
                answers.extend_from_slice(format!(" rsp {} {reply}\n", reply.len()).as_bytes());
            }
            at += end;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        if !answers.is_empty() && stream.write_all(&answers).is_err() {
            return;
        }
        answers.clear();
    }
}

/// (txnr, command, frame length) of the complete frame at the start of `bytes`.
fn relp_frame(bytes: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let space = |from: usize| {
        bytes[from..]
            .iter()
            .position(|b| *b == b' ')
            .map(|p| from + p)
    };
    let txnr_end = space(0)?;
    let command_end = space(txnr_end + 1)?;
    let digits = bytes[command_end + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let length_end = command_end + 1 + digits;
    let length: usize = std::str::from_utf8(&bytes[command_end + 1..length_end])
        .ok()?
        .parse()
        .ok()?;
    let end = if length == 0 {
        length_end + 1
    } else {
        length_end + 1 + length + 1
    };
    (bytes.len() >= end).then(|| (&bytes[..txnr_end], &bytes[txnr_end + 1..command_end], end))
}

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server cert");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

fn forwarder<F: FindingsSource>(findings: F, port: u16, ca_pem: Option<&str>) -> Forwarder<F> {
    let destination = destination(port, ca_pem);
    let sender = SyslogSender::new(&destination).expect("sender");
    Forwarder::new(settings(), findings, Sink::Syslog(Box::new(sender)))
}

fn relp_forwarder<F: FindingsSource>(findings: F, port: u16) -> Forwarder<F> {
    let destination = Destination {
        transport: Transport::Relp {
            window: DEFAULT_RELP_WINDOW,
        },
        ..destination(port, None)
    };
    let sender = RelpSender::new(&destination, DEFAULT_RELP_WINDOW).expect("sender");
    Forwarder::new(settings(), findings, Sink::Relp(Box::new(sender)))
}

fn settings() -> SyslogSettings {
    SyslogSettings {
        organisation: "Acme".into(),
        ..SyslogSettings::default()
    }
}

fn destination(port: u16, ca_pem: Option<&str>) -> Destination {
    Destination {
        host: "127.0.0.1".into(),
        port,
        alternates: Vec::new(),
        failback: Duration::from_secs(300),
        retry_for: Duration::from_secs(10),
        transport: Transport::Tcp,
        tls: ca_pem.map(|ca| TlsSettings {
            ca_pem: Some(ca.to_owned()),
            server_name: "localhost".into(),
            client_auth: None,
            pins: Vec::new(),
        }),
        connect_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(30),
    }
}

/// Median wall time of `run` over at least 5 and at most 40 runs (about 3 s), after one warm-up.
/// `BENCH_RUNS=N`: exactly N timed runs of each row, whatever they take (for counting work under
/// a profiler such as callgrind, where time says little).
fn fixed_runs() -> Option<usize> {
    std::env::var("BENCH_RUNS").ok()?.parse().ok()
}

fn median(mut run: impl FnMut()) -> Duration {
    run();
    let started = Instant::now();
    let mut times = Vec::new();
    let enough = |n: usize| match fixed_runs() {
        Some(runs) => n >= runs,
        None => n >= 5 && (n >= 40 || started.elapsed() >= Duration::from_secs(3)),
    };
    while !enough(times.len()) {
        let t = Instant::now();
        run();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// CPU time (user and system) the calling thread has used. The forwarder runs on a current-thread
/// runtime, so this is its work, whatever the receivers (threads of their own) do.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only the timespec it is handed, which lives through the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn median_of(mut times: Vec<Duration>) -> Option<Duration> {
    times.sort();
    times.get(times.len() / 2).copied()
}

/// Medians of `base` and `other` run alternately, after one warm-up each: both see the same
/// machine, so their ratio holds even when the load changes during the run.
fn paired_medians(mut base: impl FnMut(), mut other: impl FnMut()) -> (Duration, Duration) {
    base();
    other();
    let started = Instant::now();
    let (mut bases, mut others) = (Vec::new(), Vec::new());
    let enough = |n: usize| match fixed_runs() {
        Some(runs) => n >= runs,
        None => n >= 9 && (n >= 60 || started.elapsed() >= Duration::from_secs(6)),
    };
    while !enough(bases.len()) {
        let t = Instant::now();
        base();
        bases.push(t.elapsed());
        let t = Instant::now();
        other();
        others.push(t.elapsed());
    }
    bases.sort();
    others.sort();
    (bases[bases.len() / 2], others[others.len() / 2])
}

struct Row {
    name: String,
    time: Duration,
    log_bytes: usize,
    events: usize,
    /// The limit row's median measured alternately with this row (same machine state), for the
    /// ratio of the two.
    limit: Option<Duration>,
    /// Pipeline rows: the median CPU time (user and system) of the thread that ran the forwarder,
    /// which is what a Lambda function's CPU share stretches; the wall time also holds the waits
    /// for the receiver.
    cpu: Option<Duration>,
}

impl Row {
    fn mb_per_s(&self) -> f64 {
        self.log_bytes as f64 / 1e6 / self.time.as_secs_f64()
    }
    fn events_per_s(&self) -> f64 {
        self.events as f64 / self.time.as_secs_f64()
    }
}

fn gunzip(compressed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compressed.len() * 10);
    flate2::read::MultiGzDecoder::new(compressed)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

fn log_rows(
    name: &str,
    payload: &Payload,
    sinks: &Sinks,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let row = |stage: &str, time| Row {
        name: format!("{name}/{stage}"),
        time,
        log_bytes: payload.log_bytes,
        events: payload.events,
        limit: None,
        cpu: None,
    };
    let mut rows = Vec::new();
    let tcp = &sinks.tcp;
    let mut limit_stream = TcpStream::connect(("127.0.0.1", tcp.port)).expect("connect sink");
    let mut limit = || {
        let before = tcp.received.load(Ordering::Acquire);
        let text = gunzip(&payload.compressed);
        limit_stream.write_all(&text).expect("write");
        tcp.wait_for(before + text.len() as u64);
    };
    let paired = wanted("limit");
    let plain = forwarder(StaticFindings::default(), tcp.port, None);
    if wanted("decode") {
        rows.push(row(
            "decode",
            median(|| {
                drop(
                    runtime
                        .block_on(plain.records(&payload.event))
                        .expect("decode"),
                )
            }),
        ));
    }
    if wanted("format") {
        let records = runtime
            .block_on(plain.records(&payload.event))
            .expect("decode");
        rows.push(row(
            "format",
            median(|| drop(plain.batch(&records).expect("format"))),
        ));
    }
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);
    // Each pipeline row is measured alternately with the limit row, so that their ratio holds on
    // a machine whose load changes during the run; the limit row shown is the first pairing's.
    let mut pipeline = |stage: &str, forwarder: &Forwarder<StaticFindings>| {
        if !wanted(stage) {
            return;
        }
        let mut cpu_times = Vec::new();
        let mut run = || {
            let cpu_before = thread_cpu();
            runtime
                .block_on(forwarder.forward(&payload.event, deadline()))
                .expect("forward");
            cpu_times.push(thread_cpu() - cpu_before);
        };
        let (limit_time, time) = if paired {
            let (limit_time, time) = paired_medians(&mut limit, &mut run);
            (Some(limit_time), time)
        } else {
            (None, median(&mut run))
        };
        // The first run warmed up.
        let cpu = median_of(cpu_times.split_off(1.min(cpu_times.len())));
        if let Some(limit_time) = limit_time
            && !rows.iter().any(|r: &Row| r.name.ends_with("/limit"))
        {
            rows.insert(0, row("limit", limit_time));
        }
        rows.push(Row {
            limit: limit_time,
            cpu,
            ..row(stage, time)
        });
    };
    pipeline("pipeline_tcp", &plain);
    let secure = forwarder(
        StaticFindings::default(),
        sinks.tls.port,
        Some(&sinks.pki.ca_pem),
    );
    pipeline("pipeline_tls", &secure);
    // Every message answered by the receiving application, the default window in flight.
    let relp = relp_forwarder(StaticFindings::default(), sinks.relp.port);
    pipeline("pipeline_relp", &relp);
    // What TLS itself costs: the limit's gunzip and write, the write encrypted by the same rustls
    // client the forwarder uses. Beside the plain limit, like the pipeline rows.
    if paired && wanted("limit_tls") {
        let tls = &sinks.tls;
        let mut stream = tls_client(tls.port, &sinks.pki.ca_pem);
        let mut limit_tls = || {
            let before = tls.received.load(Ordering::Acquire);
            let text = gunzip(&payload.compressed);
            stream.write_all(&text).expect("write");
            stream.flush().expect("flush");
            tls.wait_for(before + text.len() as u64);
        };
        let (limit_time, time) = paired_medians(&mut limit, &mut limit_tls);
        rows.push(Row {
            limit: Some(limit_time),
            ..row("limit_tls", time)
        });
    }
    rows
}

/// A blocking rustls client of the TLS sink with the forwarder's own client configuration (the
/// bench's CA), so the TLS limit encrypts as the forwarder does.
fn tls_client(port: u16, ca_pem: &str) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let settings = destination(port, Some(ca_pem)).tls.expect("TLS settings");
    let client = TlsClient::new(&settings).expect("TLS client");
    let connection = rustls::ClientConnection::new(
        Arc::clone(client.connector.config()),
        client.server_name.clone(),
    )
    .expect("client");
    let socket = TcpStream::connect(("127.0.0.1", port)).expect("connect TLS sink");
    rustls::StreamOwned::new(connection, socket)
}

/// The far ends of the rows.
struct Sinks {
    pki: Pki,
    tcp: DiscardSink,
    tls: DiscardSink,
    relp: RelpAckSink,
}

/// A filtered pipeline's cost over the same run's unfiltered one.
struct Overhead {
    what: String,
    /// `other / base - 1`, from medians measured alternately.
    ratio: f64,
    /// The unfiltered pipeline's median in the same pairing.
    base: Duration,
    target: &'static str,
}

/// The CloudTrail pipeline (TCP) with filters or redaction on, each against the unfiltered one.
fn filter_rows(payload: &Payload, tcp: &DiscardSink) -> (Vec<Row>, Vec<Overhead>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);
    let plain = forwarder(StaticFindings::default(), tcp.port, None);
    let variants: [(&str, &'static str, &'static str, FilterSettings); 3] = [
        (
            // S3 and KMS data events are the usual CloudTrail noise; this workload has none, so
            // every record is scanned and every record is still sent: the filter's whole cost.
            "pipeline_tcp_exclude",
            "exclude filter (matches no record)",
            "≤ 15 %",
            FilterSettings {
                exclude: Some(r#""eventSource":"(?:s3|kms)\.amazonaws\.com""#.into()),
                ..FilterSettings::default()
            },
        ),
        (
            "pipeline_tcp_redact_all",
            "every built-in redaction rule",
            "≤ 35 %",
            FilterSettings {
                redact: Rule::ALL.iter().map(|r| r.name().to_owned()).collect(),
                ..FilterSettings::default()
            },
        ),
        (
            // README's recipe; it drops the Get*/Describe* calls of the workload, which saves
            // their formatting and sending.
            "pipeline_tcp_exclude_read_only",
            "read-only calls excluded (README recipe, net)",
            "",
            FilterSettings {
                exclude: Some(READ_ONLY_CALLS.into()),
                ..FilterSettings::default()
            },
        ),
    ];
    let row = |stage: &str, time| Row {
        name: format!("cloudtrail/{stage}"),
        time,
        log_bytes: payload.log_bytes,
        events: payload.events,
        limit: None,
        cpu: None,
    };
    let (mut rows, mut overheads) = (Vec::new(), Vec::new());
    for (stage, what, target, settings) in variants {
        let filtered = forwarder(StaticFindings::default(), tcp.port, None)
            .with_filters(Filters::from_config(&settings).expect("valid filters"));
        let dropped = runtime
            .block_on(filtered.records(&payload.event))
            .map(|records| payload.events - records.len())
            .expect("decode");
        let (base, other) = paired_medians(
            || {
                runtime
                    .block_on(plain.forward(&payload.event, deadline()))
                    .expect("forward");
            },
            || {
                runtime
                    .block_on(filtered.forward(&payload.event, deadline()))
                    .expect("forward");
            },
        );
        rows.push(row(stage, other));
        let what = match dropped {
            0 => what.to_owned(),
            n => format!(
                "{what}; it drops {:.0} % of the records",
                n as f64 * 100.0 / payload.events as f64
            ),
        };
        overheads.push(Overhead {
            what,
            ratio: other.as_secs_f64() / base.as_secs_f64() - 1.0,
            base,
            target,
        });
    }
    (rows, overheads)
}

/// README, "Filters and redaction": drop read-only CloudTrail calls except ECR scan findings.
const READ_ONLY_CALLS: &str = r#""eventName":\s*"(?:Get|List|Describe(?:[^I]|I[^m]|Im[^a]|Ima[^g]|Imag[^e]|Image[^S]|ImageS[^c]|ImageSc[^a]|ImageSca[^n]|ImageScan[^F]|ImageScanF[^i]|ImageScanFi[^n]|ImageScanFin[^d]|ImageScanFind[^i]|ImageScanFindi[^n]|ImageScanFindin[^g]|ImageScanFinding[^s]|ImageScanFindings[^"]))"#;

fn overhead_lines(overheads: &[Overhead]) -> String {
    overheads
        .iter()
        .map(|o| {
            format!(
                "| CloudTrail, TCP, over the unfiltered pipeline: {} | {:+.1} % | {} |\n",
                o.what,
                o.ratio * 100.0,
                o.target
            )
        })
        .collect()
}

fn findings_rows(tcp: &DiscardSink) -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let event = workload::scan_event();
    let forwarder = forwarder(workload::findings(2_000), tcp.port, None);
    let records = runtime
        .block_on(forwarder.records(&event))
        .expect("findings");
    let bytes: usize = records.iter().map(|r| r.payload.len()).sum();
    let row = |stage: &str, time| Row {
        name: format!("ecr_2000_findings/{stage}"),
        time,
        log_bytes: bytes,
        events: records.len(),
        limit: None,
        cpu: None,
    };
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);
    vec![
        row(
            "decode",
            median(|| {
                drop(
                    runtime
                        .block_on(forwarder.records(&event))
                        .expect("findings"),
                )
            }),
        ),
        row(
            "format",
            median(|| drop(forwarder.batch(&records).expect("format"))),
        ),
        row(
            "pipeline_tcp",
            median(|| {
                runtime
                    .block_on(forwarder.forward(&event, deadline()))
                    .expect("forward");
            }),
        ),
    ]
}

fn lambda_env(command: &mut Command, runtime_api: &str, sink_port: u16) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "forwarder")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("ORGANISATION", "Acme")
        .env("SYSLOG_HOST", "127.0.0.1")
        .env("SYSLOG_PORT", sink_port.to_string())
        .env("SYSLOG_TLS", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
}

/// Time from process start to the first Runtime API `next` request, against a loopback stub.
fn init_ms(sink_port: u16) -> f64 {
    let mut times = Vec::new();
    for _ in 0..21 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let api = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let mut command = Command::new(BINARY);
        lambda_env(&mut command, &api, sink_port);
        let started = Instant::now();
        let mut child = command.spawn().expect("start the binary");
        let (mut stream, _) = listener.accept().expect("runtime API request");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).expect("read request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let elapsed = started.elapsed();
        assert!(
            String::from_utf8_lossy(&request)
                .starts_with("GET /2018-06-01/runtime/invocation/next"),
            "unexpected first request"
        );
        let _ = child.kill();
        let _ = child.wait();
        times.push(elapsed.as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Peak RSS (MiB) of the release binary replaying `event` (written to `name`) to the sink.
fn peak_rss_mib(event: &str, name: &str, sink_port: u16) -> f64 {
    peak_rss_with(event, name, sink_port, &[])
}

/// [`peak_rss_mib`] with more environment for the binary (an S3 endpoint, say).
fn peak_rss_with(event: &str, name: &str, sink_port: u16, env: &[(&str, String)]) -> f64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let file = dir.join(name);
    std::fs::write(&file, event).expect("write payload");
    // GNU time forks the binary from its own small process: a child spawned from this one would
    // count this process's pages in its peak (Linux records the pre-exec memory as well).
    let report = dir.join(format!("{name}.maxrss"));
    let mut command = Command::new("/usr/bin/time");
    lambda_env(&mut command, "", sink_port);
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(BINARY)
        .arg("replay")
        .arg(&file);
    let status = command
        .status()
        .expect("run /usr/bin/time (Debian package `time`)");
    assert!(status.success(), "replay of {name} failed");
    let kib: f64 = std::fs::read_to_string(&report)
        .expect("GNU time's report")
        .trim()
        .parse()
        .expect("max RSS in KiB");
    let _ = std::fs::remove_file(&file);
    kib / 1024.0
}

/// A small stand-in for S3 on loopback: every GET (any bucket, any key) is answered with the same
/// object, on kept-alive connections as the SDK expects.
struct ObjectStub {
    endpoint: String,
}

impl ObjectStub {
    fn start(object: Arc<Vec<u8>>) -> ObjectStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let object = Arc::clone(&object);
                std::thread::spawn(move || serve_object(stream, &object));
            }
        });
        ObjectStub {
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The environment that points the SDK chain of the release binary at the stub.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "bench".into()),
            ("AWS_SECRET_ACCESS_KEY", "bench".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "bench", "bench", None, None, "bench",
            ))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

fn serve_object(mut stream: TcpStream, object: &[u8]) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        };
        request.drain(..end);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
             Last-Modified: Sun, 22 Nov 2026 10:20:00 GMT\r\nETag: \"bench\"\r\n\r\n",
            object.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(object).is_err() {
            return;
        }
    }
}

/// An S3 event notification naming one object, as S3 invokes the function.
fn s3_notification(key: &str, size: usize) -> String {
    serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
        "awsRegion": "us-east-1", "eventTime": "2026-11-22T10:20:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "org-trail-logs"}, "object": {"key": key, "size": size}}}]})
    .to_string()
}

/// The S3 rows: a 100 MB (decompressed) CloudTrail log file forwarded in-process from the stand-in
/// for S3, and the peak RSS of the release binary replaying the notifications of it and of a
/// 200 MB one.
struct S3Rows {
    row: Row,
    rss_100: f64,
    rss_200: f64,
    big_bytes: usize,
}

fn s3_rows(tcp: &DiscardSink) -> S3Rows {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let key = "AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail/us-east-1/2026/11/22/trail.json.gz";
    let object = workload::cloudtrail_object(100_000_000);
    let compressed = object.compressed.len();
    let stub = ObjectStub::start(Arc::new(object.compressed));
    let event = s3_notification(key, compressed);
    let plain = forwarder(StaticFindings::default(), tcp.port, None)
        .with_objects(S3Objects::with_client(stub.client()));
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(300);
    let time = median(|| {
        let outcome = runtime
            .block_on(plain.forward(&event, deadline()))
            .expect("forward");
        assert_eq!(
            outcome.delivered, object.events,
            "every record of the object"
        );
    });
    let rss_100 = peak_rss_with(&event, "s3-100mb.json", tcp.port, &stub.env());
    let row = Row {
        name: format!(
            "s3_cloudtrail_100mb/pipeline_tcp ({:.1} MB gzip object)",
            compressed as f64 / 1e6
        ),
        time,
        log_bytes: object.decompressed_bytes,
        events: object.events,
        limit: None,
        cpu: None,
    };
    let big = workload::cloudtrail_object(200_000_000);
    let big_event = s3_notification(key, big.compressed.len());
    let big_bytes = big.decompressed_bytes;
    let big_stub = ObjectStub::start(Arc::new(big.compressed));
    let rss_200 = peak_rss_with(&big_event, "s3-200mb.json", tcp.port, &big_stub.env());
    S3Rows {
        row,
        rss_100,
        rss_200,
        big_bytes,
    }
}

fn s3_report(s3: &S3Rows) -> String {
    format!(
        "\n### S3 objects\n\n\
         A CloudTrail log file (`{{\"Records\":[…]}}`, gzip) of CloudTrail-like records served by a \
         loopback stand-in for S3 and read by the SDK client as it arrives. MB/s of decompressed data \
         in-process; peak RSS of the release binary replaying the S3 notification.\n\n\
         | row | median | MB/s | events/s | peak RSS |\n|---|---:|---:|---:|---:|\n\
         | {} | {:.0} ms | {:.1} | {:.0} | {:.1} MiB |\n\
         | s3_cloudtrail_{:.0}mb/replay (peak RSS only) | | | | {:.1} MiB (target ≤ 48 MiB) |\n",
        s3.row.name,
        s3.row.time.as_secs_f64() * 1_000.0,
        s3.row.mb_per_s(),
        s3.row.events_per_s(),
        s3.rss_100,
        s3.big_bytes as f64 / 1e6,
        s3.rss_200,
    )
}

/// One payload size of the memory rows.
struct SizeRow {
    decompressed_mib: f64,
    compressed_mib: f64,
    events: usize,
    peak_rss_mib: f64,
    ours_mb_s: f64,
    limit_mb_s: f64,
}

/// Peak RSS and throughput against decompressed size: repetitive CloudTrail records (a burst of one
/// call compresses about 60:1), replayed by the release binary (RSS) and forwarded in-process (MB/s
/// of decompressed data), beside the limit row of the same payload.
fn size_rows(tcp: &DiscardSink) -> Vec<SizeRow> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let plain = forwarder(StaticFindings::default(), tcp.port, None);
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(120);
    let mut limit_stream = TcpStream::connect(("127.0.0.1", tcp.port)).expect("connect sink");
    [1usize, 8, 32, 60]
        .into_iter()
        .map(|mib| {
            let payload = workload::repetitive_cloudtrail(mib << 20);
            let rss = peak_rss_mib(
                &payload.event,
                &format!("repetitive-{mib}mib.json"),
                tcp.port,
            );
            let ours = median(|| {
                runtime
                    .block_on(plain.forward(&payload.event, deadline()))
                    .expect("forward");
            });
            let limit = median(|| {
                let before = tcp.received.load(Ordering::Acquire);
                let text = gunzip(&payload.compressed);
                limit_stream.write_all(&text).expect("write");
                tcp.wait_for(before + text.len() as u64);
            });
            let mb = payload.decompressed_bytes as f64 / 1e6;
            SizeRow {
                decompressed_mib: payload.decompressed_bytes as f64 / 1_048_576.0,
                compressed_mib: payload.compressed.len() as f64 / 1_048_576.0,
                events: payload.events,
                peak_rss_mib: rss,
                ours_mb_s: mb / ours.as_secs_f64(),
                limit_mb_s: mb / limit.as_secs_f64(),
            }
        })
        .collect()
}

/// A 6 MB Kinesis batch of 100 CloudWatch Logs payloads: events/s in-process, peak RSS replayed.
fn kinesis_row(tcp: &DiscardSink) -> (Row, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let batch = workload::kinesis_batch(100, 6_000_000);
    let plain = forwarder(StaticFindings::default(), tcp.port, None);
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(120);
    let time = median(|| {
        let outcome = runtime
            .block_on(plain.forward(&batch.event, deadline()))
            .expect("forward");
        assert_eq!(outcome.delivered, batch.events, "every record of the batch");
    });
    let rss = peak_rss_mib(&batch.event, "kinesis-6mb.json", tcp.port);
    let row = Row {
        name: format!(
            "kinesis_6mb_100_payloads/pipeline_tcp ({:.1} MB event)",
            batch.event.len() as f64 / 1e6
        ),
        time,
        log_bytes: batch.log_bytes,
        events: batch.events,
        limit: None,
        cpu: None,
    };
    (row, rss)
}

/// Peak RSS of the release binary for the organisation paths at their largest accepted inputs: a
/// 6 MB Kinesis batch whose every record decompresses to 60 MiB, and an SQS message whose 256 KiB
/// body decompresses to 20 MiB.
struct BatchMemory {
    kinesis_records: usize,
    kinesis_rss: f64,
    sqs_body_kib: f64,
    sqs_rss: f64,
}

fn batch_memory_rows(tcp: &DiscardSink) -> BatchMemory {
    let sixty = workload::identical_cloudtrail(60 << 20);
    let kinesis = workload::kinesis_of(&sixty, 6_000_000);
    let kinesis_records = kinesis.matches("\"sequenceNumber\"").count();
    let kinesis_rss = peak_rss_mib(&kinesis, "kinesis-6mb-of-60mib.json", tcp.port);
    let twenty = workload::identical_cloudtrail(20 << 20);
    let sqs = workload::sqs_of(&twenty);
    let sqs_rss = peak_rss_mib(&sqs, "sqs-body-20mib.json", tcp.port);
    BatchMemory {
        kinesis_records,
        kinesis_rss,
        sqs_body_kib: twenty.event.len() as f64 / 1024.0,
        sqs_rss,
    }
}

/// Peak RSS and MB/s against decompressed size, as an SVG of two panels.
fn size_chart(rows: &[SizeRow]) -> String {
    let (w, h, pad) = (360.0, 240.0, 48.0);
    let max_x = rows.iter().map(|r| r.decompressed_mib).fold(1.0, f64::max);
    let panel = |x0: f64, title: &str, unit: &str, series: &[(&str, &str, Vec<f64>)]| {
        let max_y = series
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .fold(1.0, f64::max)
            * 1.15;
        let px = |x: f64| x0 + pad + x / max_x * (w - 2.0 * pad);
        let py = |y: f64| h - pad + 12.0 - y / max_y * (h - 2.0 * pad);
        let mut svg = format!(
            r#"<g font-family="sans-serif" font-size="11"><text x="{}" y="18" font-size="13" font-weight="bold">{title}</text>"#,
            x0 + pad
        );
        svg.push_str(&format!(
            r##"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#333"/><line x1="{0}" y1="{1}" x2="{0}" y2="{3}" stroke="#333"/>"##,
            px(0.0), py(0.0), px(max_x), py(max_y)
        ));
        for tick in 0..=4 {
            let y = max_y * f64::from(tick) / 4.0;
            svg.push_str(&format!(
                r##"<text x="{}" y="{}" text-anchor="end">{y:.0}</text><line x1="{}" y1="{2}" x2="{}" y2="{2}" stroke="#ddd"/>"##,
                px(0.0) - 4.0, py(y) + 4.0, px(0.0), px(max_x)
            ));
        }
        for r in rows {
            svg.push_str(&format!(
                r#"<text x="{}" y="{}" text-anchor="middle">{:.0}</text>"#,
                px(r.decompressed_mib),
                py(0.0) + 14.0,
                r.decompressed_mib
            ));
        }
        svg.push_str(&format!(
            r#"<text x="{}" y="{}" text-anchor="middle">decompressed payload (MiB)</text><text x="{}" y="{}" transform="rotate(-90 {2} {3})" text-anchor="middle">{unit}</text>"#,
            px(max_x / 2.0), h + 4.0, x0 + 12.0, py(max_y / 2.0)
        ));
        for (i, (name, colour, values)) in series.iter().enumerate() {
            let points: Vec<String> = rows
                .iter()
                .zip(values)
                .map(|(r, v)| format!("{:.1},{:.1}", px(r.decompressed_mib), py(*v)))
                .collect();
            svg.push_str(&format!(
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                points.join(" ")
            ));
            for p in &points {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                svg.push_str(&format!(
                    r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#
                ));
            }
            svg.push_str(&format!(
                r#"<text x="{}" y="{}" fill="{colour}">{name}</text>"#,
                px(0.0) + 8.0,
                36.0 + 14.0 * i as f64
            ));
        }
        svg.push_str("</g>");
        svg
    };
    let rss: Vec<f64> = rows.iter().map(|r| r.peak_rss_mib).collect();
    let ours: Vec<f64> = rows.iter().map(|r| r.ours_mb_s).collect();
    let limit: Vec<f64> = rows.iter().map(|r| r.limit_mb_s).collect();
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {0} {1}"><rect width="100%" height="100%" fill="white"/>{}{}</svg>
"#,
        2.0 * w,
        h + 12.0,
        panel(
            0.0,
            "Peak RSS of one invocation",
            "MiB",
            &[("forwarder (replay)", "#c0392b", rss)]
        ),
        panel(
            w,
            "Throughput",
            "MB/s of decompressed data",
            &[
                ("forwarder, TCP", "#2471a3", ours),
                ("limit: gunzip + write", "#7f8c8d", limit)
            ]
        ),
    )
}

fn size_mib(path: &Path) -> Option<f64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.len() as f64 / 1_048_576.0)
}

/// The memory rows as a table (and the chart, written to `$BENCH_CHART` when set).
fn size_report(sizes: &[SizeRow]) -> String {
    let mut report = String::from(
        "\n### Memory and throughput against payload size\n\n\
         Repetitive CloudTrail records (compressible as a burst of one call is). Peak RSS: the release \
         binary replaying one payload to the loopback sink (GNU time's maximum resident set size); \
         MB/s: decompressed bytes over the in-process pipeline time, beside the limit row (gunzip + \
         write) of the same payload.\n\n\
         | decompressed | compressed | events | peak RSS | MB/s (ours) | MB/s (limit) | ours / limit |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in sizes {
        report.push_str(&format!(
            "| {:.1} MiB | {:.2} MiB | {} | {:.1} MiB | {:.0} | {:.0} | {:.2} |\n",
            r.decompressed_mib,
            r.compressed_mib,
            r.events,
            r.peak_rss_mib,
            r.ours_mb_s,
            r.limit_mb_s,
            r.ours_mb_s / r.limit_mb_s
        ));
    }
    if let Some(path) = std::env::var_os("BENCH_CHART").map(PathBuf::from) {
        std::fs::write(&path, size_chart(sizes)).expect("write the chart");
        report.push_str(&format!(
            "\n![Peak RSS and MB/s against decompressed payload size]({})\n",
            path.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        ));
    }
    report
}

/// CPU time per 1,000 CloudTrail records and the Lambda cost per million derived from it.
fn cost_report(ct: &Row) -> String {
    // Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB.
    let cpu_share = 128.0 / 1769.0;
    let cpu = ct.cpu.unwrap_or(ct.time);
    let cpu_ms_per_1000 = cpu.as_secs_f64() * 1_000.0 / ct.events as f64 * 1_000.0;
    // CPU seconds per million records, stretched by the CPU share, times 0.125 GB.
    let gb_s_per_million = cpu_ms_per_1000 / cpu_share * 0.125;
    let arm64_price = 0.000_013_333_4;
    let requests_per_million = 1e6 / ct.events as f64;
    let cost_per_million = gb_s_per_million * arm64_price + requests_per_million * 0.20 / 1e6;
    format!(
        "\n**Cost.** {cpu_ms_per_1000:.2} CPU ms per 1,000 CloudTrail records (the forwarder thread's CPU \
         time over TCP, user and system, on one core of this machine). \
         At 128 MB Lambda gives about {:.1} % of a vCPU (one vCPU at 1,769 MB), so a million records take \
         {gb_s_per_million:.2} GB-s: **${cost_per_million:.5} per million CloudTrail records** on arm64 at \
         $0.0000133334 per GB-s plus $0.20 per million requests ({requests_per_million:.0} invocations of \
         {} records). Assumes Graviton runs this code as fast as this x86 core and excludes network \
         time to the SIEM, which is billed as wall time.\n",
        cpu_share * 100.0,
        ct.events
    )
}

fn main() {
    // `cargo bench` passes `--bench`; a word is a row filter, and `-- tls,limit` keeps the rows
    // whose names hold any of the words.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |stage: &str| {
        filter.as_deref().is_none_or(|f| {
            stage == "pipeline_tcp" || f.split(',').any(|word| stage.contains(word))
        })
    };
    let pki = pki();
    let sinks = Sinks {
        tcp: DiscardSink::start(None),
        tls: DiscardSink::start(Some(Arc::clone(&pki.server))),
        relp: RelpAckSink::start(),
        pki,
    };
    let cloudtrail = workload::cloudtrail();
    // `cargo bench --bench pipeline -- filters`: only the filter and redaction rows.
    if filter.as_deref() == Some("filters") {
        let (rows, overheads) = filter_rows(&cloudtrail, &sinks.tcp);
        for (r, o) in rows.iter().zip(&overheads) {
            let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
            println!(
                "{} {:.2} ms (unfiltered {:.2} ms)",
                r.name,
                ms(r.time),
                ms(o.base)
            );
        }
        print!("{}", overhead_lines(&overheads));
        return;
    }
    // `cargo bench --bench pipeline -- memory`: only the peak RSS of the organisation paths.
    if filter.as_deref() == Some("memory") {
        let m = batch_memory_rows(&sinks.tcp);
        println!(
            "peak RSS: Kinesis 6 MB batch of {} records of 60 MiB each {:.1} MiB; SQS {:.0} KiB body of 20 MiB {:.1} MiB",
            m.kinesis_records, m.kinesis_rss, m.sqs_body_kib, m.sqs_rss
        );
        return;
    }
    // `cargo bench --bench pipeline -- s3`: only the S3 object rows.
    if filter.as_deref() == Some("s3") {
        print!("{}", s3_report(&s3_rows(&sinks.tcp)));
        return;
    }
    let small = workload::small_lines();

    let whole = filter.is_none();
    let rss = whole.then(|| peak_rss_mib(&cloudtrail.event, "cloudtrail-1mb.json", sinks.tcp.port));
    let init = whole.then(|| init_ms(sinks.tcp.port));
    let mut rows = log_rows("cloudtrail", &cloudtrail, &sinks, &wanted);
    rows.extend(log_rows("small_lines", &small, &sinks, &wanted));
    let mut kinesis_rss = None;
    let mut overheads = Vec::new();
    let mut sizes = Vec::new();
    let mut s3 = None;
    let mut batch_memory = None;
    if whole {
        let (filtered, found) = filter_rows(&cloudtrail, &sinks.tcp);
        rows.extend(filtered);
        overheads = found;
        rows.extend(findings_rows(&sinks.tcp));
        let (kinesis, rss) = kinesis_row(&sinks.tcp);
        rows.push(kinesis);
        kinesis_rss = Some(rss);
        sizes = size_rows(&sinks.tcp);
        s3 = Some(s3_rows(&sinks.tcp));
        batch_memory = Some(batch_memory_rows(&sinks.tcp));
    }

    let find = |name: &str| rows.iter().find(|r| r.name == name);
    // The speed of `a` relative to `b`: the time of `b` over the time of `a`.
    let ratio = |a: &str, b: &str| Some(find(b)?.time.as_secs_f64() / find(a)?.time.as_secs_f64());
    // Against the limit measured alternately with the row, where it was.
    let vs_limit = |a: &str, limit: &str| match find(a) {
        Some(Row {
            time,
            limit: Some(beside),
            ..
        }) => Some(beside.as_secs_f64() / time.as_secs_f64()),
        _ => ratio(a, limit),
    };
    let ct_ratio = vs_limit("cloudtrail/pipeline_tcp", "cloudtrail/limit");
    let ct_tls_ratio = vs_limit("cloudtrail/pipeline_tls", "cloudtrail/limit");
    let ct_tls_limit = vs_limit("cloudtrail/limit_tls", "cloudtrail/limit");
    let ct_tls_vs_tls_limit = ratio("cloudtrail/pipeline_tls", "cloudtrail/limit_tls");
    let small_ratio = vs_limit("small_lines/pipeline_tcp", "small_lines/limit");
    let small_events = find("small_lines/pipeline_tcp").map(Row::events_per_s);
    let relp_small = ratio("small_lines/pipeline_relp", "small_lines/pipeline_tcp");
    let relp_ct = ratio("cloudtrail/pipeline_relp", "cloudtrail/pipeline_tcp");
    let lambda = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lambda/aws-syslog-forwarder");
    let zip = size_mib(&lambda.join("bootstrap.zip"));

    let mut report = String::new();
    report.push_str(&format!(
        "Workloads: cloudtrail = {} CloudTrail-like records ({:.1} MB of log text, event {} bytes); \
         small_lines = {} lines of 200 bytes (event {} bytes); ecr_2000_findings = 2,000 findings + summary. \
         RELP rows: a loopback receiver answering every frame `200 OK`, window {DEFAULT_RELP_WINDOW}.\n\n",
        cloudtrail.events,
        cloudtrail.log_bytes as f64 / 1e6,
        cloudtrail.event.len(),
        small.events,
        small.event.len()
    ));
    report.push_str(
        "| row | median | MB/s of log text | events/s | forwarder CPU |\n|---|---:|---:|---:|---:|\n",
    );
    for r in &rows {
        let cpu = r.cpu.map_or(String::new(), |cpu| {
            format!("{:.2} ms", cpu.as_secs_f64() * 1_000.0)
        });
        report.push_str(&format!(
            "| {} | {:.2} ms | {:.1} | {:.0} | {cpu} |\n",
            r.name,
            r.time.as_secs_f64() * 1_000.0,
            r.mb_per_s(),
            r.events_per_s()
        ));
    }
    let rss_at = |mib: f64| {
        sizes
            .iter()
            .min_by(|a, b| {
                (a.decompressed_mib - mib)
                    .abs()
                    .total_cmp(&(b.decompressed_mib - mib).abs())
            })
            .map(|r| r.peak_rss_mib)
    };
    let (rss_8, rss_60) = (rss_at(8.0), rss_at(60.0));
    if !sizes.is_empty() {
        report.push_str(&size_report(&sizes));
    }
    if let Some(s3) = &s3 {
        report.push_str(&s3_report(s3));
    }
    if let Some(ct) = find("cloudtrail/pipeline_tcp") {
        report.push_str(&cost_report(ct));
    }
    let value = |v: Option<f64>, digits: usize, unit: &str| {
        v.map_or("not run".to_string(), |v| format!("{v:.digits$}{unit}"))
    };
    let show = |v: Option<f64>| {
        v.map_or("not built (run `make package`)".to_string(), |m| {
            format!("{m:.2} MiB")
        })
    };
    report.push_str(&format!(
        "\n| measure | value | target |\n|---|---:|---:|\n\
         | pipeline / limit, CloudTrail, TCP | {} | ≥ 0.5 |\n\
         | pipeline / limit, CloudTrail, TLS | {} | ≥ 0.45 |\n\
         | TLS limit (gunzip + write over TLS) / limit, CloudTrail | {} | |\n\
         | pipeline over TLS / TLS limit, CloudTrail | {} | |\n\
         | pipeline / limit, small lines, TCP | {} | |\n\
         | small (200-byte) events/s, whole pipeline over TCP, one core | {} | ≥ 1,000,000 |\n\
         | RELP / TCP events/s, small lines, window {DEFAULT_RELP_WINDOW} | {} | ≥ 0.7 |\n\
         | RELP / TCP events/s, CloudTrail, window {DEFAULT_RELP_WINDOW} | {} | |\n\
         | init (start → first `next`), median of 21 | {} | ≤ 20 ms |\n\
         | peak RSS, 1 MB CloudTrail payload | {} | ≤ 64 MiB |\n\
         | peak RSS, 60 MiB decompressed payload | {} | ≤ 48 MiB |\n\
         | peak RSS growth, 8 → 60 MiB decompressed | {} | ≤ 8 MiB |\n\
         | peak RSS, 6 MB Kinesis batch of 100 payloads | {} | ≤ 48 MiB |\n\
         | peak RSS, 6 MB Kinesis batch{} whose records each decompress to 60 MiB | {} | ≤ 48 MiB |\n\
         | peak RSS, SQS message, {} body decompressing to 20 MiB | {} | ≤ 40 MiB |\n\
         | aarch64 bootstrap.zip | {} | ≤ 8 MB |\n",
        value(ct_ratio, 2, ""),
        value(ct_tls_ratio, 2, ""),
        value(ct_tls_limit, 2, ""),
        value(ct_tls_vs_tls_limit, 2, ""),
        value(small_ratio, 2, ""),
        value(small_events, 0, ""),
        value(relp_small, 2, ""),
        value(relp_ct, 2, ""),
        value(init, 1, " ms"),
        value(rss, 1, " MiB"),
        value(rss_60, 1, " MiB"),
        value(rss_60.zip(rss_8).map(|(a, b)| a - b), 1, " MiB"),
        value(kinesis_rss, 1, " MiB"),
        batch_memory
            .as_ref()
            .map_or(String::new(), |m| format!(" ({} records)", m.kinesis_records)),
        value(batch_memory.as_ref().map(|m| m.kinesis_rss), 1, " MiB"),
        batch_memory
            .as_ref()
            .map_or("a".to_string(), |m| format!("{:.0} KiB", m.sqs_body_kib)),
        value(batch_memory.as_ref().map(|m| m.sqs_rss), 1, " MiB"),
        show(zip)
    ));
    report.push_str(&overhead_lines(&overheads));
    println!("{report}");
    // One word per value, "na" for what was not measured.
    let word =
        |v: Option<f64>, digits: usize| v.map_or("na".to_string(), |v| format!("{v:.digits$}"));
    let line = format!(
        "BENCH pipeline_vs_limit={} pipeline_tls_vs_limit={} events_per_s={} relp_vs_tcp={} \
         peak_rss_mib={} peak_rss_60mib={} peak_rss_kinesis_60mib={} peak_rss_sqs_20mib={} \
         init_ms={} zip_mib={}",
        word(ct_ratio, 2),
        word(ct_tls_ratio, 2),
        word(small_events, 0),
        word(relp_small, 2),
        word(rss, 1),
        word(rss_60, 1),
        word(batch_memory.as_ref().map(|m| m.kinesis_rss), 1),
        word(batch_memory.as_ref().map(|m| m.sqs_rss), 1),
        word(init, 1),
        word(zip, 2)
    );
    println!("{line}");
    if let Some(path) = std::env::var_os("BENCH_REPORT").map(PathBuf::from) {
        std::fs::write(&path, format!("{report}\n```\n{line}\n```\n")).expect("write the report");
    }
}
