//! S3 objects from `GetObject` to the socket: the body is read chunk by chunk, each chunk pushed
//! into the object's scanner, each record it yields filled into one reused record, tagged,
//! formatted into the bounded batch, and the batch delivered as it fills (the CloudWatch Logs
//! stream's buffers and helpers). Neither the object nor its decompressed text is ever held
//! whole. An object is delivered when all its records were; any failure fails it, and a retry
//! reads it again from the start (its records keep their ids).

use std::sync::Arc;

use tokio::time::Instant;

use super::stream::Buffers;
use super::{ForwardError, Forwarder, Outcome};
use crate::findings::FindingsSource;
use crate::metrics::Metrics;
use crate::record::{Origin, Record, Severity};
use crate::sources::SourceError;
use crate::sources::s3::{self, Entry, ObjectRef, ObjectStream, S3Error, Step};
use crate::time::now_ms;

impl<F: FindingsSource> Forwarder<F> {
    /// The objects of one event, in order, each delivered whole before the next is read.
    pub(super) async fn forward_objects(
        &self,
        objects: &[ObjectRef],
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let mut outcome = Outcome::default();
        for object in objects {
            match self.forward_object(object, deadline, metrics).await {
                Ok(sent) => outcome.add(&sent),
                Err(error) => return Err(error.after(outcome.delivered)),
            }
        }
        Ok(outcome)
    }

    /// One object; success means every record of it was delivered before `deadline`.
    pub(super) async fn forward_object(
        &self,
        object: &ObjectRef,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let mut buffers = self.take_buffers();
        let result = self
            .stream_object(object, &mut buffers, deadline, metrics)
            .await;
        if let Err(error) = &result {
            tracing::warn!(bucket = %object.bucket, key = %object.key, %error, "object not forwarded");
        }
        self.keep_buffers(buffers);
        result
    }

    async fn stream_object(
        &self,
        object: &ObjectRef,
        buffers: &mut Buffers,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        let Buffers {
            window,
            outbox,
            head,
            entry,
            ..
        } = buffers;
        let past_deadline = |bytes| S3Error::Deadline {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            bytes,
        };
        let mut body = match tokio::time::timeout_at(deadline, self.objects.open(object)).await {
            Ok(opened) => opened.map_err(SourceError::from)?,
            Err(_) => return Err(SourceError::from(past_deadline(0)).into()),
        };
        let mut stream = ObjectStream::new(
            object,
            self.limits.max_object_bytes,
            self.limits.max_message_bytes,
            std::mem::take(window),
        );
        stream.guard_cuts(&self.filters);
        // Lines carry no time of their own: the object's.
        let object_time = body.last_modified_ms.unwrap_or_else(now_ms);
        let mut origins = Origins::new(object);
        let mut record = s3::log_record(Arc::clone(&origins.current));
        let mut outcome = Outcome::default();
        outbox.clear();
        let result: Result<(), ForwardError> = loop {
            match stream.next_into(entry) {
                Ok(Step::Entry) => {}
                Ok(Step::Done) => break Ok(()),
                Ok(Step::NeedInput) => {
                    if Instant::now() >= deadline {
                        break Err(SourceError::from(past_deadline(stream.bytes_read())).into());
                    }
                    match tokio::time::timeout_at(deadline, body.next_chunk()).await {
                        Ok(Some(Ok(chunk))) => stream.push(chunk),
                        Ok(None) => stream.end(),
                        Ok(Some(Err(message))) => {
                            break Err(SourceError::from(S3Error::Read {
                                bucket: object.bucket.clone(),
                                key: object.key.clone(),
                                bytes: stream.bytes_read(),
                                message,
                            })
                            .into());
                        }
                        Err(_) => {
                            break Err(SourceError::from(past_deadline(stream.bytes_read())).into());
                        }
                    }
                    continue;
                }
                Err(e) => break Err(SourceError::from(e).into()),
            }
            let origin = origins.of(entry, stream.is_cloudtrail());
            self.fill_from_entry(&mut record, entry, origin, object_time);
            if let Err(e) = self
                .forward_record(&mut record, outbox, head, &mut outcome, deadline, metrics)
                .await
            {
                break Err(e);
            }
        };
        let (stream_bytes, gzip, cloudtrail) = (
            stream.bytes_read(),
            stream.is_gzip(),
            stream.is_cloudtrail(),
        );
        *window = stream.into_buffer();
        if let Err(error) = result {
            // Records read but never sent count as failed, so the counts add up (records of the
            // object not read yet are not counted: reading on would cost the rest of the object).
            self.abandon(outbox, &mut outcome, deadline, metrics).await;
            return Err(error.after(outcome.delivered));
        }
        self.finish(outbox, &mut outcome, deadline, metrics).await?;
        tracing::info!(
            bucket = %object.bucket,
            key = %object.key,
            records = outcome.records,
            decompressed_bytes = stream_bytes,
            gzip = gzip.unwrap_or(false),
            cloudtrail,
            "object forwarded"
        );
        Ok(outcome)
    }

    /// The record for one entry: the entry's strings move in (no copy; the record's previous
    /// buffers go to the entry for the next one); screening (redaction, detections, filters) follows.
    fn fill_from_entry(
        &self,
        record: &mut Record,
        entry: &mut Entry,
        origin: &Arc<Origin>,
        object_time: i64,
    ) {
        if !Arc::ptr_eq(&record.origin, origin) {
            record.origin = Arc::clone(origin);
        }
        record.timestamp_ms = entry.timestamp_ms.unwrap_or(object_time);
        std::mem::swap(&mut record.payload, &mut entry.payload);
        match record.id.as_mut() {
            Some(id) => std::mem::swap(id, &mut entry.id),
            None => record.id = Some(std::mem::take(&mut entry.id)),
        }
        record.severity = Severity::Informational;
        record.detection = None;
    }
}

/// The origin of an object's records. A CloudTrail file's records name their account and region
/// (HOSTNAME, SD): the origin is rebuilt only when those change, which in a trail's file (one per
/// account and region) is once.
struct Origins<'a> {
    object: &'a ObjectRef,
    current: Arc<Origin>,
    /// The account and region `current` was built for, for a CloudTrail file.
    built_for: Option<(String, String)>,
}

impl<'a> Origins<'a> {
    fn new(object: &'a ObjectRef) -> Origins<'a> {
        Origins {
            object,
            current: s3::lines_origin(object),
            built_for: None,
        }
    }

    fn of(&mut self, entry: &Entry, cloudtrail: bool) -> &Arc<Origin> {
        if cloudtrail {
            let same = self.built_for.as_ref().is_some_and(|(account, region)| {
                *account == entry.account && *region == entry.region
            });
            if !same {
                self.current = s3::cloudtrail_origin(self.object, &entry.account, &entry.region);
                self.built_for = Some((entry.account.clone(), entry.region.clone()));
            }
        }
        &self.current
    }
}
