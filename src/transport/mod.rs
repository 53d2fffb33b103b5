//! Delivery of framed syslog bytes: to a receiver over TCP or TLS (plain syslog or RELP), or to a
//! local writer (stdout).

mod connect;
mod connection;
mod pinning;
pub mod relp;
mod retry;
mod sender;
mod tls;
mod writer;

use std::time::Duration;

pub use relp::{RelpError, RelpSender};
pub use retry::RetryPolicy;
pub use sender::SyslogSender;
pub use tls::{TlsClient, TlsSetupError};
pub use writer::WriterSink;

use crate::syslog::Batch;

/// Some TLS 1.2 receivers that require a client certificate complete the handshake without one and
/// then drop the data: the symptom is a silent receiver, so the error says what to check.
pub(crate) const CLIENT_CERT_HINT: &str = " (over TLS without a client certificate: a receiver that requires \
     one may accept the handshake and then drop the data; if so, set SYSLOG_TLS_CLIENT_CERT and \
     SYSLOG_TLS_CLIENT_KEY)";

/// Why bytes did not reach the receiver.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "cannot resolve syslog host {host}: {source} (check SYSLOG_HOST; in a VPC, check the \
         function's DNS resolution and route to the receiver)"
    )]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error(
        "cannot connect to {target}: {source} (check that the receiver listens on SYSLOG_PORT and \
         that security groups and firewalls let the function reach it)"
    )]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error(
        "connecting to {target} timed out after {after:?} (check SYSLOG_HOST, SYSLOG_PORT and firewalls)"
    )]
    ConnectTimeout { target: String, after: Duration },
    #[error("TLS handshake with {target} failed: {reason}")]
    Handshake {
        target: String,
        reason: String,
        /// A certificate was refused (the server's by us, or ours by the server's alert):
        /// retrying cannot help.
        certificate: bool,
        /// The receiver refused our client certificate.
        client_certificate_refused: bool,
    },
    /// The client key could not be read from its store.
    #[error(transparent)]
    ClientKey(#[from] crate::secrets::SecretError),
    /// The key read from its store is not a usable key (for its certificate).
    #[error(transparent)]
    StoredKey(tls::TlsSetupError),
    #[error(
        "the receiver {target} ended the TLS connection right after the handshake, before \
         taking any data: it refuses this client ({})",
        if *tls_without_client_cert {
            "it most likely requires a client certificate: set SYSLOG_TLS_CLIENT_CERT and SYSLOG_TLS_CLIENT_KEY"
        } else {
            "check that it trusts the CA of SYSLOG_TLS_CLIENT_CERT and that its allow list names it"
        }
    )]
    RefusedAfterHandshake {
        target: String,
        tls_without_client_cert: bool,
    },
    #[error("TLS handshake with {target} timed out after {after:?}")]
    HandshakeTimeout { target: String, after: Duration },
    #[error(
        "writing to the syslog receiver failed: {0} (the receiver closed the connection; check its \
         logs for a message size limit, a TLS or allow-list refusal, or a restart)"
    )]
    Write(std::io::Error),
    #[error("the syslog receiver stopped reading: a write made no progress for {0:?}")]
    WriteTimeout(Duration),
    #[error(
        "the syslog receiver did not acknowledge the data within {after:?}{}",
        if *tls_without_client_cert { CLIENT_CERT_HINT } else { "" }
    )]
    NotAcknowledged {
        after: Duration,
        tls_without_client_cert: bool,
    },
    #[error(
        "the syslog receiver closed or reset the connection right after the data was sent, so it may \
         not have kept all of it{}",
        match tls {
            Some(e) => format!(": {}", tls::describe_tls_error(e)),
            None if *tls_without_client_cert => CLIENT_CERT_HINT.to_owned(),
            None => String::new(),
        }
    )]
    ResetAfterSend {
        /// The TLS alert or error that ended the connection, when there was one.
        tls: Option<rustls::Error>,
        tls_without_client_cert: bool,
    },
    #[error(
        "the syslog receiver closed the connection in the middle of the batch (after reading what \
         came before); reconnecting for the rest"
    )]
    ClosedMidBatch,
    #[error(
        "the invocation's deadline leaves no time to deliver (raise the function's Timeout, or check \
         why the receiver is slow to accept data)"
    )]
    DeadlineExceeded,
    #[error("writing to the output failed: {0}")]
    Output(std::io::Error),
    #[error(transparent)]
    Relp(#[from] RelpError),
    #[error(
        "every SYSLOG_HOST entry failed: {}",
        failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    EveryEntryFailed { failures: Vec<EntryFailure> },
}

/// Why one entry of SYSLOG_HOST could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {cause}")]
pub struct EntryFailure {
    pub target: String,
    pub cause: TransportError,
}

impl TransportError {
    /// Errors that another attempt cannot fix.
    pub fn is_permanent(&self) -> bool {
        use rustls::AlertDescription::{
            AccessDenied, BadCertificate, CertificateRequired, UnknownCA,
        };
        match self {
            TransportError::Handshake { certificate, .. } => *certificate,
            TransportError::RefusedAfterHandshake { .. } => true,
            // A TLS 1.3 receiver refuses our client certificate (or its absence) after the handshake.
            TransportError::ResetAfterSend {
                tls: Some(rustls::Error::AlertReceived(alert)),
                ..
            } => matches!(
                alert,
                CertificateRequired | BadCertificate | UnknownCA | AccessDenied
            ),
            TransportError::Relp(relp) => relp.is_permanent(),
            // Read again at the next delivery (the store may be fixed or reachable by then), not
            // in a loop now: each read may take the AWS call's whole 15 s.
            TransportError::StoredKey(_) | TransportError::ClientKey(_) => true,
            // Only when no entry could work (every one refused us for good).
            TransportError::EveryEntryFailed { failures } => {
                !failures.is_empty() && failures.iter().all(|f| f.cause.is_permanent())
            }
            _ => false,
        }
    }

    /// The receiver refused our client certificate (during or right after the handshake).
    pub fn refuses_client_certificate(&self) -> bool {
        match self {
            TransportError::Handshake {
                client_certificate_refused,
                ..
            } => *client_certificate_refused,
            TransportError::RefusedAfterHandshake { .. } => true,
            TransportError::EveryEntryFailed { failures } => failures
                .iter()
                .any(|f| f.cause.refuses_client_certificate()),
            TransportError::ResetAfterSend { tls: Some(tls), .. } => {
                tls::refuses_client_certificate(tls)
            }
            _ => false,
        }
    }
}

/// Some records were not delivered; the invocation must fail so the event is retried.
///
/// `delivered` counts only records the receiver confirmed (over TCP: acknowledged, seen between writes,
/// on a connection that stayed open; over RELP: every message answered `200`); records sent but
/// unconfirmed count as not delivered, and
/// are sent again on the retry (at-least-once).
#[derive(Debug, thiserror::Error)]
#[error(
    "{}, to be sent again when the event is retried: {cause}",
    if *rest_unread {
        format!("{delivered} records delivered (confirmed by the receiver), the rest unconfirmed")
    } else {
        format!(
            "{delivered} of {} records delivered (confirmed by the receiver), {failed} unconfirmed",
            delivered + failed
        )
    }
)]
pub struct DeliveryError {
    pub delivered: usize,
    /// Records sent or decoded but not confirmed.
    pub failed: usize,
    /// The event holds more records than `delivered + failed`: after the failure nothing more
    /// was read, so they are not counted.
    pub rest_unread: bool,
    pub cause: TransportError,
}

/// What a delivery cost: for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Bytes written, resends included.
    pub bytes_sent: u64,
    /// Time spent connecting (TCP and TLS), when a connection was made.
    pub connect: Option<Duration>,
    /// Time from the last write until the receiver acknowledged everything.
    pub flush: Option<Duration>,
    /// Frame counts, when the delivery went over RELP.
    pub relp: Option<RelpStats>,
    /// Switches from one SYSLOG_HOST entry to another (failing back to the first included).
    pub failovers: u64,
}

/// What the RELP receiver answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelpStats {
    /// Frames answered `200`.
    pub acknowledged: u64,
    /// Frames answered with any other status (each is sent again).
    pub refused: u64,
    /// Frames sent again after a failed session (refused, unanswered or lost).
    pub resent: u64,
}

/// Where an invocation's batch goes.
pub enum Sink {
    Syslog(Box<SyslogSender>),
    Relp(Box<RelpSender>),
    Writer(WriterSink),
}

/// What [`Sink::send`] leaves for [`Sink::confirm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Written; the receiver's confirmation is still to come.
    Awaiting,
    /// Already confirmed as it was written (RELP answers, a local writer): this many records.
    Confirmed(usize),
}

impl Sink {
    /// Hands `batch` to the receiver without waiting for its confirmation where the transport
    /// allows (plain syslog over TCP or TLS), so the caller can prepare the next batch meanwhile.
    /// The batch must stay unchanged until [`Sink::confirm`] returns: a failed attempt resends
    /// from it.
    pub async fn send(
        &mut self,
        batch: &Batch,
        deadline: tokio::time::Instant,
        stats: &mut DeliveryStats,
    ) -> Result<Sent, DeliveryError> {
        match self {
            Sink::Syslog(sender) => sender
                .send(batch, deadline, stats)
                .await
                .map(|()| Sent::Awaiting),
            other => other
                .deliver(batch, deadline, stats)
                .await
                .map(Sent::Confirmed),
        }
    }

    /// Waits until the receiver confirmed every record of the batch last sent (resending what
    /// was lost) and returns how many it confirmed (all of them), or says how many it confirmed
    /// before the failure.
    pub async fn confirm(
        &mut self,
        batch: &Batch,
        sent: Sent,
        deadline: tokio::time::Instant,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        match (self, sent) {
            (_, Sent::Confirmed(records)) => Ok(records),
            (Sink::Syslog(sender), Sent::Awaiting) => sender.confirm(batch, deadline, stats).await,
            (other, Sent::Awaiting) => other.deliver(batch, deadline, stats).await,
        }
    }

    /// Delivers every record of `batch` before `deadline` and returns how many the receiver
    /// confirmed (all of them), or says how many it confirmed before the failure.
    pub async fn deliver(
        &mut self,
        batch: &Batch,
        deadline: tokio::time::Instant,
        stats: &mut DeliveryStats,
    ) -> Result<usize, DeliveryError> {
        match self {
            Sink::Syslog(sender) => sender.deliver(batch, deadline, stats).await,
            Sink::Relp(sender) => sender.deliver(batch, deadline, stats).await,
            Sink::Writer(writer) => writer.deliver(batch, stats).await,
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Syslog(sender) => write!(f, "Sink::Syslog({})", sender.target()),
            Sink::Relp(sender) => write!(f, "Sink::Relp({})", sender.target()),
            Sink::Writer(_) => write!(f, "Sink::Writer"),
        }
    }
}
