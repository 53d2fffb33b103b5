//! A sink that writes framed messages to a local stream (stdout in replay mode).

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{DeliveryError, DeliveryStats, TransportError};
use crate::syslog::Batch;

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

    pub async fn deliver(
        &mut self,
        batch: &Batch,
        stats: &mut DeliveryStats,
    ) -> Result<(), DeliveryError> {
        let written = async {
            self.out.write_all(batch.bytes()).await?;
            self.out.flush().await
        };
        written.await.map_err(|e| DeliveryError {
            delivered: 0,
            failed: batch.records(),
            cause: TransportError::Output(e),
        })?;
        stats.bytes_sent += batch.bytes().len() as u64;
        Ok(())
    }
}
