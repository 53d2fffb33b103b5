//! `replay`: process saved events exactly as the Lambda would, from files or stdin.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::value::RawValue;

use crate::findings::FindingsSource;
use crate::handler::{ForwardError, Forwarder};

/// How long one replayed event may take (Lambda's own maximum).
const EVENT_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Totals printed at the end of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub events: usize,
    pub records: usize,
    pub delivered: usize,
    /// Records not delivered.
    pub failed: usize,
    /// Events that could not be read or decoded (their record count is unknown).
    pub rejected_events: usize,
}

impl Summary {
    pub fn success(&self) -> bool {
        self.failed == 0 && self.rejected_events == 0
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replay: events={} records={} delivered={} failed={} rejected_events={}",
            self.events, self.records, self.delivered, self.failed, self.rejected_events
        )
    }
}

/// One input: a file path, or `-` for stdin.
fn read_input(path: &Path) -> std::io::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

async fn replay_one<F: FindingsSource>(
    forwarder: &Forwarder<F>,
    event: &str,
    emit_metrics: bool,
    summary: &mut Summary,
    label: &str,
) {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    let (metrics, result) = forwarder.forward_measured(event, deadline).await;
    if emit_metrics {
        eprintln!("{}", metrics.to_emf("replay", crate::time::now_ms()));
    }
    match result {
        Ok(outcome) => {
            summary.records += outcome.records;
            summary.delivered += outcome.delivered;
            summary.failed += outcome.records - outcome.delivered;
            let failed_items = outcome
                .batch
                .as_ref()
                .map_or(0, |b| b.batch_item_failures.len());
            if failed_items > 0 {
                eprintln!("replay: {label}: {failed_items} batch items not forwarded");
                if outcome.records == outcome.delivered {
                    // Items that could not be decoded: their record count is unknown.
                    summary.rejected_events += failed_items;
                }
            }
        }
        Err(ForwardError::Delivery(e)) => {
            eprintln!("replay: {label}: {e}");
            summary.records += e.delivered + e.failed;
            summary.delivered += e.delivered;
            summary.failed += e.failed;
        }
        Err(e) => {
            eprintln!("replay: {label}: {e}");
            summary.rejected_events += 1;
        }
    }
}

/// The keys of the wrappers a parked event comes in.
#[derive(serde::Deserialize)]
struct Wrapper<'a> {
    /// `aws sqs receive-message` output.
    #[serde(rename = "Messages")]
    messages: Option<Vec<SqsMessage>>,
    /// A Lambda on-failure destination record.
    #[serde(rename = "requestPayload", borrow)]
    request_payload: Option<&'a RawValue>,
    /// One SQS message (e.g. a line of `jq -c '.Messages[]'`).
    #[serde(rename = "MessageId")]
    message_id: Option<String>,
    #[serde(rename = "Body")]
    body: Option<String>,
    /// `aws kinesis get-records` output.
    #[serde(rename = "Records")]
    kinesis_records: Option<Vec<GetRecordsRecord>>,
    #[serde(rename = "MillisBehindLatest")]
    millis_behind_latest: Option<serde_json::Value>,
}

/// A record of `aws kinesis get-records` output (CLI field names and encodings).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsRecord {
    sequence_number: String,
    data: String,
    #[serde(default)]
    partition_key: String,
    /// Epoch seconds (CLI v1) or an ISO 8601 string (CLI v2).
    approximate_arrival_timestamp: serde_json::Value,
}

impl GetRecordsRecord {
    /// The record as Lambda's Kinesis event source mapping would deliver it. The CLI output does
    /// not name the stream, so the stream ARN is left empty.
    fn into_event_record(self) -> serde_json::Value {
        let seconds = match &self.approximate_arrival_timestamp {
            serde_json::Value::Number(n) => n.as_f64().unwrap_or_default(),
            serde_json::Value::String(text) => {
                crate::time::parse_rfc3339_ms(text).map_or(0.0, |ms| ms as f64 / 1_000.0)
            }
            _ => 0.0,
        };
        serde_json::json!({
            "eventSource": "aws:kinesis",
            "eventSourceARN": "",
            "kinesis": {
                "data": self.data,
                "sequenceNumber": self.sequence_number,
                "partitionKey": self.partition_key,
                "approximateArrivalTimestamp": seconds,
            },
        })
    }
}

#[derive(serde::Deserialize)]
struct SqsMessage {
    #[serde(rename = "Body")]
    body: String,
}

/// The original events inside `value`: an SQS `receive-message` output (each message body), one SQS
/// message, a Lambda on-failure destination record (its `requestPayload`), or `value` itself.
pub fn unwrap_event(value: &str) -> Vec<String> {
    match serde_json::from_str::<Wrapper>(value) {
        Ok(Wrapper {
            messages: Some(messages),
            ..
        }) => messages
            .iter()
            .flat_map(|m| unwrap_event(&m.body))
            .collect(),
        Ok(Wrapper {
            request_payload: Some(payload),
            ..
        }) => vec![payload.get().to_owned()],
        Ok(Wrapper {
            message_id: Some(_),
            body: Some(body),
            ..
        }) => unwrap_event(&body),
        Ok(Wrapper {
            kinesis_records: Some(records),
            millis_behind_latest: Some(_),
            ..
        }) => {
            let records: Vec<serde_json::Value> = records
                .into_iter()
                .map(GetRecordsRecord::into_event_record)
                .collect();
            vec![serde_json::json!({ "Records": records }).to_string()]
        }
        _ => vec![value.to_owned()],
    }
}

/// Replays every event of every input (stdin when `inputs` is empty). Each input holds one JSON
/// event or several (JSON Lines, or concatenated); Lambda failure-destination records and SQS
/// `receive-message` output are unwrapped to the original events.
/// With `emit_metrics`, each event's EMF metrics line goes to stderr.
pub async fn run<F: FindingsSource>(
    forwarder: &Forwarder<F>,
    inputs: &[PathBuf],
    emit_metrics: bool,
) -> Summary {
    let stdin = [PathBuf::from("-")];
    let inputs = if inputs.is_empty() {
        &stdin[..]
    } else {
        inputs
    };
    let mut summary = Summary::default();
    for path in inputs {
        let name = path.display();
        let text = match read_input(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("replay: cannot read {name}: {e}");
                summary.rejected_events += 1;
                continue;
            }
        };
        let progress = Progress::for_input(text.len());
        let mut index = 0;
        let mut values = serde_json::Deserializer::from_str(&text).into_iter::<&RawValue>();
        while let Some(value) = values.next() {
            let value = match value {
                Ok(value) => value,
                Err(e) => {
                    summary.events += 1;
                    summary.rejected_events += 1;
                    eprintln!(
                        "replay: {name}: value {}: not valid JSON ({e}); skipping the rest of this input",
                        index + 1
                    );
                    break;
                }
            };
            for event in unwrap_event(value.get()) {
                index += 1;
                summary.events += 1;
                replay_one(
                    forwarder,
                    &event,
                    emit_metrics,
                    &mut summary,
                    &format!("{name}: event {index}"),
                )
                .await;
            }
            progress.at(values.byte_offset(), summary.records);
        }
        progress.finish();
    }
    summary
}

/// A progress bar on stderr for large inputs, when stderr is a terminal (scripts get only the
/// one-line summary).
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// About a few thousand records of CloudWatch Logs or CloudTrail.
    const MIN_BYTES: usize = 2 * 1024 * 1024;

    fn for_input(bytes: usize) -> Progress {
        use std::io::IsTerminal;
        if bytes < Self::MIN_BYTES || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(bytes as u64);
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg} eta {eta}",
        );
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    fn at(&self, bytes: usize, records: usize) {
        if let Some(bar) = &self.0 {
            bar.set_position(bytes as u64);
            let rate = records as f64 / bar.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{records} records ({rate:.0}/s)"));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str =
        r#"{"source":"aws.ecr","detail-type":"ECR Image Action","detail":{"action-type":"PUSH"}}"#;

    #[test]
    fn unwraps_destination_records_and_sqs_messages() {
        assert_eq!(unwrap_event(EVENT), vec![EVENT]);
        let record = format!(
            r#"{{"version":"1.0","timestamp":"2026-11-22T10:00:00.000Z","requestContext":{{"requestId":"r","condition":"RetriesExhausted","approximateInvokeCount":3}},"requestPayload":{EVENT},"responseContext":{{"statusCode":200,"functionError":"Unhandled"}},"responsePayload":{{"errorMessage":"x"}}}}"#
        );
        assert_eq!(unwrap_event(&record), vec![EVENT]);
        let sqs = serde_json::json!({"Messages": [
            {"MessageId": "1", "ReceiptHandle": "h", "Body": record},
            {"MessageId": "2", "ReceiptHandle": "h", "Body": EVENT},
        ]})
        .to_string();
        assert_eq!(unwrap_event(&sqs), vec![EVENT, EVENT]);
        let one_message =
            serde_json::json!({"MessageId": "1", "ReceiptHandle": "h", "Body": record}).to_string();
        assert_eq!(unwrap_event(&one_message), vec![EVENT]);
    }

    #[test]
    fn kinesis_get_records_output_becomes_a_kinesis_event() {
        let output = r#"{"Records":[{"SequenceNumber":"4959","ApproximateArrivalTimestamp":1795341600.5,"Data":"aGVsbG8=","PartitionKey":"pk"},{"SequenceNumber":"4960","ApproximateArrivalTimestamp":"2026-11-22T10:00:00.500000+00:00","Data":"aGk=","PartitionKey":"pk"}],"NextShardIterator":"AAA","MillisBehindLatest":0}"#;
        let events = unwrap_event(output);
        assert_eq!(events.len(), 1);
        let event: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
        let records = event["Records"].as_array().unwrap();
        assert_eq!(records[0]["eventSource"], "aws:kinesis");
        assert_eq!(records[0]["kinesis"]["sequenceNumber"], "4959");
        assert_eq!(records[0]["kinesis"]["data"], "aGVsbG8=");
        assert_eq!(
            records[0]["kinesis"]["approximateArrivalTimestamp"],
            1_795_341_600.5
        );
        assert_eq!(
            records[1]["kinesis"]["approximateArrivalTimestamp"],
            1_795_341_600.5
        );
    }

    #[test]
    fn anything_else_is_passed_on_for_a_clear_error() {
        assert_eq!(unwrap_event("[1,2]"), vec!["[1,2]"]);
        assert_eq!(
            unwrap_event(r#"{"Messages":"no"}"#),
            vec![r#"{"Messages":"no"}"#]
        );
    }
}
