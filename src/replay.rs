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
        let mut index = 0;
        for value in serde_json::Deserializer::from_str(&text).into_iter::<&RawValue>() {
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
        }
    }
    summary
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
    fn anything_else_is_passed_on_for_a_clear_error() {
        assert_eq!(unwrap_event("[1,2]"), vec!["[1,2]"]);
        assert_eq!(
            unwrap_event(r#"{"Messages":"no"}"#),
            vec![r#"{"Messages":"no"}"#]
        );
    }
}
