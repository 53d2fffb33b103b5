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

use aws_syslog_forwarder::config::{Destination, TlsSettings};
use aws_syslog_forwarder::findings::{FindingsSource, StaticFindings};
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::sources::s3::S3Objects;
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

/// Peak RSS (MiB) of the release binary replaying `event` (written to `name`) to the sink.
fn peak_rss_mib(event: &str, name: &str, sink_port: u16) -> f64 {
    peak_rss_with(event, name, sink_port, &[])
}

/// [`peak_rss_mib`] with more environment for the child (e.g. an S3 endpoint).
fn peak_rss_with(event: &str, name: &str, sink_port: u16, env: &[(&str, String)]) -> f64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let file = dir.join(name);
    std::fs::write(&file, event).expect("write payload");
    let mut command = Command::new(BINARY);
    lambda_env(&mut command, "", sink_port);
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("replay")
        .arg(&file);
    let mut child = command.spawn().expect("run replay");
    // The child's own high-water mark, read until it exits. (wait4's ru_maxrss would also count
    // this process's memory, which the child's exec inherits as its starting mark.)
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        match child.try_wait().expect("wait for replay") {
            Some(status) => break status,
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    assert!(status.success(), "replay of {name} failed");
    let _ = std::fs::remove_file(&file);
    peak_kib as f64 / 1024.0
}

/// A tiny stand-in for S3 on loopback: every request (any bucket, any key) is answered with the
/// same object, on connections kept alive as the SDK expects.
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

    /// The environment that points the SDK chain (of the replay binary) at the stub.
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
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let end = request
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(request.len(), |at| at + 4);
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
    serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-22T10:20:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "org-trail-logs"}, "object": {"key": key, "size": size}}}]})
    .to_string()
}

/// The S3 rows: a 100 MB (decompressed) CloudTrail log file forwarded in-process from a loopback
/// stand-in for S3 (MB/s of decompressed data, events/s) and replayed by the release binary (peak
/// RSS), and the peak RSS of a 200 MB one.
fn s3_rows(tcp: &DiscardSink) -> (Row, f64, f64, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let object = workload::cloudtrail_object(100_000_000);
    let compressed = object.compressed.len();
    let stub = ObjectStub::start(Arc::new(object.compressed));
    let key = "AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail/us-east-1/2026/11/22/100mb.json.gz";
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
    };
    let big = workload::cloudtrail_object(200_000_000);
    let big_stub = ObjectStub::start(Arc::new(big.compressed));
    let big_event = s3_notification(key, 0);
    let rss_200 = peak_rss_with(&big_event, "s3-200mb.json", tcp.port, &big_stub.env());
    (row, rss_100, rss_200, big.decompressed_bytes)
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
    };
    (row, rss)
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

/// The S3 rows alone (`BENCH_ONLY=s3`), for a quick look without the whole run.
fn s3_report(tcp: &DiscardSink) -> String {
    let (row, rss_100, rss_200, big_bytes) = s3_rows(tcp);
    s3_table(&row, rss_100, rss_200, big_bytes)
}

fn s3_table(row: &Row, rss_100: f64, rss_200: f64, big_bytes: usize) -> String {
    format!(
        "\n### S3 objects\n\n\
         A CloudTrail log file (`{{\"Records\":[…]}}`, gzip) of CloudTrail-like records served by a loopback \
         stand-in for S3, read by the SDK client chunk by chunk. MB/s of decompressed data in-process; peak \
         RSS of the release binary replaying the S3 notification.\n\n\
         | row | median | MB/s | events/s | peak RSS |\n|---|---:|---:|---:|---:|\n\
         | {} | {:.0} ms | {:.1} | {:.0} | {rss_100:.1} MiB |\n\
         | s3_cloudtrail_{:.0}mb/replay (peak RSS only) | | | | {rss_200:.1} MiB (target ≤ 48 MiB) |\n",
        row.name,
        row.time.as_secs_f64() * 1_000.0,
        row.mb_per_s(),
        row.events_per_s(),
        big_bytes as f64 / 1e6,
    )
}

fn main() {
    let pki = pki();
    let tcp = DiscardSink::start(None);
    if std::env::var("BENCH_ONLY").as_deref() == Ok("s3") {
        let report = s3_report(&tcp);
        println!("{report}");
        if let Some(path) = std::env::var_os("BENCH_REPORT").map(PathBuf::from) {
            std::fs::write(&path, &report).expect("write the report");
        }
        return;
    }
    let tls = DiscardSink::start(Some(Arc::clone(&pki.server)));
    let cloudtrail = workload::cloudtrail();
    let small = workload::small_lines();

    let rss = peak_rss_mib(&cloudtrail.event, "cloudtrail-1mb.json", tcp.port);
    let init = init_ms(tcp.port);
    let mut rows = log_rows("cloudtrail", &cloudtrail, &tcp, &tls, &pki);
    rows.extend(log_rows("small_lines", &small, &tcp, &tls, &pki));
    rows.extend(findings_rows(&tcp));
    let (kinesis, kinesis_rss) = kinesis_row(&tcp);
    rows.push(kinesis);
    let sizes = size_rows(&tcp);
    let (s3_row, s3_rss_100, s3_rss_200, s3_big_bytes) = s3_rows(&tcp);

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
    report.push_str(
        "\n### Memory and throughput against payload size\n\n\
         Repetitive CloudTrail records (compressible as a burst of one call is). Peak RSS: the release \
         binary replaying one payload to the loopback sink (`wait4`); MB/s: decompressed bytes over the \
         in-process pipeline time, beside the limit row (gunzip + write) of the same payload.\n\n\
         | decompressed | compressed | events | peak RSS | MB/s (ours) | MB/s (limit) | ours / limit |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &sizes {
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
    report.push_str(&s3_table(&s3_row, s3_rss_100, s3_rss_200, s3_big_bytes));
    let rss_at = |mib: f64| {
        sizes
            .iter()
            .min_by(|a, b| {
                (a.decompressed_mib - mib)
                    .abs()
                    .total_cmp(&(b.decompressed_mib - mib).abs())
            })
            .map_or(0.0, |r| r.peak_rss_mib)
    };
    let (rss_8, rss_60) = (rss_at(8.0), rss_at(60.0));
    if let Some(path) = std::env::var_os("BENCH_CHART").map(PathBuf::from) {
        std::fs::write(&path, size_chart(&sizes)).expect("write the chart");
        report.push_str(&format!(
            "\n![Peak RSS and MB/s against decompressed payload size]({})\n",
            path.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        ));
    }
    // Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB.
    let cpu_share = 128.0 / 1769.0;
    let ct = find("cloudtrail/pipeline_tcp");
    let cpu_ms_per_1000 = ct.time.as_secs_f64() * 1_000.0 / ct.events as f64 * 1_000.0;
    let gb_s_per_million = cpu_ms_per_1000 * 1_000.0 / 1_000.0 / cpu_share * 0.125;
    let arm64_price = 0.000_013_333_4;
    let requests_per_million = 1e6 / ct.events as f64;
    let cost_per_million = gb_s_per_million * arm64_price + requests_per_million * 0.20 / 1e6;
    report.push_str(&format!(
        "\n**Cost.** {cpu_ms_per_1000:.2} CPU ms per 1,000 CloudTrail records (one core of this machine). \
         At 128 MB Lambda gives about {:.1} % of a vCPU (one vCPU at 1,769 MB), so a million records take \
         {gb_s_per_million:.2} GB-s: **${cost_per_million:.4} per million CloudTrail records** on arm64 at \
         $0.0000133334 per GB-s plus $0.20 per million requests ({requests_per_million:.0} invocations of \
         {} records). Assumes Graviton runs this code as fast as this x86 core and excludes network \
         time to the SIEM, which is billed as wall time.\n",
        cpu_share * 100.0,
        ct.events
    ));
    report.push_str(&format!(
        "\n| measure | value | target |\n|---|---:|---:|\n\
         | pipeline / limit, CloudTrail, TCP | {ct_ratio:.2} | ≥ 0.5 |\n\
         | pipeline / limit, CloudTrail, TLS | {ct_tls_ratio:.2} | |\n\
         | pipeline / limit, small lines, TCP | {small_ratio:.2} | |\n\
         | small events/s, format + TCP, one core | {small_events:.0} | ≥ 500,000 |\n\
         | init (start → first `next`), median of 21 | {init:.1} ms | ≤ 20 ms |\n\
         | peak RSS, 1 MB CloudTrail payload | {rss:.1} MiB | ≤ 64 MiB |\n\
         | peak RSS, 60 MiB decompressed payload | {rss_60:.1} MiB | ≤ 48 MiB |\n\
         | peak RSS growth, 8 → 60 MiB decompressed | {:.1} MiB | ≤ 8 MiB |\n\
         | peak RSS, 6 MB Kinesis batch of 100 payloads | {kinesis_rss:.1} MiB | ≤ 48 MiB |\n\
         | peak RSS, 200 MB (decompressed) S3 CloudTrail object | {s3_rss_200:.1} MiB | ≤ 48 MiB |\n\
         | aarch64 bootstrap.zip | {} | ≤ 8 MB |\n",
        rss_60 - rss_8,
        show(zip)
    ));
    println!("{report}");
    let line = format!(
        "BENCH pipeline_vs_limit={ct_ratio:.2} pipeline_tls_vs_limit={ct_tls_ratio:.2} events_per_s={small_events:.0} \
         peak_rss_mib={rss:.1} peak_rss_60mib={rss_60:.1} init_ms={init:.1} zip_mib={}",
        zip.map_or("na".into(), |z| format!("{z:.2}"))
    );
    println!("{line}");
    if let Some(path) = std::env::var_os("BENCH_REPORT").map(PathBuf::from) {
        std::fs::write(&path, format!("{report}\n```\n{line}\n```\n")).expect("write the report");
    }
}
