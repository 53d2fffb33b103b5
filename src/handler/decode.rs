//! The decoders, driven into the pipeline: whatever an event holds (a CloudWatch Logs payload, S3
//! objects, EventBridge events and findings, a Kinesis record's data) becomes records pushed one at
//! a time. The CloudWatch Logs payload scanner serves every place such a payload appears: the direct
//! subscription, an SQS body, an SNS message, an on-failure record, a Kinesis record, a KPL user
//! record.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;

use super::ForwardError;
use super::pipeline::{DecodeBuffers, Pipeline};
use crate::findings::FindingsSource;
use crate::sources::cloudwatch::tags::Lookup;
use crate::sources::cloudwatch::{self, DecodeError, EventBuf, LogStream};
use crate::sources::kinesis::{self, Data, KinesisRecord, Part};
use crate::sources::{self, Event, SourceError, kpl};

impl<F: FindingsSource> Pipeline<'_, F> {
    /// Every record of one classified event that is not a batch.
    pub(super) async fn event(
        &mut self,
        event: Event<'_>,
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        match event {
            Event::CloudWatchLogs(data) => self.subscription(&data, buffers).await,
            Event::S3Notification(objects) => {
                for object in &objects {
                    self.object(object, buffers).await?;
                }
                Ok(())
            }
            Event::S3ObjectCreated(object) => self.object(&object, buffers).await,
            Event::Kinesis(_) | Event::Sqs(_) => {
                Err(SourceError::Unsupported("a Kinesis or SQS batch inside a batch".into()).into())
            }
            event @ (Event::Scan(_) | Event::EventBridge { .. }) => {
                let forwarder = self.forwarder();
                let records = sources::event_records(
                    event,
                    forwarder.limits,
                    forwarder.own_log_group.as_deref(),
                    &forwarder.findings,
                );
                let records = tokio::time::timeout_at(self.deadline, records)
                    .await
                    .map_err(|_| ForwardError::DeadlineWhileReading)??;
                for mut record in records {
                    self.push(&mut record).await?;
                }
                Ok(())
            }
        }
    }

    /// `awslogs.data`: base64 of a gzip CloudWatch Logs payload.
    async fn subscription(
        &mut self,
        data: &str,
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let mut compressed = std::mem::take(&mut buffers.compressed);
        compressed.clear();
        let result = match base64::engine::general_purpose::STANDARD
            .decode_vec(data.trim(), &mut compressed)
        {
            Ok(()) => self.cloudwatch(&compressed, buffers).await,
            Err(e) => Err(SourceError::from(DecodeError::Base64(e)).into()),
        };
        buffers.compressed = compressed;
        result
    }

    /// A gzip CloudWatch Logs payload, streamed: one record per log event of a DATA_MESSAGE. The
    /// function's own log group is refused (the caller decides what that means for its input).
    async fn cloudwatch(
        &mut self,
        compressed: &[u8],
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let limits = self.forwarder().limits;
        let mut stream = LogStream::open(compressed, limits, std::mem::take(&mut buffers.window))
            .map_err(SourceError::from)?;
        let result = self.log_events(&mut stream, &mut buffers.event).await;
        buffers.window = stream.into_buffer();
        result
    }

    async fn log_events(
        &mut self,
        stream: &mut LogStream<'_>,
        event: &mut EventBuf,
    ) -> Result<(), ForwardError> {
        let meta = stream.meta().clone();
        if self
            .forwarder()
            .own_log_group
            .as_deref()
            .is_some_and(|own| own == meta.log_group)
        {
            return Err(SourceError::OwnLogGroup(meta.log_group).into());
        }
        let mut origin = cloudwatch::origin(&meta.owner, &meta.log_group, &meta.log_stream);
        if let Some(tags) = self
            .forwarder()
            .log_group_tags
            .as_ref()
            .filter(|_| meta.is_data())
        {
            let (params, lookup) = tags.of(&meta.owner, &meta.log_group, self.deadline).await;
            self.metrics.tag_lookups_failed += u64::from(lookup == Lookup::Failed);
            if let Some(origin) = Arc::get_mut(&mut origin) {
                origin.tags = params.to_vec();
            }
        }
        let mut record = cloudwatch::log_record(origin);
        while stream.next_into(event).map_err(SourceError::from)? {
            // A control message is read to its end (so a broken one is still an error) and
            // forwards nothing.
            if !meta.is_data() {
                continue;
            }
            record.refill(event.timestamp, &mut event.message, &mut event.id);
            self.push(&mut record).await?;
        }
        Ok(())
    }

    /// One Kinesis record: its data as a CloudWatch Logs payload, a KPL aggregate or text. Data
    /// that can never be decoded is forwarded base64-encoded; the function's own log group is
    /// skipped. Only a failed delivery or a record that cannot be formatted is an error.
    pub(super) async fn kinesis_record(
        &mut self,
        record: &KinesisRecord<'_>,
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let mut data = std::mem::take(&mut buffers.compressed);
        let result = match record.decode_into(&mut data) {
            Ok(()) => self.kinesis_data(record, Part::Whole, &data, buffers).await,
            Err(reason) => {
                // Not base64: forward the text as it came, so nothing of it is lost.
                let raw = record.data.as_bytes().to_vec();
                self.undecodable(record, Part::Whole, &raw, reason).await
            }
        };
        buffers.compressed = data;
        result
    }

    async fn kinesis_data(
        &mut self,
        record: &KinesisRecord<'_>,
        part: Part<'_>,
        data: &[u8],
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let max_text = self.forwarder().limits.max_message_bytes;
        match Data::of(data, part, max_text) {
            Data::Text(text) => {
                let mut text_record = kinesis::text_record(record, part, text);
                self.push(&mut text_record).await
            }
            Data::Undecodable(reason) => self.undecodable(record, part, data, reason).await,
            Data::Aggregate(data) => match kpl::deaggregate(data) {
                Ok(aggregate) => {
                    for user in aggregate.records() {
                        let part = Part::User {
                            index: user.index,
                            partition_key: user.partition_key,
                        };
                        Box::pin(self.kinesis_data(record, part, user.data, buffers)).await?;
                    }
                    Ok(())
                }
                Err(e) => {
                    let reason = e.to_string();
                    self.undecodable(record, part, data, &reason).await
                }
            },
            Data::CloudWatch(compressed) => {
                let start = self.mark();
                match self.cloudwatch(compressed, buffers).await {
                    Ok(()) => Ok(()),
                    Err(ForwardError::Source(SourceError::OwnLogGroup(group))) => {
                        tracing::debug!(
                            sequence_number = %record.sequence_number,
                            log_group = %group,
                            "the function's own log group: skipped"
                        );
                        self.metrics.records_skipped += 1;
                        Ok(())
                    }
                    Err(ForwardError::Source(SourceError::CloudWatch(e))) => {
                        // What of the payload is still unsent is replaced by the whole record.
                        self.roll_back(start);
                        self.undecodable(record, part, data, kinesis::undecodable_reason(&e))
                            .await
                    }
                    Err(other) => Err(other),
                }
            }
        }
    }

    /// Forwards data that can never be decoded as one record of its base64, counted and logged.
    async fn undecodable(
        &mut self,
        record: &KinesisRecord<'_>,
        part: Part<'_>,
        data: &[u8],
        reason: &str,
    ) -> Result<(), ForwardError> {
        let index = match part {
            Part::Whole => None,
            Part::User { index, .. } => Some(index),
        };
        tracing::warn!(
            sequence_number = %record.sequence_number,
            user_record = ?index,
            reason,
            "Kinesis record cannot be decoded; forwarding its data base64-encoded"
        );
        self.metrics.undecodable_records += 1;
        let mut undecodable = kinesis::undecodable_record(record, part, data, reason);
        self.push(&mut undecodable).await
    }

    /// The body of an SQS message: any single event.
    pub(super) async fn sqs_body(
        &mut self,
        body: Cow<'_, str>,
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let limits = self.forwarder().limits;
        sources::check_bounds(&body, limits)?;
        let event = sources::classify(&body)?;
        self.event(event, buffers).await
    }
}
