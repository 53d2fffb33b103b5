//! A sink that writes framed messages to a local stream (stdout in replay mode).

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{DeliveryError, DeliveryStats, TransportError};
use crate::syslog::Batch;

/// Bytes written and flushed together.
const SEGMENT: usize = 64 * 1024;

pub struct WriterSink {
    out: Box<dyn AsyncWrite + Send + Unpin>,
}

impl WriterSink {
    pub fn new(out: impl AsyncWrite + Send + Unpin + 'static) -> WriterSink {
        WriterSink { out: Box::new(out) }
    }

    pub fn stdout() -> WriterSink {
        WriterSink::new(tokio::io::stdout())
    }

    /// Writes the batch a segment at a time; a record counts as delivered once the segment that
    /// holds it was written and flushed.
    pub async fn deliver(
        &mut self,
        batch: &Batch,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        let mut delivered = 0;
        for segment in batch.segments(0, SEGMENT) {
            let written = async {
                self.out.write_all(segment.bytes).await?;
                self.out.flush().await
            };
            written.await.map_err(|e| DeliveryError {
                rest_unread: false,
                delivered,
                failed: batch.records() - delivered,
                cause: TransportError::Output(e),
            })?;
            stats.bytes_sent += segment.bytes.len() as u64;
            delivered = segment.records_through;
        }
        Ok(delivered)
    }
}
