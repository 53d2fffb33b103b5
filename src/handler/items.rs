//! Kinesis and SQS batches. Each item (a Kinesis record, an SQS message) is a span of records in the
//! pipeline: it is done when its last record is confirmed. What is not done goes back to Lambda as a
//! partial batch response (`ReportBatchItemFailures`), by the rule of the item's source.

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::pipeline::{DecodeBuffers, Mark, Pipeline, Watermark};
use super::{ForwardError, Forwarder, Outcome};
use crate::findings::FindingsSource;
use crate::metrics::Metrics;
use crate::sources::SourceError;
use crate::sources::kinesis::KinesisRecord;
use crate::sources::sqs::SqsMessage;
use crate::time::now_ms;

/// `{"batchItemFailures":[{"itemIdentifier":"…"}]}`: an empty list is full success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    /// The Kinesis sequence number or the SQS message id.
    pub item_identifier: String,
}

/// How a failed item affects the ones after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Kinesis: Lambda resumes the shard from the lowest reported sequence number, so only that
    /// one is reported, and nothing after it is sent (it would only be sent twice).
    Shard,
    /// A FIFO queue: the first failed message and every later one are reported, and nothing after
    /// it is sent, so each message group keeps its order (AWS's rule).
    Fifo,
    /// A standard queue: each message is kept or deleted on its own.
    Free,
}

/// The items of a batch, each read when its turn comes.
enum Items<'a> {
    Kinesis(Vec<KinesisRecord<'a>>),
    Sqs(Vec<SqsMessage<'a>>),
}

impl Items<'_> {
    fn len(&self) -> usize {
        match self {
            Items::Kinesis(records) => records.len(),
            Items::Sqs(messages) => messages.len(),
        }
    }

    fn id(&self, index: usize) -> String {
        match self {
            Items::Kinesis(records) => records[index].sequence_number.to_string(),
            Items::Sqs(messages) => messages[index].message_id.to_string(),
        }
    }

    fn order(&self) -> Order {
        match self {
            Items::Kinesis(_) => Order::Shard,
            Items::Sqs(messages) if messages.first().is_some_and(|m| m.fifo) => Order::Fifo,
            Items::Sqs(_) => Order::Free,
        }
    }
}

/// Where an item's records end in the pipeline, and whether it failed on its own.
struct Span {
    end: Mark,
    failed: bool,
}

impl<F: FindingsSource> Forwarder<F> {
    pub(super) async fn forward_kinesis(
        &self,
        raws: &[&RawValue],
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        // Every record must name itself, or its failure could not be reported.
        let records = raws
            .iter()
            .map(|raw| KinesisRecord::parse(raw).map_err(SourceError::from))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(oldest) = records.iter().map(|r| r.arrival_ms).min() {
            metrics.iterator_age_ms = Some(now_ms().saturating_sub(oldest).max(0) as f64);
        }
        self.forward_items(Items::Kinesis(records), deadline, metrics)
            .await
    }

    pub(super) async fn forward_sqs(
        &self,
        raws: &[&RawValue],
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let messages = raws
            .iter()
            .map(|raw| SqsMessage::parse(raw).map_err(SourceError::from))
            .collect::<Result<Vec<_>, _>>()?;
        self.forward_items(Items::Sqs(messages), deadline, metrics)
            .await
    }

    async fn forward_items(
        &self,
        items: Items<'_>,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let (mut pipeline, mut buffers) = Pipeline::open(self, deadline, metrics).await;
        let (spans, delivery) = drive(&mut pipeline, &items, &mut buffers).await;
        let confirmed = pipeline.confirmed();
        let totals = pipeline.close(buffers);
        if let Some(error) = delivery {
            if let ForwardError::Delivery(e) = &error
                && e.cause.is_permanent()
                && confirmed.records() == 0
            {
                // Nothing can be judged per item: the receiver refused us for good.
                return Err(error);
            }
            tracing::warn!(%error, "delivery failed; reporting the unconfirmed items failed");
        }
        let failures = judge(&items, &spans, confirmed);
        metrics.batch_items_in = items.len() as u64;
        metrics.batch_items_failed = failures.len() as u64;
        Ok(Outcome {
            records: totals.records,
            messages: totals.messages,
            delivered: totals.delivered,
            batch: Some(BatchResponse {
                batch_item_failures: failures,
            }),
        })
    }
}

/// Reads the items in order into the pipeline, until the end or until nothing more may be sent;
/// the error that stopped delivery, if one did.
async fn drive<F: FindingsSource>(
    pipeline: &mut Pipeline<'_, F>,
    items: &Items<'_>,
    buffers: &mut DecodeBuffers,
) -> (Vec<Span>, Option<ForwardError>) {
    let order = items.order();
    let mut spans = Vec::with_capacity(items.len());
    for index in 0..items.len() {
        let start = pipeline.mark();
        let result = match items {
            Items::Kinesis(records) => pipeline.kinesis_record(&records[index], buffers).await,
            Items::Sqs(messages) => match messages[index].body() {
                Ok(body) => pipeline.sqs_body(body, buffers).await,
                Err(e) => Err(SourceError::from(e).into()),
            },
        };
        let error = match result {
            Ok(()) => {
                spans.push(Span {
                    end: pipeline.mark(),
                    failed: false,
                });
                continue;
            }
            Err(error) => error,
        };
        spans.push(Span {
            end: pipeline.mark(),
            failed: true,
        });
        if matches!(error, ForwardError::Delivery(_)) {
            return (spans, Some(error));
        }
        tracing::warn!(item = %items.id(index), %error, "batch item cannot be forwarded; reporting it failed");
        // Its records that are still unsent go; those sent are duplicates the retry repeats.
        pipeline.roll_back(start);
        if error.out_of_time() || order != Order::Free {
            break;
        }
    }
    let finished = pipeline.finish().await.err();
    (spans, finished)
}

/// The items to report: those that failed on their own, were not confirmed, or were never read,
/// by the rule of the batch's [`Order`].
fn judge(items: &Items<'_>, spans: &[Span], confirmed: Watermark) -> Vec<ItemFailure> {
    let done = |index: usize| {
        spans
            .get(index)
            .is_some_and(|span| !span.failed && confirmed.covers(span.end))
    };
    let failure = |index| ItemFailure {
        item_identifier: items.id(index),
    };
    let all = 0..items.len();
    match items.order() {
        Order::Shard => all
            .clone()
            .find(|&i| !done(i))
            .map(failure)
            .into_iter()
            .collect(),
        Order::Fifo => match all.clone().find(|&i| !done(i)) {
            Some(first) => (first..items.len()).map(failure).collect(),
            None => Vec::new(),
        },
        Order::Free => all.filter(|&i| !done(i)).map(failure).collect(),
    }
}
