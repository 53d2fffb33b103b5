//! S3 objects from `GetObject` to the pipeline: the body is read chunk by chunk, each chunk pushed
//! into the object's scanner, and each record it yields filled into one reused record and pushed.
//! Neither the object nor its decompressed text is ever held whole. An object is delivered when
//! all its records were; any failure fails it, and a retry reads it again from the start (its
//! records keep their ids).

use std::sync::Arc;

use tokio::time::Instant;

use super::ForwardError;
use super::pipeline::{DecodeBuffers, Pipeline};
use crate::findings::FindingsSource;
use crate::record::Origin;
use crate::sources::SourceError;
use crate::sources::s3::{self, Entry, ObjectRef, ObjectStream, S3Error, Step};
use crate::time::now_ms;

impl<F: FindingsSource> Pipeline<'_, F> {
    /// One object, its records pushed in order. Any failure fails it, and a retry reads it again
    /// from the start.
    pub(super) async fn object(
        &mut self,
        object: &ObjectRef,
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let result = self.stream_object(object, buffers).await;
        if let Err(error) = &result {
            tracing::warn!(bucket = %object.bucket, key = %object.key, %error, "object not forwarded");
        }
        result
    }

    async fn stream_object(
        &mut self,
        object: &ObjectRef,
        buffers: &mut DecodeBuffers,
    ) -> Result<(), ForwardError> {
        let forwarder = self.forwarder();
        let deadline = self.deadline;
        let past_deadline = |bytes| S3Error::Deadline {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            bytes,
        };
        let mut body = match tokio::time::timeout_at(deadline, forwarder.objects.open(object)).await
        {
            Ok(opened) => opened.map_err(SourceError::from)?,
            Err(_) => return Err(SourceError::from(past_deadline(0)).into()),
        };
        let mut stream = ObjectStream::new(
            object,
            forwarder.limits.max_object_bytes,
            forwarder.limits.max_message_bytes,
            std::mem::take(&mut buffers.window),
        );
        stream.guard_cuts(&forwarder.filters);
        // Lines carry no time of their own: the object's.
        let object_time = body.last_modified_ms.unwrap_or_else(now_ms);
        let mut origins = Origins::new(object);
        let mut record = s3::log_record(Arc::clone(&origins.current));
        let start = self.mark();
        let entry = &mut buffers.entry;
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
            if !Arc::ptr_eq(&record.origin, origin) {
                record.origin = Arc::clone(origin);
            }
            let timestamp = entry.timestamp_ms.unwrap_or(object_time);
            record.refill(timestamp, &mut entry.payload, &mut entry.id);
            if let Err(e) = self.push(&mut record).await {
                break Err(e);
            }
        };
        let (stream_bytes, gzip, cloudtrail) = (
            stream.bytes_read(),
            stream.is_gzip(),
            stream.is_cloudtrail(),
        );
        buffers.window = stream.into_buffer();
        result?;
        tracing::info!(
            bucket = %object.bucket,
            key = %object.key,
            records = self.mark().records_since(start),
            decompressed_bytes = stream_bytes,
            gzip = gzip.unwrap_or(false),
            cloudtrail,
            "object read"
        );
        Ok(())
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
