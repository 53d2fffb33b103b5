//! RELP, the Reliable Event Logging Protocol of rsyslog (`imrelp`): every message is answered by
//! the receiving application, so "delivered" means the receiver has it, not just its kernel.
//!
//! [`codec`] reads and writes frames, [`offers`] the `open` handshake, `session` runs one
//! connection's window of frames and `sender` delivers a batch over as many sessions as it takes.

pub mod codec;
mod messages;
pub mod offers;
mod sender;
mod session;

use std::time::Duration;

pub use sender::RelpSender;

/// Why a RELP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum RelpError {
    #[error(
        "the RELP receiver refused to open a session: {status} (check that SYSLOG_PORT is the \
         receiver's imrelp port and the receiver's log for the reason)"
    )]
    OpenRefused { status: String },
    #[error(
        "the receiver cannot take syslog messages over RELP: {0} (check that SYSLOG_PORT is an \
         rsyslog imrelp input)"
    )]
    Offers(#[from] offers::OfferError),
    #[error(
        "the RELP receiver refused {count} message(s), the first with \"{status}\" (check the \
         receiver's log for the reason)"
    )]
    Refused { count: usize, status: String },
    #[error(
        "the RELP receiver ended the session (serverclose, as on a shutdown or restart) with \
         {unanswered} message(s) unanswered"
    )]
    ServerClose { unanswered: usize },
    #[error(
        "the RELP receiver closed the connection {}{}",
        if *opening { "before answering open".to_owned() } else { format!("with {unanswered} message(s) unanswered") },
        closed_hint(*opening, *tls_without_client_cert)
    )]
    Closed {
        unanswered: usize,
        opening: bool,
        tls_without_client_cert: bool,
    },
    #[error(
        "the RELP receiver answered {} within {after:?}{}",
        if *opening { "no open".to_owned() } else { format!("none of {unanswered} outstanding message(s)") },
        if *tls_without_client_cert && *opening { crate::transport::CLIENT_CERT_HINT } else { "" }
    )]
    NotAnswered {
        unanswered: usize,
        after: Duration,
        opening: bool,
        tls_without_client_cert: bool,
    },
    #[error(
        "reading the RELP receiver's answers failed: {0} (the connection was lost: check that the \
         receiver runs, and its log)"
    )]
    Read(std::io::Error),
    #[error(
        "the RELP receiver sent {detail} (is SYSLOG_PORT a RELP port? a plain syslog port does \
         not answer in RELP)"
    )]
    Protocol { detail: String },
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
}

impl RelpError {
    /// Errors that another session cannot fix.
    pub fn is_permanent(&self) -> bool {
        // Used-up transaction numbers are cured by the next session.
        matches!(
            self,
            RelpError::Offers(_) | RelpError::Encode(codec::EncodeError::DataTooLong(_))
        )
    }
}

fn closed_hint(opening: bool, tls_without_client_cert: bool) -> &'static str {
    match (opening, tls_without_client_cert) {
        (true, true) => crate::transport::CLIENT_CERT_HINT,
        (true, false) => " (check the receiver's log: a TLS or allow-list refusal?)",
        (false, _) => {
            " (check the receiver's log: a restart, or, with imrelp's oversizeMode=\"abort\", a \
             message longer than its maxDataSize, which must be at least SYSLOG_MAX_MESSAGE_BYTES)"
        }
    }
}
