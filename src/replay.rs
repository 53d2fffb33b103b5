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

/// Replays every event of every input (stdin when `inputs` is empty). Each input holds one JSON
/// event or several (JSON Lines, or concatenated).
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
        for (index, event) in serde_json::Deserializer::from_str(&text)
            .into_iter::<&RawValue>()
            .enumerate()
        {
            summary.events += 1;
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    eprintln!(
                        "replay: {name}: event {}: not valid JSON ({e}); skipping the rest of this input",
                        index + 1
                    );
                    summary.rejected_events += 1;
                    break;
                }
            };
            let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
            let (metrics, result) = forwarder.forward_measured(event.get(), deadline).await;
            if emit_metrics {
                eprintln!("{}", metrics.to_emf("replay", crate::sources::now_ms()));
            }
            match result {
                Ok(outcome) => {
                    summary.records += outcome.records;
                    summary.delivered += outcome.delivered;
                }
                Err(ForwardError::Delivery(e)) => {
                    eprintln!("replay: {name}: event {}: {e}", index + 1);
                    summary.records += e.delivered + e.failed;
                    summary.delivered += e.delivered;
                    summary.failed += e.failed;
                }
                Err(e) => {
                    eprintln!("replay: {name}: event {}: {e}", index + 1);
                    summary.rejected_events += 1;
                }
            }
        }
    }
    summary
}
