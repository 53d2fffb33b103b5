//! Delivers a batch over RELP: every message one `syslog` frame, up to a window of frames waiting
//! for their answers, a record confirmed once every one of its frames got `200`. After a failure
//! (a refusal, a lost connection, a `serverclose`, silence) the session is replaced within the same
//! backoff and deadline rules as TCP, and every frame not yet acknowledged is sent again, in order.

use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::RelpError;
use super::messages::Messages;
use super::session::{Answer, Session};
use crate::config::Destination;
use crate::syslog::Batch;
use crate::transport::connect::Connector;
use crate::transport::retry::RetryPolicy;
use crate::transport::tls::TlsSetupError;
use crate::transport::{DeliveryError, DeliveryStats, RelpStats, TransportError};

/// Frames are written once this many bytes are encoded, even with room left in the window: a
/// window of long messages must not be copied whole before its first byte leaves.
const WRITE_CHUNK: usize = 256 * 1024;

pub struct RelpSender {
    connector: Connector,
    write_timeout: Duration,
    window: usize,
    retry: RetryPolicy,
    session: Option<Session>,
}

/// Which messages of the batch the receiver acknowledged so far, over every session.
struct Progress {
    acknowledged: Vec<bool>,
    /// Every message before this one is acknowledged.
    first_open: usize,
    /// Messages before this one were sent at least once: sending them again is a resend.
    sent_through: usize,
}

impl Progress {
    fn new(messages: usize) -> Progress {
        Progress {
            acknowledged: vec![false; messages],
            first_open: 0,
            sent_through: 0,
        }
    }

    fn acknowledge(&mut self, index: usize) {
        if let Some(flag) = self.acknowledged.get_mut(index) {
            *flag = true;
        }
        while self.acknowledged.get(self.first_open) == Some(&true) {
            self.first_open += 1;
        }
    }

    /// The first message at or after `from` that still needs an acknowledgement.
    fn next_open(&self, from: usize) -> Option<usize> {
        (from..self.acknowledged.len()).find(|&i| !self.acknowledged[i])
    }

    fn open_count(&self) -> usize {
        self.acknowledged[self.first_open..]
            .iter()
            .filter(|a| !**a)
            .count()
    }
}

impl RelpSender {
    /// A sender for `destination` keeping up to `window` frames unanswered.
    pub fn new(destination: &Destination, window: usize) -> Result<RelpSender, TlsSetupError> {
        Ok(RelpSender {
            connector: Connector::new(destination)?,
            write_timeout: destination.write_timeout,
            window: window.max(1),
            retry: RetryPolicy::for_destination(destination),
            session: None,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> RelpSender {
        self.retry = retry;
        self
    }

    /// `host:port (relp|relp over tls)`, for logs.
    pub fn target(&self) -> String {
        let kind = if self.connector.is_tls() {
            "relp over tls"
        } else {
            "relp"
        };
        format!("{} ({kind})", self.connector.address())
    }

    /// Delivers every record of `batch` before `deadline`; returns how many records the receiver
    /// acknowledged (all of them). On failure the error counts the acknowledged prefix.
    pub async fn deliver(
        &mut self,
        batch: &Batch,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        let messages = Messages::of(batch);
        let mut progress = Progress::new(messages.len());
        let mut counts = stats.relp.unwrap_or_default();
        let mut attempt = 0;
        self.connector.new_delivery();
        let mut failing_since = None;
        let mut acknowledged_before = 0;
        let outcome = loop {
            let error = match self
                .attempt(&messages, &mut progress, deadline, stats, &mut counts)
                .await
            {
                Ok(()) => break Ok(batch.records()),
                Err(error) => error,
            };
            self.session = None;
            let confirmed = messages.records_before(progress.first_open);
            // A session that got messages through ends the outage: a later one gets its own
            // window (the retry cap and the backoff go on counting).
            if progress.first_open > acknowledged_before {
                acknowledged_before = progress.first_open;
                failing_since = None;
            }
            attempt += 1;
            let since = *failing_since.get_or_insert_with(Instant::now);
            // A refused certificate with a stored key: it may have been rotated; read it, retry.
            let delay = if self.connector.reread_key_after(&error) {
                Some(std::time::Duration::ZERO)
            } else {
                self.retry.next_delay(attempt, &error, since, deadline)
            };
            let Some(delay) = delay else {
                break Err(DeliveryError {
                    rest_unread: false,
                    delivered: confirmed,
                    failed: batch.records() - confirmed,
                    cause: error,
                });
            };
            tracing::warn!(
                target = %self.target(),
                %error,
                records = batch.records(),
                confirmed,
                attempt,
                "RELP delivery interrupted; reconnecting to resend the messages not acknowledged"
            );
            sleep(delay).await;
        };
        stats.relp = Some(counts);
        outcome
    }

    /// One session's worth of sending: fills the window with the messages not acknowledged yet,
    /// in order, and takes the answers as they come, until every message is acknowledged.
    async fn attempt(
        &mut self,
        messages: &Messages<'_>,
        progress: &mut Progress,
        deadline: Instant,
        stats: &mut DeliveryStats,
        counts: &mut RelpStats,
    ) -> Result<(), TransportError> {
        if progress.first_open >= messages.len() {
            return Ok(());
        }
        let mut session = self
            .session_for(progress.open_count(), deadline, stats)
            .await?;
        let mut next = progress.first_open;
        let mut last_write = Instant::now();
        loop {
            // Fill the window, writing as the encoded bytes pile up.
            loop {
                while session.room() > 0 && session.unwritten() < WRITE_CHUNK {
                    let Some(index) = progress.next_open(next) else {
                        next = messages.len();
                        break;
                    };
                    let message = messages.get(index).unwrap_or_default();
                    session.queue(message, index)?;
                    if index < progress.sent_through {
                        counts.resent += 1;
                    }
                    next = index + 1;
                    progress.sent_through = progress.sent_through.max(next);
                }
                if session.unwritten() > 0 {
                    stats.bytes_sent += session.write(self.write_timeout, deadline).await? as u64;
                    last_write = Instant::now();
                }
                if session.room() == 0 || next >= messages.len() {
                    break;
                }
            }
            if session.in_flight() == 0 {
                break;
            }
            let mut refused = None;
            let answered = session
                .answers(self.write_timeout, deadline, |answer| match answer {
                    Answer::Acknowledged(index) => {
                        progress.acknowledge(index);
                        counts.acknowledged += 1;
                    }
                    Answer::Refused { status, .. } => {
                        counts.refused += 1;
                        // The first refusal's status names the cause; the others are counted.
                        refused.get_or_insert((status, 0)).1 += 1;
                    }
                })
                .await;
            if let Some((status, count)) = refused {
                // The frames still in flight are sent again with the refused ones.
                return Err(RelpError::Refused { count, status }.into());
            }
            answered?;
        }
        let flushed = last_write.elapsed();
        stats.flush = Some(stats.flush.unwrap_or_default() + flushed);
        self.session = Some(session);
        Ok(())
    }

    /// The warm session when it is still usable (and has the transaction numbers for `frames`),
    /// else a new one.
    async fn session_for(
        &mut self,
        frames: usize,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<Session, TransportError> {
        if let Some(mut warm) = self.session.take() {
            if warm.numbers_left() < frames {
                tracing::info!(target = %self.target(), "RELP transaction numbers nearly used up; starting a new session");
                warm.close(self.connector.connect_timeout(), deadline).await;
            } else if self.connector.failback_due() {
                tracing::info!(target = %self.target(), "failback window over; trying the first SYSLOG_HOST entry again");
                warm.close(self.connector.connect_timeout(), deadline).await;
            } else if warm.is_reusable() {
                return Ok(warm);
            }
        }
        let started = Instant::now();
        let connection = self.connector.connect(deadline, stats).await?;
        let tls = connection.is_tls();
        let session = Session::open(
            connection,
            self.window,
            self.connector.connect_timeout(),
            deadline,
            self.connector.tls_without_client_cert(),
        )
        .await
        .map_err(|error| {
            // Some TLS receivers refuse a client by ending the connection right after the
            // handshake, with no alert: before `open` is answered, that is a refusal no retry
            // can cure.
            let lost = matches!(
                error,
                TransportError::Write(_)
                    | TransportError::ResetAfterSend { tls: None, .. }
                    | TransportError::Relp(RelpError::Closed { opening: true, .. })
                    | TransportError::Relp(RelpError::Read(_))
            );
            if lost && tls {
                TransportError::RefusedAfterHandshake {
                    target: self.connector.address(),
                    tls_without_client_cert: self.connector.tls_without_client_cert(),
                }
            } else {
                error
            }
        })?;
        stats.connect = Some(stats.connect.unwrap_or_default() + started.elapsed());
        tracing::debug!(target = %self.target(), elapsed = ?started.elapsed(), "RELP session open");
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_tracks_the_acknowledged_prefix_and_the_gaps() {
        let mut progress = Progress::new(5);
        progress.acknowledge(1);
        progress.acknowledge(3);
        assert_eq!(progress.first_open, 0);
        assert_eq!(progress.next_open(1), Some(2));
        assert_eq!(progress.open_count(), 3);
        progress.acknowledge(0);
        assert_eq!(progress.first_open, 2);
        progress.acknowledge(2);
        assert_eq!(progress.first_open, 4);
        progress.acknowledge(4);
        assert_eq!((progress.first_open, progress.next_open(0)), (5, None));
        progress.acknowledge(9);
        assert_eq!(progress.open_count(), 0);
    }
}
