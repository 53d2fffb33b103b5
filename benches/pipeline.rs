//! End-to-end throughput against the physical limit, cold start, peak memory and package size.
//! `make bench` runs it; it prints a table and a final machine-readable `BENCH …` line, and writes
//! the report to `$BENCH_REPORT` when set.

#[path = "common/workload.rs"]
mod workload;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_syslog_forwarder::config::{Destination, FilterSettings, TlsSettings};
use aws_syslog_forwarder::filters::{Filters, Rule};
use aws_syslog_forwarder::findings::{FindingsSource, StaticFindings};
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::syslog::SyslogSettings;
use aws_syslog_forwarder::transport::{Sink, SyslogSender};
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
            Box::new(rustls::StreamOwned::new(connection, stream))
        }
    };
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            return;
        }
        counter.fetch_add(n as u64, Ordering::Release);
    }
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
    let destination = Destination {
        host: "127.0.0.1".into(),
        port,
        tls: ca_pem.map(|ca| TlsSettings {
            ca_pem: Some(ca.to_owned()),
            server_name: "localhost".into(),
            client_auth: None,
            pins: Vec::new(),
        }),
        connect_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(30),
    };
    let sender = SyslogSender::new(&destination).expect("sender");
    let settings = SyslogSettings {
        organisation: "Acme".into(),
        ..SyslogSettings::default()
    };
    Forwarder::new(settings, findings, Sink::Syslog(Box::new(sender)))
}

/// Median wall time of `run` over at least 5 and at most 40 runs (about 3 s), after one warm-up.
fn median(mut run: impl FnMut()) -> Duration {
    run();
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < 5 || (times.len() < 40 && started.elapsed() < Duration::from_secs(3)) {
        let t = Instant::now();
        run();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// Medians of `base` and `other` run alternately, after one warm-up each: both see the same
/// machine, so their ratio holds even when the load changes during the run.
fn paired_medians(mut base: impl FnMut(), mut other: impl FnMut()) -> (Duration, Duration) {
    base();
    other();
    let started = Instant::now();
    let (mut bases, mut others) = (Vec::new(), Vec::new());
    while bases.len() < 9 || (bases.len() < 60 && started.elapsed() < Duration::from_secs(6)) {
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
    tcp: &DiscardSink,
    tls: &DiscardSink,
    pki: &Pki,
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
    };
    let mut rows = Vec::new();
    let mut limit_stream = TcpStream::connect(("127.0.0.1", tcp.port)).expect("connect sink");
    rows.push(row(
        "limit",
        median(|| {
            let before = tcp.received.load(Ordering::Acquire);
            let text = gunzip(&payload.compressed);
            limit_stream.write_all(&text).expect("write");
            tcp.wait_for(before + text.len() as u64);
        }),
    ));
    let plain = forwarder(StaticFindings::default(), tcp.port, None);
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
    let records = runtime
        .block_on(plain.records(&payload.event))
        .expect("decode");
    rows.push(row(
        "format",
        median(|| drop(plain.batch(&records).expect("format"))),
    ));
    drop(records);
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);
    rows.push(row(
        "pipeline_tcp",
        median(|| {
            runtime
                .block_on(plain.forward(&payload.event, deadline()))
                .expect("forward");
        }),
    ));
    let secure = forwarder(StaticFindings::default(), tls.port, Some(&pki.ca_pem));
    rows.push(row(
        "pipeline_tls",
        median(|| {
            runtime
                .block_on(secure.forward(&payload.event, deadline()))
                .expect("forward");
        }),
    ));
    rows
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

/// Peak RSS (MiB) of the release binary replaying the 1 MB CloudTrail payload to the sink.
fn peak_rss_mib(payload: &Payload, sink_port: u16) -> f64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let file = dir.join("cloudtrail-1mb.json");
    std::fs::write(&file, &payload.event).expect("write payload");
    let mut command = Command::new(BINARY);
    lambda_env(&mut command, "", sink_port);
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .arg("replay")
        .arg(&file);
    let status = command.status().expect("run replay");
    assert!(status.success(), "replay failed");
    // SAFETY: getrusage fills the struct it is given; this is the only child waited for so far.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

fn size_mib(path: &Path) -> Option<f64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.len() as f64 / 1_048_576.0)
}

fn main() {
    let tcp = DiscardSink::start(None);
    let cloudtrail = workload::cloudtrail();
    // `cargo bench --bench pipeline -- filters`: only the filter and redaction rows.
    if std::env::args().skip(1).any(|arg| arg == "filters") {
        let (rows, overheads) = filter_rows(&cloudtrail, &tcp);
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
    let pki = pki();
    let tls = DiscardSink::start(Some(Arc::clone(&pki.server)));
    let small = workload::small_lines();

    let rss = peak_rss_mib(&cloudtrail, tcp.port);
    let init = init_ms(tcp.port);
    let mut rows = log_rows("cloudtrail", &cloudtrail, &tcp, &tls, &pki);
    rows.extend(log_rows("small_lines", &small, &tcp, &tls, &pki));
    let (filtered, overheads) = filter_rows(&cloudtrail, &tcp);
    rows.extend(filtered);
    rows.extend(findings_rows(&tcp));

    let find = |name: &str| rows.iter().find(|r| r.name == name).expect("row");
    let ratio = |pipeline: &str, limit: &str| {
        find(limit).time.as_secs_f64() / find(pipeline).time.as_secs_f64()
    };
    let ct_ratio = ratio("cloudtrail/pipeline_tcp", "cloudtrail/limit");
    let ct_tls_ratio = ratio("cloudtrail/pipeline_tls", "cloudtrail/limit");
    let small_ratio = ratio("small_lines/pipeline_tcp", "small_lines/limit");
    let small_events = find("small_lines/pipeline_tcp").events_per_s();
    let lambda = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lambda/aws-syslog-forwarder");
    let zip = size_mib(&lambda.join("bootstrap.zip"));

    let mut report = String::new();
    report.push_str(&format!(
        "Workloads: cloudtrail = {} CloudTrail-like records ({:.1} MB of log text, event {} bytes); \
         small_lines = {} lines of 200 bytes (event {} bytes); ecr_2000_findings = 2,000 findings + summary.\n\n",
        cloudtrail.events,
        cloudtrail.log_bytes as f64 / 1e6,
        cloudtrail.event.len(),
        small.events,
        small.event.len()
    ));
    report.push_str("| row | median | MB/s of log text | events/s |\n|---|---:|---:|---:|\n");
    for r in &rows {
        report.push_str(&format!(
            "| {} | {:.2} ms | {:.1} | {:.0} |\n",
            r.name,
            r.time.as_secs_f64() * 1_000.0,
            r.mb_per_s(),
            r.events_per_s()
        ));
    }
    let show = |v: Option<f64>| {
        v.map_or("not built (run `make package`)".to_string(), |m| {
            format!("{m:.2} MiB")
        })
    };
    report.push_str(&format!(
        "\n| measure | value | target |\n|---|---:|---:|\n\
         | pipeline / limit, CloudTrail, TCP | {ct_ratio:.2} | ≥ 0.5 |\n\
         | pipeline / limit, CloudTrail, TLS | {ct_tls_ratio:.2} | |\n\
         | pipeline / limit, small lines, TCP | {small_ratio:.2} | |\n\
         | small events/s, format + TCP, one core | {small_events:.0} | ≥ 500,000 |\n\
         | init (start → first `next`), median of 21 | {init:.1} ms | ≤ 20 ms |\n\
         | peak RSS, 1 MB CloudTrail payload | {rss:.1} MiB | ≤ 64 MiB |\n\
         | aarch64 bootstrap.zip | {} | ≤ 8 MB |\n",
        show(zip)
    ));
    report.push_str(&overhead_lines(&overheads));
    println!("{report}");
    let line = format!(
        "BENCH pipeline_vs_limit={ct_ratio:.2} pipeline_tls_vs_limit={ct_tls_ratio:.2} events_per_s={small_events:.0} \
         peak_rss_mib={rss:.1} init_ms={init:.1} zip_mib={}",
        zip.map_or("na".into(), |z| format!("{z:.2}"))
    );
    println!("{line}");
    if let Some(path) = std::env::var_os("BENCH_REPORT").map(PathBuf::from) {
        std::fs::write(&path, format!("{report}\n```\n{line}\n```\n")).expect("write the report");
    }
}
