//! CloudWatch Logs payloads from socket to socket in one pass: each log event is scanned into one
//! reused record, tagged, formatted into a bounded batch, and the batch is sent each time it fills,
//! its confirmation awaited while the next one fills. Memory stays at the compressed payload plus
//! two batches, whatever the payload expands to. The buffers and the batch-as-it-fills helpers here
//! serve S3 objects too ([`super::objects`]).

use base64::Engine;
use tokio::time::Instant;

use super::{ForwardError, Forwarder, LineVerdict, Outcome};
use crate::findings::FindingsSource;
use crate::metrics::Metrics;
use crate::record::{Record, Severity};
use crate::sources::cloudwatch::{self, DecodeError, EventBuf, LogStream};
use crate::sources::{SourceError, s3};
use crate::syslog::{Batch, Scratch};
use crate::transport::Sent;

/// Formatted bytes held before they are delivered. The first batch of an event is also its
/// validation window: an event whose fault shows within it sends nothing.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The batch being filled and the one before it, sent and awaiting the receiver's confirmation
/// while this one fills: formatting and the network overlap, and a failed attempt still resends
/// from the batch in flight. Also the filters' verdict on the stream's last line, which the later
/// pieces of a cut line take.
#[derive(Default)]
pub(super) struct Outbox {
    pub(super) filling: Batch,
    in_flight: Batch,
    sent: Option<Sent>,
    line: LineVerdict,
}

impl Outbox {
    pub(super) fn clear(&mut self) {
        self.filling.clear();
        self.in_flight.clear();
        self.sent = None;
        self.line.clear();
    }
}

/// What the streaming paths (CloudWatch Logs payloads, S3 objects) reuse from one invocation to
/// the next.
#[derive(Default)]
pub(super) struct Buffers {
    pub(super) window: Vec<u8>,
    compressed: Vec<u8>,
    pub(super) outbox: Outbox,
    pub(super) head: Scratch,
    event: EventBuf,
    pub(super) entry: s3::Entry,
}

impl<F: FindingsSource> Forwarder<F> {
    /// The streaming buffers, for one stream at a time.
    pub(super) fn take_buffers(&self) -> Buffers {
        std::mem::take(
            &mut *self
                .buffers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Keeps the buffers (emptied, with their capacity) for the next stream.
    pub(super) fn keep_buffers(&self, mut buffers: Buffers) {
        buffers.outbox.clear();
        *self
            .buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = buffers;
    }

    pub(super) async fn forward_cloudwatch(
        &self,
        data: &str,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let mut buffers = self.take_buffers();
        let result = self
            .stream_cloudwatch(data, &mut buffers, deadline, metrics)
            .await;
        self.keep_buffers(buffers);
        result
    }

    async fn stream_cloudwatch(
        &self,
        data: &str,
        buffers: &mut Buffers,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let Buffers {
            window,
            compressed,
            outbox,
            head,
            event,
            ..
        } = buffers;
        compressed.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(data.trim(), compressed)
            .map_err(|e| SourceError::from(DecodeError::Base64(e)))?;
        let mut stream = LogStream::open(compressed, self.limits, std::mem::take(window))
            .map_err(SourceError::from)?;
        let meta = stream.meta().clone();
        if self
            .own_log_group
            .as_deref()
            .is_some_and(|own| own == meta.log_group)
        {
            return Err(SourceError::OwnLogGroup(meta.log_group).into());
        }
        let mut record = cloudwatch::log_record(cloudwatch::origin(
            &meta.owner,
            &meta.log_group,
            &meta.log_stream,
        ));
        let mut outcome = Outcome::default();
        outbox.clear();
        let result = loop {
            match stream.next_into(event) {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(e) => break Err(ForwardError::from(SourceError::from(e))),
            }
            // A control message is read to its end (so a broken one is still an error) and
            // forwards nothing.
            if !meta.is_data() {
                continue;
            }
            self.fill(&mut record, event);
            if let Err(e) = self
                .forward_record(&mut record, outbox, head, &mut outcome, deadline, metrics)
                .await
            {
                break Err(e);
            }
        };
        if let Err(error) = result {
            self.abandon(outbox, &mut outcome, deadline, metrics).await;
            let error = match error {
                ForwardError::Delivery(mut e) => {
                    let rest = count_rest(&mut stream, event);
                    metrics.records_failed += rest as u64;
                    e.failed += rest;
                    ForwardError::Delivery(e)
                }
                other => other,
            };
            *window = stream.into_buffer();
            return Err(error.after(outcome.delivered));
        }
        *window = stream.into_buffer();
        self.finish(outbox, &mut outcome, deadline, metrics).await?;
        Ok(outcome)
    }

    /// The record for one log event: the event's strings move in (no copy; the record's previous
    /// buffers go to the event for the next one); screening (redaction, detections, filters)
    /// follows.
    fn fill(&self, record: &mut Record, event: &mut EventBuf) {
        record.timestamp_ms = event.timestamp;
        std::mem::swap(&mut record.payload, &mut event.message);
        match record.id.as_mut() {
            Some(id) => std::mem::swap(id, &mut event.id),
            None => record.id = Some(std::mem::take(&mut event.id)),
        }
        record.severity = Severity::Informational;
        record.detection = None;
    }

    /// One streamed record: screened (redaction, detections, filters; a dropped record is
    /// handled), counted, appended to the batch, and the batch sent when it is full. The streaming
    /// sources (CloudWatch Logs, S3 objects) all go through here.
    pub(super) async fn forward_record(
        &self,
        record: &mut Record,
        outbox: &mut Outbox,
        head: &mut Scratch,
        outcome: &mut Outcome,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), ForwardError> {
        if !self.screen_streamed(record, &mut outbox.line, metrics) {
            return Ok(());
        }
        metrics.records_in += 1;
        if record.detection.is_some() {
            metrics.detections += 1;
        }
        self.formatter.append(&mut outbox.filling, head, record)?;
        if outbox.filling.bytes().len() >= BATCH_BYTES {
            self.pass(outbox, outcome, deadline, metrics).await?;
        }
        Ok(())
    }

    /// Sends the filling batch once the one in flight is confirmed; the filling batch then takes
    /// over the confirmed one's buffers. A failure counts the filling batch's records as failed
    /// too (they were never sent).
    async fn pass(
        &self,
        outbox: &mut Outbox,
        outcome: &mut Outcome,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), ForwardError> {
        if outbox.filling.is_empty() {
            return Ok(());
        }
        if let Err(mut e) = self
            .confirm_in_flight(outbox, outcome, deadline, metrics)
            .await
        {
            let unsent = outbox.filling.records();
            e.failed += unsent;
            metrics.records_failed += unsent as u64;
            outcome.records += unsent;
            outcome.messages += outbox.filling.messages();
            outbox.filling.clear();
            return Err(e.into());
        }
        std::mem::swap(&mut outbox.filling, &mut outbox.in_flight);
        outcome.records += outbox.in_flight.records();
        outcome.messages += outbox.in_flight.messages();
        match self.send_batch(&outbox.in_flight, deadline, metrics).await {
            Ok(sent) => {
                outbox.sent = Some(sent);
                Ok(())
            }
            Err(e) => {
                outbox.in_flight.clear();
                Err(e.into())
            }
        }
    }

    /// Waits for the batch in flight, if any, to be confirmed; counts what was.
    async fn confirm_in_flight(
        &self,
        outbox: &mut Outbox,
        outcome: &mut Outcome,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), crate::transport::DeliveryError> {
        let Some(sent) = outbox.sent.take() else {
            return Ok(());
        };
        let confirmed = self
            .confirm_batch(&outbox.in_flight, sent, deadline, metrics)
            .await;
        outbox.in_flight.clear();
        outcome.delivered += confirmed?;
        Ok(())
    }

    /// Delivers what the outbox holds: the filling batch sent, everything confirmed.
    pub(super) async fn finish(
        &self,
        outbox: &mut Outbox,
        outcome: &mut Outcome,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<(), ForwardError> {
        self.pass(outbox, outcome, deadline, metrics).await?;
        self.confirm_in_flight(outbox, outcome, deadline, metrics)
            .await?;
        Ok(())
    }

    /// After a fault of the stream: the batch in flight is still confirmed (so the error can say
    /// how many records went out), the filling one is counted as failed and dropped.
    pub(super) async fn abandon(
        &self,
        outbox: &mut Outbox,
        outcome: &mut Outcome,
        deadline: Instant,
        metrics: &mut Metrics,
    ) {
        // A failed confirmation is counted by `confirm_batch`; the stream's own fault is the error.
        let _ = self
            .confirm_in_flight(outbox, outcome, deadline, metrics)
            .await;
        // Records decoded but never sent count as failed, so the counts add up.
        metrics.records_failed += outbox.filling.records() as u64;
        outbox.filling.clear();
    }
}

/// The events left in the stream, read without forwarding them, so a failed delivery still says
/// how many records the event held.
fn count_rest(stream: &mut LogStream<'_>, event: &mut EventBuf) -> usize {
    let mut rest = 0;
    while let Ok(true) = stream.next_into(event) {
        rest += 1;
    }
    rest
}
