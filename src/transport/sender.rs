//! Delivers batches to the syslog receiver: one warm connection reused across invocations, a batch
//! written while the one before it is still being acknowledged, records confirmed as the
//! receiver's TCP acknowledges them, what was not confirmed resent after a failed attempt, bounded
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

/// Bytes handed to the socket per write; acknowledgements are looked at between chunks.
const CHUNK: usize = 256 * 1024;
/// Bytes written but not yet acknowledged, counting the chunk about to be written: a chunk waits
/// until it fits. With the resend tail below it bounds what a reset makes us send again to 5 MiB
/// (and the rest of one record).
const MAX_UNACKNOWLEDGED: usize = 1024 * 1024;
const _: () = assert!(
    MAX_UNACKNOWLEDGED > CHUNK,
    "a chunk must fit in what may be unacknowledged"
);
/// How long a new connection must stay open after its first data (its own connect time, within
/// these bounds): paid once per new connection, not per invocation.
const SETTLE_MIN: Duration = Duration::from_millis(20);
const SETTLE_MAX: Duration = Duration::from_millis(250);
/// Over TLS the receiver checks our certificate after the handshake (rsyslog's gtls driver) and
/// may take longer than a loopback connect to end a connection it refuses: measured up to tens of
/// milliseconds on a loaded host.
const TLS_SETTLE_MIN: Duration = Duration::from_millis(100);
/// Immediate looks at the send queue before the acknowledgement wait starts sleeping.
const ACK_SPINS: u32 = 200;
/// Looks a millisecond apart after that (the timer's granularity): an acknowledgement held back by
/// the receiver (a delayed ACK, a busy reader) mostly comes within a few milliseconds, and a
/// doubling pause would overshoot it by as much again on every invocation.
const ACK_POLLS_AT_FIRST_PAUSE: u32 = 16;
/// The longest pause between looks, for a receiver that is really stalled.
const ACK_PAUSE_MAX: Duration = Duration::from_millis(20);
/// Acknowledged is not yet read, nor kept: the receiver's TCP acknowledges what lands in its
/// socket buffer, and a busy receiver also holds what it read in memory queues; a receiver killed
/// loses both. This is how much the forwarder assumes a receiver may hold so (rsyslog with its
/// default in-memory queues, killed in the middle of a 27 MB batch on loopback, had lost up to
/// 1.3 MB of what its kernel had acknowledged):
/// - between chunks, on an open connection, a record counts only once it is this far behind the
///   acknowledged edge; after a reset the batch is resent from the first record that did not;
/// - the batch's last records count once everything is acknowledged and the connection is still
///   open, and the last this-many bytes written on the connection are kept (whole records, the
///   batches before included): when the connection is later found reset (in this invocation or,
///   on the warm connection, the next), they are sent again first. Duplicates carry their SD id.
const RESEND_TAIL: u64 = 4 * 1024 * 1024;
/// More than one TLS record's ciphertext (16 KiB of plaintext and its overhead): plaintext this far
/// behind the unacknowledged ciphertext is acknowledged whole.
const TLS_RECORD_BOUND: u64 = 16 * 1024 + 512;

pub struct SyslogSender {
    connector: Connector,
    write_timeout: Duration,
    retry: RetryPolicy,
    link: Option<Link>,
    /// The batch [`SyslogSender::send`] wrote, until [`SyslogSender::confirm`] has it confirmed.
    sent: Option<Progress>,
    /// The last [`RESEND_TAIL`] bytes of confirmed batches written on the connection.
    tail: Tail,
    /// The connection that carried `tail` was lost other than by an orderly close: the next
    /// connection starts with it.
    resend_tail: bool,
}

/// Whole records written on the connection that the receiver may not have read or kept yet.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
    /// The length of each record in `bytes`, oldest first.
    records: std::collections::VecDeque<usize>,
    /// The connection offset where `bytes` end.
    end: u64,
}

impl Tail {
    fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Drops the records that ended [`RESEND_TAIL`] or more before `acknowledged` (the furthest
    /// acknowledged offset seen on the connection): read and kept by a receiver that is alive.
    fn forget_read(&mut self, acknowledged: u64) {
        let sure = acknowledged.saturating_sub(RESEND_TAIL);
        let mut start = self.end.saturating_sub(self.bytes.len() as u64);
        let mut drop = 0;
        while let Some(&length) = self.records.front() {
            if start + length as u64 > sure {
                break;
            }
            self.records.pop_front();
            start += length as u64;
            drop += length;
        }
        self.bytes.drain(..drop.min(self.bytes.len()));
    }

    /// Appends the records of `batch` from `first` on (only the last [`RESEND_TAIL`] bytes' worth
    /// are copied), which end at connection offset `end_on_link`.
    fn keep(&mut self, batch: &Batch, first: usize, end_on_link: u64) {
        let end = batch.bytes().len();
        let first = first.max(batch.records_within(end.saturating_sub(RESEND_TAIL as usize)));
        if first >= batch.records() {
            self.end = end_on_link;
            return;
        }
        let lengths = (first..batch.records()).map(|record| {
            let stop = if record + 1 < batch.records() {
                batch.record_start(record + 1)
            } else {
                end
            };
            stop - batch.record_start(record)
        });
        self.push(
            &batch.bytes()[batch.record_start(first)..],
            lengths,
            end_on_link,
        );
    }

    /// Appends whole records (`bytes`, made of records of `lengths`) ending at connection offset
    /// `end_on_link`, then drops the oldest records that lie wholly before the last
    /// [`RESEND_TAIL`] bytes (the one across that line is kept: part of it may be unread).
    fn push(&mut self, bytes: &[u8], lengths: impl IntoIterator<Item = usize>, end_on_link: u64) {
        self.bytes.extend_from_slice(bytes);
        self.records.extend(lengths);
        self.end = end_on_link;
        let mut drop = 0;
        while let Some(&length) = self.records.front() {
            if self.bytes.len() - drop - length < RESEND_TAIL as usize {
                break;
            }
            self.records.pop_front();
            drop += length;
        }
        self.bytes.drain(..drop.min(self.bytes.len()));
    }
}

/// The connection and how many bytes were written to it (plaintext, for TLS).
struct Link {
    connection: Connection,
    written: u64,
    /// The receiver kept the connection open through the settle wait after its first data: it
    /// accepted us. Until then, a TLS 1.2 receiver that ends it is refusing us.
    verified: bool,
    /// The furthest offset the receiver's TCP was seen to acknowledge.
    acked_seen: u64,
}

impl Link {
    /// Bytes written that the receiver's TCP has acknowledged: exact over TCP; over TLS a lower
    /// bound (ciphertext is never shorter than its plaintext).
    fn acknowledged(&self) -> Option<u64> {
        let pending = self.connection.unacknowledged()? as u64;
        Some(match self.connection {
            Connection::Tcp(_) => self.written.saturating_sub(pending),
            Connection::Tls(_) if pending == 0 => self.written,
            Connection::Tls(_) => self.written.saturating_sub(pending + TLS_RECORD_BOUND),
        })
    }
}

/// How far one batch has got.
#[derive(Debug, Default)]
struct Progress {
    /// Records the receiver confirmed, from the first.
    confirmed: usize,
    /// Where the batch's bytes sit on the current connection, once they (from the first
    /// unconfirmed record) have been written to it.
    base: Option<Anchor>,
    /// The first record written on the current connection.
    first_on_link: usize,
    /// The batch's records are in the sender's tail.
    kept: bool,
    /// The wait still owed by a new connection before anything on it counts as confirmed.
    settle: Option<Duration>,
}

impl Progress {
    /// Confirms the records that end within the first `acknowledged` bytes of the connection.
    fn confirm_through(&mut self, batch: &Batch, base: Anchor, acknowledged: u64) {
        let within = base.batch_offset(acknowledged);
        self.confirmed = self.confirmed.max(batch.records_within(within));
    }
}

/// A batch offset and the connection offset it was written at.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    batch: usize,
    connection: u64,
}

impl Anchor {
    /// The batch offset that a connection offset corresponds to (the anchor's own, for offsets of
    /// what came before it on the connection).
    fn batch_offset(self, connection: u64) -> usize {
        let past =
            usize::try_from(connection.saturating_sub(self.connection)).unwrap_or(usize::MAX);
        self.batch.saturating_add(past)
    }
}

/// What an attempt must reach before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    Written,
    Confirmed,
}

impl SyslogSender {
    pub fn new(destination: &Destination) -> Result<SyslogSender, TlsSetupError> {
        Ok(SyslogSender {
            connector: Connector::new(destination)?,
            write_timeout: destination.write_timeout,
            retry: RetryPolicy::for_destination(destination),
            link: None,
            sent: None,
            tail: Tail::default(),
            resend_tail: false,
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
        self.send(batch, deadline, stats).await?;
        self.confirm(batch, deadline, stats).await
    }

    /// Writes `batch` and returns without waiting for the receiver to acknowledge it, so that the
    /// next batch can be formatted meanwhile; [`SyslogSender::confirm`] (with the same, unchanged
    /// batch) waits for that and resends what was lost.
    pub async fn send(
        &mut self,
        batch: &Batch,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<(), DeliveryError> {
        let mut progress = Progress::default();
        self.drive(batch, &mut progress, Until::Written, deadline, stats)
            .await?;
        self.sent = Some(progress);
        Ok(())
    }

    /// Waits until every record of the batch last sent is confirmed, resending after a failed
    /// attempt from the first record that was not; returns how many records the receiver
    /// confirmed (all of them). On failure the error counts the confirmed prefix.
    pub async fn confirm(
        &mut self,
        batch: &Batch,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        let mut progress = self.sent.take().unwrap_or_default();
        self.drive(batch, &mut progress, Until::Confirmed, deadline, stats)
            .await
    }

    /// Attempts until `until` is reached, reconnecting after a failure within the retry policy.
    async fn drive(
        &mut self,
        batch: &Batch,
        progress: &mut Progress,
        until: Until,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        let mut attempt = 0;
        self.connector.new_delivery();
        let mut failing_since = None;
        let mut confirmed_before = progress.confirmed;
        loop {
            let error = match self.attempt(batch, progress, until, deadline, stats).await {
                Ok(()) => return Ok(progress.confirmed),
                Err(error) => error,
            };
            self.link = None;
            self.resend_tail = !self.tail.is_empty();
            progress.base = None;
            progress.settle = None;
            // An attempt that got records through ends the outage: a later one gets its own
            // window (the retry cap and the backoff go on counting).
            if progress.confirmed > confirmed_before {
                confirmed_before = progress.confirmed;
                failing_since = None;
            }
            attempt += 1;
            let since = *failing_since.get_or_insert_with(Instant::now);
            // A refused certificate with a stored key: it may have been rotated; read it, retry.
            let delay = if self.connector.reread_key_after(&error) {
                Some(Duration::ZERO)
            } else {
                self.retry.next_delay(attempt, &error, since, deadline)
            };
            let Some(delay) = delay else {
                return Err(DeliveryError {
                    rest_unread: false,
                    delivered: progress.confirmed,
                    failed: batch.records() - progress.confirmed,
                    cause: error,
                });
            };
            tracing::warn!(
                target = %self.target(),
                %error,
                records = batch.records(),
                confirmed = progress.confirmed,
                attempt,
                "delivery interrupted; reconnecting to resend the records not confirmed"
            );
            sleep(delay).await;
        }
    }

    /// Writes the records from the first unconfirmed one on (unless this connection has them
    /// already), then, for [`Until::Confirmed`], waits for the receiver to acknowledge them all.
    ///
    /// Bytes count as confirmed only once acknowledged on a connection that is still open: bytes
    /// the receiver's TCP acknowledged may still sit unread in its buffer when it resets, so those
    /// of unconfirmed records are sent again (at-least-once; each message carries its
    /// de-duplication id).
    async fn attempt(
        &mut self,
        batch: &Batch,
        progress: &mut Progress,
        until: Until,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<(), TransportError> {
        if progress.confirmed >= batch.records() {
            return Ok(());
        }
        let mut link = match (self.link.take(), progress.base) {
            (Some(link), Some(_)) => link,
            (warm, _) => {
                progress.base = None;
                self.usable_link(warm, progress, deadline, stats).await?
            }
        };
        match self
            .attempt_on(&mut link, batch, progress, until, deadline, stats)
            .await
        {
            Ok(true) => {
                if progress.confirmed >= batch.records() && !progress.kept {
                    self.tail.keep(batch, progress.first_on_link, link.written);
                    progress.kept = true;
                }
                self.link = Some(link);
                Ok(())
            }
            Ok(false) => {
                // Closed in order: the receiver read everything.
                self.tail.clear();
                Ok(())
            }
            Err(error) => {
                self.tail.forget_read(link.acked_seen);
                Err(self.refusal_or(error, &link))
            }
        }
    }

    /// The body of [`SyslogSender::attempt`] on `link`; returns whether the connection stays
    /// open.
    async fn attempt_on(
        &mut self,
        link: &mut Link,
        batch: &Batch,
        progress: &mut Progress,
        until: Until,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<bool, TransportError> {
        if progress.base.is_none() {
            self.write_rest(link, batch, progress, deadline, stats)
                .await?;
        }
        if until == Until::Confirmed {
            let settle = progress.settle.take();
            let open = self
                .await_acknowledgement(&mut link.connection, settle, deadline, stats)
                .await?;
            link.verified |= settle.is_some();
            link.acked_seen = link.written;
            progress.confirmed = batch.records();
            return Ok(open);
        }
        Ok(true)
    }

    /// Some TLS receivers (rsyslog's gtls driver, over TLS 1.2 and 1.3) refuse our client
    /// certificate (or its absence, or us by an allow list) after completing the handshake, by
    /// ending the connection without an alert: a new TLS connection lost right after our
    /// Finished, before it was verified, is that refusal, which no retry can cure.
    fn refusal_or(&self, error: TransportError, link: &Link) -> TransportError {
        let lost = matches!(
            error,
            TransportError::Write(_)
                | TransportError::ResetAfterSend { tls: None, .. }
                | TransportError::ClosedMidBatch
        );
        if lost && !link.verified && link.connection.is_tls() {
            TransportError::RefusedAfterHandshake {
                target: self.connector.address(),
                tls_without_client_cert: self.tls_without_client_cert(),
            }
        } else {
            error
        }
    }

    /// The warm connection if the receiver has not closed it (and no failback to the first
    /// SYSLOG_HOST entry is due), else a new one (whose settle wait `progress` then owes).
    async fn usable_link(
        &mut self,
        warm: Option<Link>,
        progress: &mut Progress,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<Link, TransportError> {
        if let Some(mut link) = warm {
            match link.connection.peer() {
                _ if self.connector.failback_due() => {
                    // Closed by us with everything acknowledged: a receiver that is alive reads it.
                    tracing::info!(target = %self.target(), "failback window over; trying the first SYSLOG_HOST entry again");
                    self.tail.clear();
                }
                Peer::Open => return Ok(link),
                Peer::Closed => {
                    tracing::info!(target = %self.target(), "receiver closed the idle connection; reconnecting");
                    self.tail.clear();
                }
                peer @ Peer::Failed(_) => {
                    self.tail.forget_read(link.acked_seen);
                    tracing::warn!(target = %self.target(), ?peer, tail_bytes = self.tail.bytes.len(), "receiver reset the idle connection; reconnecting to send the last records again");
                    self.resend_tail = !self.tail.is_empty();
                }
            }
        }
        // A new connection is not trusted until it survived its first data: receivers that refuse
        // a client (an untrusted or missing client certificate, a sender not on the allow list)
        // accept the connection and drop it a moment later.
        let started = Instant::now();
        let connection = self.connector.connect(deadline, stats).await?;
        let took = started.elapsed();
        stats.connect = Some(stats.connect.unwrap_or_default() + took);
        let least = if connection.is_tls() {
            TLS_SETTLE_MIN
        } else {
            SETTLE_MIN
        };
        progress.settle = Some(took.clamp(least, SETTLE_MAX));
        Ok(Link {
            connection,
            written: 0,
            verified: false,
            acked_seen: 0,
        })
    }

    /// Writes the batch from its first unconfirmed record, a chunk at a time, confirming between
    /// chunks whatever the receiver has acknowledged by then (without waiting for it).
    async fn write_rest(
        &mut self,
        link: &mut Link,
        batch: &Batch,
        progress: &mut Progress,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<(), TransportError> {
        if std::mem::take(&mut self.resend_tail) {
            self.write_tail(link, deadline, stats).await?;
            // The tail now sits on this connection, just before the batch.
            self.tail.end = link.written;
        }
        let from = batch.record_start(progress.confirmed);
        let base = Anchor {
            batch: from,
            connection: link.written,
        };
        progress.base = Some(base);
        progress.first_on_link = progress.confirmed;
        for chunk in batch.bytes()[from..].chunks(CHUNK) {
            if progress.settle.is_none() {
                // What a reset would make us send again stays bounded, this chunk included: a
                // receiver slower than us is waited for before the chunk is written.
                let allowed = MAX_UNACKNOWLEDGED - chunk.len();
                self.await_unacknowledged(&mut link.connection, allowed, deadline)
                    .await?;
                self.note_acknowledged(link, batch, base, progress)?;
            }
            let write_budget = budget(self.write_timeout, deadline)?;
            match timeout(write_budget, link.connection.write_chunk(chunk)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(TransportError::Write(e)),
                Err(_) => return Err(self.timeout_error(write_budget, deadline)),
            }
            link.written += chunk.len() as u64;
            stats.bytes_sent += chunk.len() as u64;
            // A new connection's first data waits for the receiver's verdict (it may accept and
            // then refuse us); after that, acknowledgements count as they come.
            if let Some(settle) = progress.settle.take() {
                let open = self
                    .await_acknowledgement(&mut link.connection, Some(settle), deadline, stats)
                    .await?;
                link.verified = true;
                link.acked_seen = link.written;
                progress.confirm_through(batch, base, link.written);
                if !open && progress.confirmed < batch.records() {
                    return Err(TransportError::ClosedMidBatch);
                }
            }
        }
        Ok(())
    }

    /// Writes the kept tail of earlier batches on a new connection, first: the connection that
    /// carried it was reset, and the receiver may have lost it unread.
    async fn write_tail(
        &self,
        link: &mut Link,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<(), TransportError> {
        tracing::warn!(
            target = %self.target(),
            bytes = self.tail.bytes.len(),
            records = self.tail.records.len(),
            "sending the last records of the lost connection again (the receiver may not have kept them)"
        );
        for chunk in self.tail.bytes.chunks(CHUNK) {
            self.await_unacknowledged(
                &mut link.connection,
                MAX_UNACKNOWLEDGED - chunk.len(),
                deadline,
            )
            .await?;
            let write_budget = budget(self.write_timeout, deadline)?;
            match timeout(write_budget, link.connection.write_chunk(chunk)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(TransportError::Write(e)),
                Err(_) => return Err(self.timeout_error(write_budget, deadline)),
            }
            link.written += chunk.len() as u64;
            stats.bytes_sent += chunk.len() as u64;
        }
        Ok(())
    }

    /// Confirms the records whose bytes the receiver's TCP has acknowledged, if the connection is
    /// still open; a receiver that closed or reset it ends the attempt at once.
    fn note_acknowledged(
        &mut self,
        link: &mut Link,
        batch: &Batch,
        base: Anchor,
        progress: &mut Progress,
    ) -> Result<(), TransportError> {
        let Some(acknowledged) = link.acknowledged() else {
            return Ok(());
        };
        let peer = link.connection.peer();
        if let Peer::Failed(tls) = peer {
            return Err(TransportError::ResetAfterSend {
                tls,
                tls_without_client_cert: self.tls_without_client_cert(),
            });
        }
        // An orderly close means the receiver read all it was sent (with unread data it resets):
        // only an open connection may still hold acknowledged bytes unread.
        let unread = if peer == Peer::Open { RESEND_TAIL } else { 0 };
        link.acked_seen = link.acked_seen.max(acknowledged);
        progress.confirm_through(batch, base, acknowledged.saturating_sub(unread));
        match peer {
            // Closed in order having read everything acknowledged: the rest goes on a new one.
            Peer::Closed if progress.confirmed < batch.records() => {
                Err(TransportError::ClosedMidBatch)
            }
            _ => Ok(()),
        }
    }

    /// Waits until at most `allowed` bytes written are still unacknowledged by the receiver's TCP.
    async fn await_unacknowledged(
        &self,
        connection: &mut Connection,
        allowed: usize,
        deadline: Instant,
    ) -> Result<(), TransportError> {
        let ack_budget = budget(self.write_timeout, deadline)?;
        let ack_deadline = Instant::now() + ack_budget;
        let mut pause = Duration::from_millis(1);
        let mut polls = 0u32;
        while connection
            .unacknowledged()
            .is_some_and(|pending| pending > allowed)
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
            // A receiver that refused us (a TLS alert) or went away never acknowledges: tell it
            // from a slow one now rather than at the end of the wait.
            if let Peer::Failed(tls) = connection.peer() {
                return Err(TransportError::ResetAfterSend {
                    tls,
                    tls_without_client_cert: self.tls_without_client_cert(),
                });
            }
            if polls > ACK_SPINS + ACK_POLLS_AT_FIRST_PAUSE {
                pause = (pause * 2).min(ACK_PAUSE_MAX);
            }
        }
        Ok(())
    }

    /// Waits until the receiver's TCP has acknowledged every byte written and the connection is
    /// still open (or closed in order after reading everything: a peer that closes with unread
    /// data resets instead). A receiver that restarted never acknowledges, so the loss window of a
    /// plain send() shrinks to what TCP itself allows. Returns whether the connection stays open.
    async fn await_acknowledgement(
        &self,
        connection: &mut Connection,
        settle: Option<Duration>,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<bool, TransportError> {
        let flush_started = Instant::now();
        self.await_unacknowledged(connection, 0, deadline).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_bytes_map_to_the_batch_from_where_it_was_resent() {
        // Resent from batch byte 1,000 on a connection that had carried 300 bytes before.
        let anchor = Anchor {
            batch: 1_000,
            connection: 300,
        };
        assert_eq!(anchor.batch_offset(300), 1_000);
        assert_eq!(anchor.batch_offset(800), 1_500);
        // What the connection carried before the batch confirms nothing new.
        assert_eq!(anchor.batch_offset(0), 1_000);
        assert_eq!(anchor.batch_offset(u64::MAX), usize::MAX);
    }

    #[test]
    fn the_tail_keeps_whole_records_within_its_bound_and_forgets_what_is_surely_read() {
        const MIB: usize = 1024 * 1024;
        let mut tail = Tail::default();
        // Four 1.5 MiB records: the last 4 MiB reach into the second, which is kept whole.
        let record = vec![b'x'; MIB + MIB / 2];
        for end in 1..=4u64 {
            tail.push(&record, [record.len()], end * record.len() as u64);
        }
        assert_eq!(tail.records.len(), 3);
        assert_eq!(tail.bytes.len(), 3 * record.len());
        assert_eq!(tail.end, 4 * record.len() as u64);
        // Acknowledged up to the end: the tail is what may still be unread, nothing is dropped.
        tail.forget_read(tail.end);
        assert_eq!(tail.records.len(), 3);
        // 4 MiB acknowledged beyond the second record's end: that one is surely read.
        tail.forget_read(2 * record.len() as u64 + RESEND_TAIL);
        assert_eq!(tail.records.len(), 2);
        assert_eq!(tail.bytes.len(), 2 * record.len());
        tail.forget_read(u64::MAX);
        assert!(tail.is_empty() && tail.records.is_empty());
        // A record longer than the bound is kept: its end may be unread.
        let huge = vec![b'y'; 5 * MIB];
        tail.push(&huge, [huge.len()], 10 * MIB as u64);
        assert_eq!(tail.records.len(), 1);
        tail.push(
            &record,
            [record.len()],
            10 * MIB as u64 + record.len() as u64,
        );
        assert_eq!(
            tail.records.len(),
            2,
            "5 MiB + 1.5 MiB: the huge one still reaches in"
        );
    }
}
