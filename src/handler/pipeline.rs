//! One invocation's way from records to the receiver. Every decoder pushes its records here, one at
//! a time: each is screened once (redact → detect → filter), formatted into the filling batch, and
//! the batch is sent each time it fills, its confirmation awaited while the next one fills. Memory
//! stays at two batches whatever the input expands to.
//!
//! Records are numbered in the order they were pushed, across batches. A caller that groups records
//! (a Kinesis or SQS item) takes a [`Mark`] where its records end and asks the [`Watermark`] of
//! what the receiver confirmed whether they all were.

use tokio::time::Instant;

use super::{ForwardError, Forwarder, LineVerdict};
use crate::findings::FindingsSource;
use crate::metrics::{FindingCounts, Metrics};
use crate::record::Record;
use crate::sources::cloudwatch::EventBuf;
use crate::sources::s3;
use crate::syslog::{Batch, Scratch};
use crate::transport::{DeliveryError, DeliveryStats, Sent, Sink};

/// Formatted bytes held before they are delivered. The first batch of an event is also its
/// validation window: an event whose fault shows within it sends nothing.
pub(super) const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// A place in the invocation's sequence of records: the number of records pushed before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Mark(usize);

/// What the receiver confirmed: every record before this place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Watermark(usize);

impl Mark {
    /// Records pushed between `start` and this place.
    pub(super) fn records_since(self, start: Mark) -> usize {
        self.0.saturating_sub(start.0)
    }
}

impl Watermark {
    /// Whether every record pushed before `end` is confirmed.
    pub(super) fn covers(self, end: Mark) -> bool {
        self.0 >= end.0
    }

    pub(super) fn records(self) -> usize {
        self.0
    }
}

/// The batch being filled and the one before it, sent and awaiting the receiver's confirmation
/// while this one fills: formatting and the network overlap, and a failed attempt still resends
/// from the batch in flight.
#[derive(Default)]
pub(super) struct Outbox {
    filling: Batch,
    in_flight: Batch,
    sent: Option<Sent>,
    head: Scratch,
    /// The filters' verdict on the last record, which the later pieces of a cut line take.
    line: LineVerdict,
}

/// What decoders reuse from one invocation to the next.
#[derive(Default)]
pub(super) struct DecodeBuffers {
    /// The decompressed window of a stream.
    pub(super) window: Vec<u8>,
    /// Compressed bytes (base64-decoded subscription data, a Kinesis record's data).
    pub(super) compressed: Vec<u8>,
    pub(super) event: EventBuf,
    pub(super) entry: s3::Entry,
}

/// The buffers a warm instance keeps between invocations.
#[derive(Default)]
pub(super) struct Buffers {
    outbox: Outbox,
    decode: DecodeBuffers,
}

/// Records, messages and confirmations of one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Totals {
    pub(super) records: usize,
    pub(super) messages: usize,
    pub(super) delivered: usize,
}

pub(super) struct Pipeline<'a, F> {
    forwarder: &'a Forwarder<F>,
    /// Held for the whole invocation: a Lambda instance runs one at a time.
    sink: tokio::sync::MutexGuard<'a, Sink>,
    pub(super) metrics: &'a mut Metrics,
    pub(super) deadline: Instant,
    outbox: Outbox,
    /// Number of the first record of the filling batch, and of the batch in flight.
    filling_base: usize,
    in_flight_base: usize,
    confirmed: Watermark,
    /// Messages of the records that were handed to the sink.
    messages_sent: usize,
    /// Set by the first failed delivery: nothing is sent after it.
    failed: bool,
}

impl<'a, F: FindingsSource> Pipeline<'a, F> {
    /// A pipeline with the buffers of the instance's last invocation, and its decode buffers
    /// (handed to the caller, who drives the decoders with them).
    pub(super) async fn open(
        forwarder: &'a Forwarder<F>,
        deadline: Instant,
        metrics: &'a mut Metrics,
    ) -> (Pipeline<'a, F>, DecodeBuffers) {
        let sink = forwarder.sink.lock().await;
        let Buffers { mut outbox, decode } = std::mem::take(
            &mut *forwarder
                .buffers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        outbox.filling.clear();
        outbox.in_flight.clear();
        outbox.sent = None;
        outbox.line.clear();
        let pipeline = Pipeline {
            forwarder,
            sink,
            metrics,
            deadline,
            outbox,
            filling_base: 0,
            in_flight_base: 0,
            confirmed: Watermark::default(),
            messages_sent: 0,
            failed: false,
        };
        (pipeline, decode)
    }

    /// Counts what happened and keeps the buffers (emptied, with their capacity) for the next
    /// invocation.
    pub(super) fn close(mut self, decode: DecodeBuffers) -> Totals {
        let pushed = self.mark().0;
        // Whatever is still in the outbox was never confirmed.
        let totals = Totals {
            records: pushed,
            messages: self.messages_sent + self.outbox.filling.messages(),
            delivered: self.confirmed.0,
        };
        self.metrics.records_forwarded += totals.delivered as u64;
        self.metrics.records_failed += (pushed - totals.delivered) as u64;
        self.outbox.filling.clear();
        self.outbox.in_flight.clear();
        self.outbox.sent = None;
        *self
            .forwarder
            .buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Buffers {
            outbox: self.outbox,
            decode,
        };
        totals
    }

    pub(super) fn forwarder(&self) -> &'a Forwarder<F> {
        self.forwarder
    }

    /// Where the records pushed so far end.
    pub(super) fn mark(&self) -> Mark {
        Mark(self.filling_base + self.outbox.filling.records())
    }

    pub(super) fn confirmed(&self) -> Watermark {
        self.confirmed
    }

    /// One record: screened (a dropped record is handled, not failed), formatted into the filling
    /// batch, and the batch sent when it is full. A record that cannot be formatted is not
    /// added, and the error says why.
    pub(super) async fn push(&mut self, record: &mut Record) -> Result<(), ForwardError> {
        debug_assert!(!self.failed, "nothing is pushed after a failed delivery");
        if !self
            .forwarder
            .screen(record, &mut self.outbox.line, self.metrics)
        {
            return Ok(());
        }
        self.metrics.records_in += 1;
        self.metrics.detections += u64::from(record.detection.is_some());
        self.metrics
            .findings
            .add(FindingCounts::of(std::slice::from_ref(record)));
        if let Err(e) =
            self.forwarder
                .formatter
                .append(&mut self.outbox.filling, &mut self.outbox.head, record)
        {
            self.metrics.records_failed += 1;
            return Err(e.into());
        }
        if self.outbox.filling.bytes().len() >= BATCH_BYTES {
            self.pass().await.map_err(|e| self.stopped(e, true))?;
        }
        Ok(())
    }

    /// Drops the records pushed since `mark` that are still in the filling batch; false when
    /// some of them were sent already.
    pub(super) fn roll_back(&mut self, mark: Mark) -> bool {
        let kept = mark.0.saturating_sub(self.filling_base);
        let dropped = self.outbox.filling.records().saturating_sub(kept);
        self.outbox.filling.truncate(kept);
        self.metrics.records_in = self.metrics.records_in.saturating_sub(dropped as u64);
        mark.0 >= self.filling_base
    }

    /// Delivers what the outbox holds: the filling batch sent, everything confirmed.
    pub(super) async fn finish(&mut self) -> Result<(), ForwardError> {
        if self.failed {
            return Ok(());
        }
        let result = match self.pass().await {
            Ok(()) => self.confirm_in_flight().await,
            Err(e) => Err(e),
        };
        result.map_err(|e| self.stopped(e, false))
    }

    /// After a fault of the input: the batch in flight is still confirmed (so the error can say
    /// how many records went out); the filling one is never sent.
    pub(super) async fn abandon(&mut self) {
        if !self.failed {
            // A failed confirmation only lowers the count; the input's own fault is the error.
            let _ = self.confirm_in_flight().await;
        }
        self.failed = true;
    }

    /// The error of a failed delivery, counted for the whole invocation; nothing is sent after
    /// it. `rest_unread`: the input was not read to its end.
    fn stopped(&mut self, mut error: DeliveryError, rest_unread: bool) -> ForwardError {
        self.failed = true;
        error.delivered = self.confirmed.0;
        error.failed = self.mark().0 - self.confirmed.0;
        error.rest_unread = rest_unread;
        ForwardError::Delivery(error)
    }

    /// Sends the filling batch once the one in flight is confirmed; the filling batch then takes
    /// over the confirmed one's buffers.
    async fn pass(&mut self) -> Result<(), DeliveryError> {
        if self.outbox.filling.is_empty() {
            return Ok(());
        }
        self.confirm_in_flight().await?;
        let outbox = &mut self.outbox;
        std::mem::swap(&mut outbox.filling, &mut outbox.in_flight);
        self.in_flight_base = self.filling_base;
        self.filling_base += outbox.in_flight.records();
        self.messages_sent += outbox.in_flight.messages();
        self.metrics.split_parts +=
            (outbox.in_flight.messages() - outbox.in_flight.records()) as u64;
        let mut stats = DeliveryStats::default();
        let sent = self
            .sink
            .send(&outbox.in_flight, self.deadline, &mut stats)
            .await;
        self.metrics.add_delivery(&stats);
        match sent {
            Ok(sent) => {
                outbox.sent = Some(sent);
                Ok(())
            }
            Err(e) => {
                self.confirmed = Watermark(self.in_flight_base + e.delivered);
                outbox.in_flight.clear();
                Err(e)
            }
        }
    }

    /// Waits for the batch in flight, if any, to be confirmed, and moves the watermark.
    async fn confirm_in_flight(&mut self) -> Result<(), DeliveryError> {
        let Some(sent) = self.outbox.sent.take() else {
            return Ok(());
        };
        let mut stats = DeliveryStats::default();
        let outbox = &self.outbox;
        let confirmed = self
            .sink
            .confirm(&outbox.in_flight, sent, self.deadline, &mut stats)
            .await;
        self.metrics.add_delivery(&stats);
        self.outbox.in_flight.clear();
        let records = match &confirmed {
            Ok(records) => *records,
            Err(e) => e.delivered,
        };
        self.confirmed = Watermark(self.in_flight_base + records);
        confirmed.map(|_| ())
    }
}
