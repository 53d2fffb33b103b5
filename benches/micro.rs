//! Micro-benchmarks of the stages: decode (payload → records) and format (records → framed RFC 5424).

#[path = "common/workload.rs"]
mod workload;

use std::time::Duration;

use aws_syslog_forwarder::findings::{FindingsSource, StaticFindings};
use aws_syslog_forwarder::handler::Forwarder;
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

fn stages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let logs = forwarder(StaticFindings::default());
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
