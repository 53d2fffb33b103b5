//! Micro-benchmarks of the stages: decode (payload → records) and format (records → framed RFC 5424).

#[path = "common/workload.rs"]
mod workload;

use std::io::Read;
use std::time::Duration;

use aws_syslog_forwarder::detections::Detections;
use aws_syslog_forwarder::findings::{FindingsSource, StaticFindings};
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::sources::Limits;
use aws_syslog_forwarder::sources::cloudwatch::{EventBuf, LogStream};
use aws_syslog_forwarder::sources::json_text::{Stop, Unescaper};
use aws_syslog_forwarder::syslog::SyslogSettings;
use aws_syslog_forwarder::transport::{Sink, WriterSink};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn forwarder<F: FindingsSource>(findings: F) -> Forwarder<F> {
    let settings = SyslogSettings {
        organisation: "Acme".into(),
        ..SyslogSettings::default()
    };
    Forwarder::new(
        settings,
        findings,
        Sink::Writer(WriterSink::new(tokio::io::sink())),
    )
}

fn gunzip(compressed: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

#[derive(serde::Deserialize)]
struct BorrowedLogData<'a> {
    #[serde(borrow, rename = "logEvents")]
    log_events: Vec<BorrowedLogEvent<'a>>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BorrowedLogEvent<'a> {
    #[serde(borrow)]
    id: &'a str,
    timestamp: i64,
    #[serde(borrow)]
    message: &'a serde_json::value::RawValue,
}

fn stages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let logs = forwarder(StaticFindings::default());
    let detecting = forwarder(StaticFindings::default())
        .with_detections(Some(Detections::new(&[], Some("aws@32473"))));
    for (name, payload) in [
        ("cloudtrail", workload::cloudtrail()),
        ("small_lines", workload::small_lines()),
    ] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(payload.log_bytes as u64));
        group.bench_function("decode", |b| {
            b.iter(|| {
                runtime
                    .block_on(logs.records(&payload.event))
                    .expect("decodes")
            })
        });
        // The cost of detections: CloudTrail records of ECR are parsed and tagged, ordinary lines
        // only pay the pre-check.
        group.bench_function("decode_with_detections", |b| {
            b.iter(|| {
                runtime
                    .block_on(detecting.records(&payload.event))
                    .expect("decodes")
            })
        });
        // What any correct decoder must do at least: inflate, and scan the JSON to find where each
        // message ends (borrowed, nothing un-escaped or copied). `decode` minus this is our own cost.
        group.bench_function("gunzip", |b| b.iter(|| gunzip(&payload.compressed)));
        // The streaming scanner: inflate and every event unescaped into reused buffers.
        group.bench_function("stream_scan", |b| {
            let mut event = EventBuf::default();
            b.iter(|| {
                let mut stream =
                    LogStream::open(&payload.compressed, Limits::default(), Vec::new())
                        .expect("log data");
                let mut events = 0;
                while stream.next_into(&mut event).expect("event") {
                    events += 1;
                }
                events
            })
        });
        let json = gunzip(&payload.compressed);
        group.bench_function("json_scan_floor", |b| {
            b.iter(|| {
                serde_json::from_slice::<BorrowedLogData>(&json)
                    .expect("log data")
                    .log_events
                    .len()
            })
        });
        // The message strings, unescaped into one reused buffer from the decompressed document as
        // the scanner sees it: from just after the opening quote, up to 8 KiB of what follows.
        let messages: Vec<&[u8]> = serde_json::from_slice::<BorrowedLogData>(&json)
            .expect("log data")
            .log_events
            .iter()
            .map(|e| {
                let start = e.message.get().as_ptr() as usize - json.as_ptr() as usize + 1;
                &json[start..json.len().min(start + 8192)]
            })
            .collect();
        group.bench_function("unescape", |b| {
            let mut out = Vec::new();
            let mut unescaper = Unescaper::default();
            b.iter(|| {
                let mut total = 0;
                for raw in &messages {
                    out.clear();
                    let (used, stop) = unescaper.unescape(raw, &mut out);
                    assert_eq!(stop, Stop::Quote);
                    total += used + out.len();
                }
                total
            })
        });
        let records = runtime
            .block_on(logs.records(&payload.event))
            .expect("decodes");
        group.bench_function("format", |b| {
            b.iter(|| logs.batch(&records).expect("formats"))
        });
        group.finish();
    }

    let scans = forwarder(workload::findings(2_000));
    let event = workload::scan_event();
    let mut group = c.benchmark_group("ecr_2000_findings");
    group.throughput(Throughput::Elements(2_001));
    group.bench_function("decode", |b| {
        b.iter(|| runtime.block_on(scans.records(&event)).expect("findings"))
    });
    let records = runtime.block_on(scans.records(&event)).expect("findings");
    group.bench_function("format", |b| {
        b.iter(|| scans.batch(&records).expect("formats"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = stages
}
criterion_main!(benches);
