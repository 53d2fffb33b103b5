//! S3 events in the shapes AWS sends them (a notification to the function, the same inside an SQS
//! message or an SNS envelope in one, an EventBridge `Object Created` event) and CloudTrail log
//! files to put in the bucket.

use serde_json::{Value, json};

use super::batches::sqs_event;

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";

/// An object key as a notification carries it: form-encoded, a space as `+`.
pub fn form_encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'*' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One `Records[]` entry of an S3 event notification for a new object.
pub fn notification_record(bucket: &str, key: &str, size: usize) -> Value {
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": "2026-11-22T10:20:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:cloudtrail"},
        "requestParameters": {"sourceIPAddress": "203.0.113.9"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "siem",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": form_encode(key), "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}},
    })
}

/// An S3 event notification naming `objects` (bucket, key, size), as S3 invokes the function.
pub fn notification(objects: &[(&str, &str, usize)]) -> String {
    let records: Vec<Value> = objects
        .iter()
        .map(|(bucket, key, size)| notification_record(bucket, key, *size))
        .collect();
    json!({ "Records": records }).to_string()
}

/// An S3 event notification naming one version of an object, as S3 sends it for a versioned
/// bucket (`s3.object.versionId`).
pub fn versioned_notification(bucket: &str, key: &str, size: usize, version_id: &str) -> String {
    let mut record = notification_record(bucket, key, size);
    record["s3"]["object"]["versionId"] = json!(version_id);
    json!({ "Records": [record] }).to_string()
}

/// An EventBridge `Object Created` event naming one version of an object
/// (`detail.object.version-id`).
pub fn versioned_object_created(bucket: &str, key: &str, size: usize, version_id: &str) -> String {
    let mut event: Value = serde_json::from_str(&object_created(bucket, key, size)).unwrap();
    event["detail"]["object"]["version-id"] = json!(version_id);
    event.to_string()
}

/// `message` as an SNS topic delivers it to an SQS queue (raw message delivery off).
pub fn sns_envelope(message: &str) -> String {
    json!({
        "Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:trail-objects"), "Subject": "Amazon S3 Notification",
        "Message": message, "Timestamp": "2026-11-22T10:20:00.100Z", "SignatureVersion": "1",
        "Signature": "EXAMPLE", "SigningCertURL": "https://sns.example/cert.pem", "UnsubscribeURL": "https://sns.example/unsubscribe",
    })
    .to_string()
}

/// An SQS event of the given message bodies, and their message ids.
pub fn sqs(bodies: &[String]) -> (String, Vec<String>) {
    sqs_event(bodies)
}

/// What S3 sends to a queue or topic when a notification is configured.
pub fn test_event(bucket: &str) -> String {
    json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-22T10:00:00.000Z",
           "Bucket": bucket, "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"})
    .to_string()
}

/// An EventBridge `Object Created` event (the key is not form-encoded there).
pub fn object_created(bucket: &str, key: &str, size: usize) -> String {
    json!({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
        "source": "aws.s3", "account": ACCOUNT, "time": "2026-11-22T10:20:00Z", "region": REGION,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": key, "size": size, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "617f08299329d189"},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": ACCOUNT, "source-ip-address": "1.2.3.4", "reason": "PutObject"},
    })
    .to_string()
}

/// A CloudTrail log file key, as a trail writes it.
pub fn trail_key(account: &str, name: &str) -> String {
    format!(
        "AWSLogs/o-a1b2c3d4e5/{account}/CloudTrail/{REGION}/2026/11/22/{account}_CloudTrail_{REGION}_{name}.json.gz"
    )
}

/// CloudTrail record `i` of a file: every tenth an ECR call, the rest S3 and STS calls, of about
/// `pad` extra bytes each.
pub fn trail_record(i: usize, pad: usize) -> Value {
    let (source, name) = match i % 10 {
        0 => ("ecr.amazonaws.com", "BatchGetImage"),
        1..=4 => ("s3.amazonaws.com", "GetObject"),
        _ => ("sts.amazonaws.com", "AssumeRole"),
    };
    json!({
        "eventVersion": "1.10",
        "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAEXAMPLE:session-{}", i % 97),
                         "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci/session-{}", i % 97), "accountId": ACCOUNT},
        "eventTime": format!("2026-11-22T10:{:02}:{:02}Z", (i / 60) % 60, i % 60),
        "eventSource": source, "eventName": name, "awsRegion": REGION,
        "sourceIPAddress": "198.51.100.23", "userAgent": "aws-sdk-go-v2/1.32.0 os/linux lang/go#1.23 \"quoted\"",
        "requestParameters": {"note": "p".repeat(pad), "index": i},
        "responseElements": null, "requestID": format!("req-{i:08}"),
        "eventID": format!("{i:08x}-0000-4000-8000-000000000000"),
        "readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    })
}

/// `{"Records":[…]}` of `count` records.
pub fn trail_file(count: usize, pad: usize) -> Vec<u8> {
    let mut out = b"{\"Records\":[".to_vec();
    for i in 0..count {
        if i > 0 {
            out.push(b',');
        }
        out.extend(trail_record(i, pad).to_string().into_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}
