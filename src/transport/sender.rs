//! Delivers a batch to the syslog receiver: one warm connection reused across invocations, records
//! confirmed a segment at a time, what was not confirmed resent after a failed attempt, bounded
//! reconnects inside the deadline.

use std::time::Duration;

use tokio::time::{Instant, sleep, timeout};

use super::connect::Connector;
use super::connection::{Connection, Peer};
use super::retry::{RetryPolicy, budget};
use super::tls::TlsSetupError;
use super::{DeliveryError, DeliveryStats, TransportError};
use crate::config::Destination;
use crate::syslog::Batch;

/// Bytes handed to the socket per write; progress is measured between chunks.
const CHUNK: usize = 256 * 1024;
/// Records are confirmed a segment of about this size at a time: a failed attempt resends from the
/// first unconfirmed segment, at the cost of one acknowledgement wait (a round trip) per segment.
const CHECKPOINT: usize = 1024 * 1024;
/// How long a new connection must stay open after its first data (its own connect time, within
/// these bounds): paid once per new connection, not per invocation.
const SETTLE_MIN: Duration = Duration::from_millis(20);
const SETTLE_MAX: Duration = Duration::from_millis(250);
/// Immediate looks at the send queue before the acknowledgement wait starts sleeping.
const ACK_SPINS: u32 = 200;

pub struct SyslogSender {
    connector: Connector,
    write_timeout: Duration,
    retry: RetryPolicy,
    connection: Option<Connection>,
}

impl SyslogSender {
    pub fn new(destination: &Destination) -> Result<SyslogSender, TlsSetupError> {
        Ok(SyslogSender {
            connector: Connector::new(destination)?,
            write_timeout: destination.write_timeout,
            retry: RetryPolicy::default(),
            connection: None,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> SyslogSender {
        self.retry = retry;
        self
    }

    /// `host:port (tls|tcp)`, for logs.
    pub fn target(&self) -> String {
        let kind = if self.connector.is_tls() {
            "tls"
        } else {
            "tcp"
        };
        format!("{} ({kind})", self.connector.address())
    }

    /// Delivers every record of `batch` before `deadline`; returns how many records the receiver
    /// confirmed (all of them). On failure the error counts the confirmed prefix.
    pub async fn deliver(
        &mut self,
        batch: &Batch,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        let mut confirmed = 0;
        let mut attempt = 0;
        loop {
            let error = match self.send(batch, &mut confirmed, deadline, stats).await {
                Ok(()) => return Ok(confirmed),
                Err(error) => error,
            };
            self.connection = None;
            attempt += 1;
            let Some(delay) = self.retry.next_delay(attempt, &error, deadline) else {
                return Err(DeliveryError {
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
                "delivery interrupted; reconnecting to resend the records not confirmed"
            );
            sleep(delay).await;
        }
    }

    /// Sends the records from `*confirmed` on, one segment at a time, advancing `*confirmed` past
    /// each segment the receiver confirmed (see [`SyslogSender::confirm`]).
    ///
    /// Bytes of an unconfirmed segment count as not delivered, even when the receiver's TCP
    /// acknowledged them: they may still sit unread in its buffer when it resets, so the next attempt
    /// sends them again (at-least-once; each message carries its de-duplication id).
    async fn send(
        &mut self,
        batch: &Batch,
        confirmed: &mut usize,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<(), TransportError> {
        if *confirmed >= batch.records() {
            return Ok(());
        }
        let mut warm = self.connection.take();
        if let Some(peer) = warm
            .as_mut()
            .map(Connection::peer)
            .filter(|p| *p != Peer::Open)
        {
            tracing::info!(target = %self.target(), ?peer, "receiver closed the idle connection; reconnecting");
            warm = None;
        }
        // A new connection is not trusted until it survived its first data: receivers that refuse a
        // client (an untrusted or missing client certificate, a sender not on the allow list)
        // accept the connection and drop it a moment later.
        let mut settle = None;
        let mut connection = match warm {
            Some(connection) => connection,
            None => {
                let started = Instant::now();
                let connection = self.connector.connect(deadline).await?;
                let took = started.elapsed();
                stats.connect = Some(stats.connect.unwrap_or_default() + took);
                settle = Some(took.clamp(SETTLE_MIN, SETTLE_MAX));
                connection
            }
        };

        for segment in batch.segments(*confirmed, CHECKPOINT) {
            for chunk in segment.bytes.chunks(CHUNK) {
                let write_budget = budget(self.write_timeout, deadline)?;
                match timeout(write_budget, connection.write_chunk(chunk)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(TransportError::Write(e)),
                    Err(_) => return Err(self.timeout_error(write_budget, deadline)),
                }
                stats.bytes_sent += chunk.len() as u64;
            }
            let open = self
                .confirm(&mut connection, settle.take(), deadline, stats)
                .await?;
            *confirmed = segment.records_through;
            if !open {
                if *confirmed < batch.records() {
                    return Err(TransportError::ClosedMidBatch);
                }
                return Ok(());
            }
        }
        self.connection = Some(connection);
        Ok(())
    }

    /// Waits until the receiver's TCP has acknowledged every byte written and the connection is
    /// still open (or closed in order after reading everything: a peer that closes with unread
    /// data resets instead). A receiver that restarted never acknowledges, so the loss window of a
    /// plain send() shrinks to what TCP itself allows. Returns whether the connection stays open.
    async fn confirm(
        &self,
        connection: &mut Connection,
        settle: Option<Duration>,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<bool, TransportError> {
        let ack_budget = budget(self.write_timeout, deadline)?;
        let flush_started = Instant::now();
        let ack_deadline = flush_started + ack_budget;
        let mut pause = Duration::from_millis(1);
        let mut polls = 0u32;
        while connection
            .unacknowledged()
            .is_some_and(|pending| pending > 0)
        {
            if Instant::now() >= ack_deadline {
                return Err(self.timeout_ack_error(ack_budget, deadline));
            }
            // On a near receiver the acknowledgement comes within microseconds: look again at
            // once a few times before sleeping (the timer's granularity is a millisecond).
            polls += 1;
            if polls <= ACK_SPINS {
                tokio::task::yield_now().await;
                continue;
            }
            sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        stats.flush = Some(stats.flush.unwrap_or_default() + flush_started.elapsed());
        if let Some(settle) = settle {
            let left = deadline.saturating_duration_since(Instant::now());
            sleep(settle.min(left / 2)).await;
        }
        // A reset also empties the send queue: only a look at the peer tells it from an ack.
        let tls = matches!(connection, Connection::Tls(_));
        match connection.peer() {
            Peer::Open => Ok(true),
            // Over TLS the receiver reads (decrypts) before it decides; closing a connection it
            // has just accepted means it refused us, not that it is done.
            Peer::Closed if tls && settle.is_some() => Err(TransportError::ResetAfterSend {
                tls: None,
                tls_without_client_cert: self.tls_without_client_cert(),
            }),
            Peer::Closed => {
                tracing::info!(target = %self.target(), "receiver closed the connection after reading everything");
                Ok(false)
            }
            Peer::Failed(tls) => Err(TransportError::ResetAfterSend {
                tls,
                tls_without_client_cert: self.tls_without_client_cert(),
            }),
        }
    }

    fn tls_without_client_cert(&self) -> bool {
        self.connector.tls_without_client_cert()
    }

    fn timeout_error(&self, budget: Duration, deadline: Instant) -> TransportError {
        if Instant::now() >= deadline {
            TransportError::DeadlineExceeded
        } else {
            TransportError::WriteTimeout(budget)
        }
    }

    fn timeout_ack_error(&self, budget: Duration, deadline: Instant) -> TransportError {
        if Instant::now() >= deadline {
            TransportError::DeadlineExceeded
        } else {
            TransportError::NotAcknowledged {
                after: budget,
                tls_without_client_cert: self.tls_without_client_cert(),
            }
        }
    }
}
