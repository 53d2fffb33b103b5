//! Generated workloads shared by the benchmarks: realistic in shape, deterministic in content.
#![allow(dead_code)]

use std::io::Write;

use aws_syslog_forwarder::findings::{
    Attribute, BasicFinding, EnhancedFinding, FindingsPage, PackageVulnerabilityDetails,
    ScanFindings, StaticFindings, VulnerablePackage,
};
use base64::Engine;

/// The asynchronous Lambda payload limit: the whole event JSON must fit.
pub const EVENT_LIMIT: usize = 1_000_000;

pub struct Payload {
    /// The Lambda event JSON (`{"awslogs":{"data":…}}`).
    pub event: String,
    /// The gzip member inside it.
    pub compressed: Vec<u8>,
    /// Bytes of log text (the messages), what a reader of the logs cares about.
    pub log_bytes: usize,
    /// Bytes of the decompressed log data JSON.
    pub decompressed_bytes: usize,
    pub events: usize,
}

/// A small deterministic generator (xorshift), so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn cloudtrail_record(rng: &mut Rng, i: usize) -> String {
    let names = [
        "PutImage",
        "BatchGetImage",
        "GetAuthorizationToken",
        "DescribeImages",
        "AssumeRole",
    ];
    let name = names[(rng.next() % names.len() as u64) as usize];
    let r = rng.next();
    format!(
        concat!(
            r#"{{"eventVersion":"1.10","userIdentity":{{"type":"AssumedRole","principalId":"AROA{:016X}:ci-{}","#,
            r#""arn":"arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-{}","accountId":"123456789012","accessKeyId":"ASIA{:016X}","#,
            r#""sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{:016X}","arn":"arn:aws:iam::123456789012:role/ci-deploy","#,
            r#""accountId":"123456789012","userName":"ci-deploy"}},"attributes":{{"creationDate":"2026-11-22T09:{:02}:{:02}Z","mfaAuthenticated":"false"}}}}}},"#,
            r#""eventTime":"2026-11-22T10:{:02}:{:02}Z","eventSource":"ecr.amazonaws.com","eventName":"{}","awsRegion":"us-east-1","#,
            r#""sourceIPAddress":"198.51.{}.{}","userAgent":"aws-sdk-go-v2/1.32.{} os/linux lang/go#1.23.{} md/GOOS#linux api/ecr#1.36.{}","#,
            r#""requestParameters":{{"registryId":"123456789012","repositoryName":"service-{}","imageIds":[{{"imageTag":"build-{}"}}]}},"#,
            r#""responseElements":null,"requestID":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","eventID":"{:08x}-{:04x}-4{:03x}-b{:03x}-{:012x}","#,
            r#""readOnly":true,"resources":[{{"ARN":"arn:aws:ecr:us-east-1:123456789012:repository/service-{}","accountId":"123456789012"}}],"#,
            r#""eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","#,
            r#""tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"api.ecr.us-east-1.amazonaws.com"}}}}"#
        ),
        r,
        i % 97,
        i % 97,
        r >> 3,
        r >> 5,
        i % 60,
        r % 60,
        (i / 60) % 60,
        i % 60,
        name,
        r % 256,
        (r >> 8) % 256,
        r % 40,
        r % 9,
        r % 30,
        i % 53,
        r % 10_000,
        r as u32,
        (r >> 32) as u16,
        r % 4096,
        (r >> 12) % 4096,
        r >> 16,
        (r >> 7) as u32,
        (r >> 40) as u16,
        (r >> 3) % 4096,
        (r >> 15) % 4096,
        r >> 20,
        i % 53,
    )
}

fn small_line(rng: &mut Rng, i: usize) -> String {
    let r = rng.next();
    let mut line = format!(
        "2026-11-22T10:{:02}:{:02}.{:03}Z\t{:08x}-{:04x}\tINFO\trequest {} served path=/api/orders/{} status=200 ms={}",
        (i / 60) % 60,
        i % 60,
        r % 1000,
        r as u32,
        (r >> 32) as u16,
        i,
        r % 100_000,
        r % 900
    );
    while line.len() < 200 {
        line.push_str(" ok");
    }
    line.truncate(200);
    line
}

fn build(mut message: impl FnMut(&mut Rng, usize) -> String, log_group: &str) -> Payload {
    // Grow the batch until the event JSON reaches the payload limit.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut messages: Vec<String> = Vec::new();
    let mut step = 1024;
    loop {
        let start = messages.len();
        messages.extend((start..start + step).map(|i| message(&mut rng, i)));
        let payload = encode(&messages, log_group);
        if payload.event.len() > EVENT_LIMIT {
            if step == 1 {
                messages.pop();
                return encode(&messages, log_group);
            }
            messages.truncate(start);
            step = (step / 4).max(1);
        }
    }
}

fn encode(messages: &[String], log_group: &str) -> Payload {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": format!("{:056}", i), "timestamp": 1_795_341_600_000_i64 + i as i64, "message": m}))
        .collect();
    let data = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": log_group,
        "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["siem"], "logEvents": events,
    })
    .to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.as_bytes()).expect("gzip to memory");
    let compressed = gz.finish().expect("gzip to memory");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&compressed);
    Payload {
        event: serde_json::json!({"awslogs": {"data": b64}}).to_string(),
        compressed,
        log_bytes: messages.iter().map(String::len).sum(),
        decompressed_bytes: data.len(),
        events: messages.len(),
    }
}

/// CloudTrail-like JSON records (~1.5 KB each) filling a 1 MB event.
pub fn cloudtrail() -> Payload {
    build(
        cloudtrail_record,
        "aws-cloudtrail-logs-123456789012-4f1a2b3c",
    )
}

/// 200-byte application log lines filling a 1 MB event.
pub fn small_lines() -> Payload {
    build(small_line, "/aws/lambda/orders-api")
}

pub const DIGEST: &str = "sha256:160634c2f78652f33472b35da0673f4723a831089bbd29c4e38b2bd77a01af13";

/// A completed basic scan event for the findings workload.
pub fn scan_event() -> String {
    format!(
        r#"{{"version":"0","id":"a1b2","detail-type":"ECR Image Scan","source":"aws.ecr","account":"123456789012","time":"2026-11-22T10:15:30Z","region":"us-east-1","resources":[],"detail":{{"scan-status":"COMPLETE","repository-name":"payments-api","image-digest":"{DIGEST}","image-tags":["v1"]}}}}"#
    )
}

/// `total` findings (half basic, half enhanced) in pages of 1,000 basic / 100 enhanced.
pub fn findings(total: usize) -> StaticFindings {
    let severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];
    let basic: Vec<BasicFinding> = (0..total / 2)
        .map(|i| BasicFinding {
            name: Some(format!("CVE-2026-{i:05}")),
            description: Some("A flaw in the package allows a remote attacker to cause a denial of service via a crafted request.".into()),
            uri: Some(format!("https://security-tracker.debian.org/tracker/CVE-2026-{i:05}")),
            severity: Some(severities[i % 5].into()),
            attributes: vec![
                Attribute { key: "package_name".into(), value: Some(format!("lib{i}")) },
                Attribute { key: "package_version".into(), value: Some("1.2.3-1".into()) },
                Attribute { key: "CVSS2_SCORE".into(), value: Some("7.5".into()) },
                Attribute { key: "CVSS2_VECTOR".into(), value: Some("AV:N/AC:L/Au:N/C:P/I:P/A:P".into()) },
            ],
        })
        .collect();
    let enhanced: Vec<EnhancedFinding> = (0..total - total / 2)
        .map(|i| EnhancedFinding {
            finding_arn: Some(format!(
                "arn:aws:inspector2:us-east-1:123456789012:finding/{i:032x}"
            )),
            description: Some("Improper input validation in the parser.".into()),
            severity: Some(severities[i % 5].into()),
            status: Some("ACTIVE".into()),
            score: Some(7.5),
            fix_available: Some("YES".into()),
            package_vulnerability_details: Some(PackageVulnerabilityDetails {
                vulnerability_id: Some(format!("CVE-2025-{i:05}")),
                source_url: Some(format!("https://nvd.nist.gov/vuln/detail/CVE-2025-{i:05}")),
                vulnerable_packages: vec![VulnerablePackage {
                    name: Some("openssl".into()),
                    version: Some("3.0.1".into()),
                    fixed_in_version: Some("3.0.2".into()),
                    ..VulnerablePackage::default()
                }],
                ..PackageVulnerabilityDetails::default()
            }),
            ..EnhancedFinding::default()
        })
        .collect();
    let mut pages: Vec<FindingsPage> = basic
        .chunks(1_000)
        .map(|chunk| FindingsPage {
            scan: ScanFindings {
                findings: chunk.to_vec(),
                ..ScanFindings::default()
            },
            next_token: None,
        })
        .collect();
    pages.extend(enhanced.chunks(100).map(|chunk| FindingsPage {
        scan: ScanFindings {
            enhanced_findings: chunk.to_vec(),
            ..ScanFindings::default()
        },
        next_token: None,
    }));
    StaticFindings { pages }
}

/// CloudTrail records that differ only in a counter: highly compressible, as a burst of one
/// repeated call is. Grows until the log data JSON reaches `decompressed_bytes`.
pub fn repetitive_cloudtrail(decompressed_bytes: usize) -> Payload {
    cloudtrail_burst(decompressed_bytes, true)
}

/// The same burst with one identical record in every log event (only the ids and timestamps
/// differ): about 110:1 under gzip, the densest payload a subscription carries, for the memory
/// bounds of the batch inputs.
pub fn identical_cloudtrail(decompressed_bytes: usize) -> Payload {
    cloudtrail_burst(decompressed_bytes, false)
}

fn cloudtrail_burst(decompressed_bytes: usize, counted: bool) -> Payload {
    let mut data = String::with_capacity(decompressed_bytes + 4096);
    data.push_str(r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"aws-cloudtrail-logs-123456789012-4f1a2b3c","logStream":"123456789012_CloudTrail_us-east-1","subscriptionFilters":["siem"],"logEvents":["#);
    let mut events = 0;
    let mut log_bytes = 0;
    while data.len() < decompressed_bytes {
        let message = format!(
            r#"{{"eventVersion":"1.10","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEID:ci-7","arn":"arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-7","accountId":"123456789012"}},"eventTime":"2026-11-22T10:{:02}:{:02}Z","eventSource":"ecr.amazonaws.com","eventName":"BatchGetImage","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-sdk-go-v2/1.32.4 os/linux lang/go#1.23.3","requestParameters":{{"registryId":"123456789012","repositoryName":"service-api","imageIds":[{{"imageTag":"build-{}"}}]}},"responseElements":null,"eventID":"7d2f6e1c-0000-4000-8000-{:012x}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}}"#,
            (events / 60) % 60 * usize::from(counted),
            events % 60 * usize::from(counted),
            events * usize::from(counted),
            events * usize::from(counted)
        );
        if events > 0 {
            data.push(',');
        }
        let escaped = serde_json::to_string(&message).expect("a string serializes");
        data.push_str(&format!(
            r#"{{"id":"{:056}","timestamp":{},"message":{escaped}}}"#,
            events,
            1_795_341_600_000_i64 + events as i64
        ));
        log_bytes += message.len();
        events += 1;
    }
    data.push_str("]}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data.as_bytes()).expect("gzip to memory");
    let compressed = gz.finish().expect("gzip to memory");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&compressed);
    Payload {
        event: format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#),
        compressed,
        log_bytes,
        decompressed_bytes: data.len(),
        events,
    }
}

/// A Kinesis event of `count` records, each a CloudWatch Logs payload (gzip, as a CloudWatch Logs
/// destination writes it) of CloudTrail-like records, filling about `event_bytes`.
pub fn kinesis_batch(count: usize, event_bytes: usize) -> Payload {
    // base64 takes 4/3 of the data; the envelope of each record is about 400 bytes.
    let per_record = (event_bytes / count).saturating_sub(400) * 3 / 4;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut records = Vec::with_capacity(count);
    let (mut events, mut log_bytes, mut decompressed) = (0, 0, 0);
    for r in 0..count {
        let mut messages = Vec::new();
        let mut payload = encode(&messages, "aws-cloudtrail-logs-123456789012-4f1a2b3c");
        while payload.compressed.len() < per_record {
            let start = messages.len();
            messages.extend((start..start + 16).map(|i| cloudtrail_record(&mut rng, i)));
            payload = encode(&messages, "aws-cloudtrail-logs-123456789012-4f1a2b3c");
        }
        events += payload.events;
        log_bytes += payload.log_bytes;
        decompressed += payload.decompressed_bytes;
        records.push(serde_json::json!({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": format!("pk-{r}"),
                        "sequenceNumber": format!("4959033827149025660855969253836157109592157598913{:07}", r),
                        "data": base64::engine::general_purpose::STANDARD.encode(&payload.compressed),
                        "approximateArrivalTimestamp": 1_795_341_600.5_f64 + r as f64},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": format!("shardId-000000000000:{r}"), "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::999988887777:role/forwarder", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:999988887777:stream/central-logs",
        }));
    }
    Payload {
        event: serde_json::json!({ "Records": records }).to_string(),
        compressed: Vec::new(),
        log_bytes,
        decompressed_bytes: decompressed,
        events,
    }
}

/// A Kinesis event whose every record carries `payload`'s compressed subscription data (what a
/// CloudWatch Logs destination writes), as many records as fit in `event_bytes`.
pub fn kinesis_of(payload: &Payload, event_bytes: usize) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(&payload.compressed);
    let count = (event_bytes / (data.len() + 400)).max(1);
    let records: Vec<serde_json::Value> = (0..count)
        .map(|r| {
            serde_json::json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": format!("pk-{r}"),
                            "sequenceNumber": format!("4959033827149025660855969253836157109592157598913{:07}", r),
                            "data": data, "approximateArrivalTimestamp": 1_795_341_600.5_f64 + r as f64},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{r}"), "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::999988887777:role/forwarder", "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:999988887777:stream/central-logs",
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// An SQS event of one message whose body is `payload`'s subscription event (`{"awslogs":…}`), as
/// the failure queue holds it or a subscription fan-out delivers it.
pub fn sqs_of(payload: &Payload) -> String {
    serde_json::json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": payload.event, "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795341600000"},
        "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:999988887777:forwarder-failures",
        "awsRegion": "us-east-1",
    }]})
    .to_string()
}

/// A gzip object in S3, as the benchmarks serve it.
pub struct S3Object {
    pub compressed: Vec<u8>,
    pub decompressed_bytes: usize,
    pub events: usize,
}

/// A CloudTrail log file as a trail writes it to S3 (`{"Records":[…]}`, gzip) of CloudTrail-like
/// records, growing until it reaches `decompressed_bytes`; the text goes into the encoder as it
/// is made, never held whole.
pub fn cloudtrail_object(decompressed_bytes: usize) -> S3Object {
    let mut rng = Rng(0x5851_F42D_4C95_7F2D);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"Records\":[").expect("gzip to memory");
    let (mut written, mut events) = (12, 0);
    while written < decompressed_bytes {
        let record = cloudtrail_record(&mut rng, events);
        if events > 0 {
            gz.write_all(b",").expect("gzip to memory");
            written += 1;
        }
        gz.write_all(record.as_bytes()).expect("gzip to memory");
        written += record.len();
        events += 1;
    }
    gz.write_all(b"]}").expect("gzip to memory");
    S3Object {
        compressed: gz.finish().expect("gzip to memory"),
        decompressed_bytes: written + 2,
        events,
    }
}
