//! Kinesis and SQS events built the way AWS builds them: Kinesis records carrying what a CloudWatch
//! Logs destination writes (gzip of the subscription JSON), SQS records carrying event bodies.

use serde_json::{Value, json};

use super::encode::base64;

pub const STREAM_ARN: &str = "arn:aws:kinesis:eu-west-1:999988887777:stream/central-logs";
pub const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:999988887777:forwarder-failures";

/// The subscription JSON of a DATA_MESSAGE from `owner`'s `log_group`, one log event per message;
/// event ids start at `first_id`.
pub fn log_data(owner: &str, log_group: &str, first_id: usize, messages: &[String]) -> Value {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({"id": format!("{:056}", first_id + i), "timestamp": 1_795_341_600_000_i64 + i as i64, "message": m})
        })
        .collect();
    json!({
        "messageType": "DATA_MESSAGE", "owner": owner, "logGroup": log_group,
        "logStream": "2026/11/22/[$LATEST]0123456789abcdef", "subscriptionFilters": ["to-central"],
        "logEvents": events,
    })
}

/// The CONTROL_MESSAGE CloudWatch Logs writes when a subscription is created.
pub fn control_data() -> Value {
    json!({
        "messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 1_795_341_600_000_i64,
                       "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}],
    })
}

/// A Kinesis event of one shard: each data is a record, with increasing sequence numbers. Returns
/// the event and the sequence numbers.
pub fn kinesis_event(datas: &[Vec<u8>]) -> (String, Vec<String>) {
    let sequences: Vec<String> = (0..datas.len())
        .map(|i| {
            format!(
                "4959033827149025660855969253836157109592157598913658{:04}",
                i
            )
        })
        .collect();
    let records: Vec<Value> = datas
        .iter()
        .zip(&sequences)
        .enumerate()
        .map(|(i, (data, sequence))| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0", "partitionKey": format!("pk-{i}"),
                    "sequenceNumber": sequence, "data": base64(data),
                    "approximateArrivalTimestamp": 1_795_341_600.5_f64 + i as f64,
                },
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::999988887777:role/forwarder",
                "awsRegion": "eu-west-1", "eventSourceARN": STREAM_ARN,
            })
        })
        .collect();
    (json!({ "Records": records }).to_string(), sequences)
}

/// An SQS event with one message per body. Returns the event and the message ids.
pub fn sqs_event(bodies: &[String]) -> (String, Vec<String>) {
    let ids: Vec<String> = (0..bodies.len())
        .map(|i| format!("059f36b4-87a3-44ab-83d2-6619758{:05}", i))
        .collect();
    let records: Vec<Value> = bodies
        .iter()
        .zip(&ids)
        .map(|(body, id)| {
            json!({
                "messageId": id, "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795341600000",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1795341600010"},
                "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN, "awsRegion": "eu-west-1",
            })
        })
        .collect();
    (json!({ "Records": records }).to_string(), ids)
}

/// What this function's on-failure destination (the failure queue) receives for a failed event.
pub fn failure_record(original: &str) -> String {
    let original: Value = serde_json::from_str(original).expect("original event is JSON");
    json!({
        "version": "1.0", "timestamp": "2026-11-22T10:00:00.000Z",
        "requestContext": {"requestId": "c1c2c3", "functionArn": "arn:aws:lambda:eu-west-1:999988887777:function:forwarder:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": original,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "DeliveryFailed", "errorMessage": "0 of 3 records delivered"},
    })
    .to_string()
}

/// `{"awslogs":{"data":…}}` for `log_data`.
pub fn awslogs_event(log_data: &Value) -> String {
    super::encode::awslogs(&log_data.to_string())
}

pub const FIFO_QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:999988887777:forwarder-ordered.fifo";

/// An SQS event from a FIFO queue: one message group, message attributes as FIFO queues send them.
pub fn sqs_fifo_event(bodies: &[String]) -> (String, Vec<String>) {
    let (event, ids) = sqs_event(bodies);
    let mut event: Value = serde_json::from_str(&event).expect("an SQS event");
    for (i, record) in event["Records"]
        .as_array_mut()
        .expect("Records")
        .iter_mut()
        .enumerate()
    {
        record["eventSourceARN"] = json!(FIFO_QUEUE_ARN);
        record["attributes"]["MessageGroupId"] = json!("orders");
        record["attributes"]["SequenceNumber"] = json!(format!("1878000000000000{i:04}"));
        record["attributes"]["MessageDeduplicationId"] = json!(format!("dedup-{i}"));
    }
    (event.to_string(), ids)
}

/// A KPL aggregated record: the magic, the protobuf `AggregatedRecord` (the partition key table and
/// one `Record` per `(key index, data)`), and the MD5 digest of the protobuf.
pub fn kpl_aggregate(keys: &[&str], records: &[(u64, &[u8])]) -> Vec<u8> {
    use md5::{Digest, Md5};
    fn varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    fn bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push(tag);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    let mut message = Vec::new();
    for key in keys {
        bytes_field(&mut message, 0x0a, key.as_bytes());
    }
    for (key_index, data) in records {
        let mut record = vec![0x08];
        varint(&mut record, *key_index);
        bytes_field(&mut record, 0x1a, data);
        bytes_field(&mut message, 0x1a, &record);
    }
    let mut aggregate = vec![0xF3, 0x89, 0x9A, 0xC2];
    aggregate.extend_from_slice(&message);
    aggregate.extend_from_slice(&Md5::digest(&message));
    aggregate
}
