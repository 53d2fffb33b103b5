//! Kinesis and SQS batches: each item (a Kinesis record, an SQS message) is decoded and judged on
//! its own, records are delivered in groups of bounded size, and what was not completely delivered
//! goes back to Lambda as a partial batch response (`ReportBatchItemFailures`).

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::{ForwardError, Forwarder, Outcome};
use crate::findings::FindingsSource;
use crate::metrics::Metrics;
use crate::record::Record;
use crate::sources::kinesis::{self, KinesisRecord};
use crate::sources::s3::ObjectRef;
use crate::sources::sqs::SqsMessage;
use crate::sources::{self, SourceError};
use crate::time::now_ms;

/// Payload bytes decoded before a group is delivered: bounds what one invocation holds at once.
const GROUP_BYTES: usize = 4 * 1024 * 1024;

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
    /// Kinesis: Lambda resumes the shard from the lowest failed sequence number, so everything
    /// after a failure would only be sent twice: stop there.
    Kept,
    /// SQS: each message is kept or deleted on its own.
    Free,
}

/// Items decoded but not yet delivered, with where each one's records end.
#[derive(Default)]
struct Group {
    records: Vec<Record>,
    /// (item id, index just past its last record in `records`)
    items: Vec<(String, usize)>,
    payload_bytes: usize,
}

impl Group {
    fn push(&mut self, id: String, records: Vec<Record>) {
        self.payload_bytes += records.iter().map(|r| r.payload.len()).sum::<usize>();
        self.records.extend(records);
        self.items.push((id, self.records.len()));
    }

    fn is_full(&self) -> bool {
        self.payload_bytes >= GROUP_BYTES
    }
}

/// The judgement of a batch as it goes.
struct Judge {
    order: Order,
    failures: Vec<ItemFailure>,
    /// Set once nothing more is sent (a delivery failed, or an ordered item failed).
    stopped: bool,
    /// Whether the receiver confirmed anything in this invocation.
    confirmed_any: bool,
    outcome: Outcome,
}

impl Judge {
    fn new(order: Order) -> Judge {
        Judge {
            order,
            failures: Vec::new(),
            stopped: false,
            confirmed_any: false,
            outcome: Outcome::default(),
        }
    }

    /// Reports `id`. For Kinesis only the first failure is reported: Lambda resumes the shard from
    /// the lowest reported sequence number, so it retries everything after it anyway.
    fn fail(&mut self, id: String) {
        if self.order == Order::Kept && !self.failures.is_empty() {
            return;
        }
        self.failures.push(ItemFailure {
            item_identifier: id,
        });
    }

    fn finish(mut self, items: usize, metrics: &mut Metrics) -> Outcome {
        metrics.batch_items_in = items as u64;
        metrics.batch_items_failed = self.failures.len() as u64;
        self.outcome.batch = Some(BatchResponse {
            batch_item_failures: self.failures,
        });
        self.outcome
    }
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
        let mut judge = Judge::new(Order::Kept);
        let mut group = Group::default();
        for record in records {
            let id = record.sequence_number.clone();
            if judge.stopped {
                judge.fail(id);
                continue;
            }
            let decoded = kinesis::records(&record, self.limits, self.own_log_group.as_deref())
                .map(|mut records| {
                    self.screen(&mut records, metrics);
                    records
                });
            self.take(id, decoded, &mut group, &mut judge, deadline, metrics)
                .await?;
        }
        self.flush(&mut group, &mut judge, deadline, metrics)
            .await?;
        Ok(judge.finish(raws.len(), metrics))
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
        let mut judge = Judge::new(Order::Free);
        let mut group = Group::default();
        for message in messages {
            if judge.stopped {
                judge.fail(message.message_id);
                continue;
            }
            let event = sources::check_bounds(&message.body, self.limits)
                .and_then(|()| sources::classify(&message.body));
            if let Some(objects) = event.as_ref().ok().and_then(|e| e.s3_objects()) {
                self.take_objects(
                    message.message_id,
                    objects,
                    &mut group,
                    &mut judge,
                    deadline,
                    metrics,
                )
                .await?;
                continue;
            }
            let decoded = match event {
                Err(e) => Err(e),
                Ok(event) => {
                    match tokio::time::timeout_at(deadline, self.event_records(event, metrics))
                        .await
                    {
                        Ok(decoded) => decoded,
                        Err(_) => {
                            tracing::warn!(
                                item = %message.message_id,
                                "the deadline came while reading the message; it stays in the queue"
                            );
                            judge.stopped = true;
                            judge.fail(message.message_id);
                            continue;
                        }
                    }
                }
            };
            self.take(
                message.message_id,
                decoded,
                &mut group,
                &mut judge,
                deadline,
                metrics,
            )
            .await?;
        }
        self.flush(&mut group, &mut judge, deadline, metrics)
            .await?;
        Ok(judge.finish(raws.len(), metrics))
    }

    /// A message naming S3 objects: the group so far is delivered first (order is kept and
    /// memory bounded), then each object is streamed; the message is done when every object was
    /// delivered whole. An object that cannot be read fails its message alone; a receiver that
    /// fails stops the batch, as in [`Forwarder::flush`].
    async fn take_objects(
        &self,
        id: String,
        objects: &[ObjectRef],
        group: &mut Group,
        judge: &mut Judge,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), ForwardError> {
        self.flush(group, judge, deadline, metrics).await?;
        if judge.stopped {
            judge.fail(id);
            return Ok(());
        }
        for object in objects {
            match self.forward_object(object, deadline, metrics).await {
                Ok(sent) => {
                    judge.confirmed_any |= sent.delivered > 0;
                    judge.outcome.add(&sent);
                }
                Err(ForwardError::Delivery(e))
                    if e.cause.is_permanent() && !judge.confirmed_any =>
                {
                    return Err(ForwardError::Delivery(e));
                }
                Err(error) => {
                    tracing::warn!(item = %id, %error, "batch item cannot be forwarded; reporting it failed");
                    let (delivered, failed) = match &error {
                        ForwardError::Delivery(e) => (e.delivered, e.failed),
                        ForwardError::PartlyDelivered { delivered, .. } => (*delivered, 0),
                        _ => (0, 0),
                    };
                    judge.outcome.records += delivered + failed;
                    judge.outcome.delivered += delivered;
                    judge.confirmed_any |= delivered > 0;
                    // No receiver, or no time left: nothing more can be delivered.
                    judge.stopped |=
                        matches!(error, ForwardError::Delivery(_)) || error.out_of_time();
                    judge.fail(id);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Adds one decoded item to the group (delivering the group when full), or judges it failed.
    async fn take(
        &self,
        id: String,
        decoded: Result<Vec<Record>, SourceError>,
        group: &mut Group,
        judge: &mut Judge,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), ForwardError> {
        match decoded {
            Ok(records) => {
                metrics.records_in += records.len() as u64;
                group.push(id, records);
                if group.is_full() {
                    self.flush(group, judge, deadline, metrics).await?;
                }
            }
            Err(error) => {
                tracing::warn!(item = %id, %error, "batch item cannot be forwarded; reporting it failed");
                if judge.order == Order::Kept {
                    // What came before it is still delivered; nothing after it is sent.
                    self.flush(group, judge, deadline, metrics).await?;
                    judge.stopped = true;
                }
                judge.fail(id);
            }
        }
        Ok(())
    }

    /// Delivers the group; items whose records were all confirmed are done, the others fail (and
    /// nothing more is sent). Fails the invocation only when nothing could be judged per item: the
    /// receiver refused us for good before confirming anything.
    async fn flush(
        &self,
        group: &mut Group,
        judge: &mut Judge,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), ForwardError> {
        let Group { records, items, .. } = std::mem::take(group);
        if items.is_empty() {
            return Ok(());
        }
        if judge.stopped {
            items.into_iter().for_each(|(id, _)| judge.fail(id));
            return Ok(());
        }
        let confirmed = match self.send(records, deadline, metrics).await {
            Ok(sent) => {
                judge.outcome.add(&sent);
                sent.delivered
            }
            Err(ForwardError::Delivery(e)) if e.cause.is_permanent() && !judge.confirmed_any => {
                return Err(ForwardError::Delivery(e));
            }
            Err(ForwardError::Delivery(e)) => {
                tracing::warn!(error = %e, "delivery failed; reporting the unconfirmed items failed");
                judge.outcome.records += e.delivered + e.failed;
                judge.outcome.delivered += e.delivered;
                judge.stopped = true;
                e.delivered
            }
            Err(other) => return Err(other),
        };
        judge.confirmed_any |= confirmed > 0;
        for (id, end) in items {
            if end > confirmed {
                judge.fail(id);
            }
        }
        Ok(())
    }
}
