//! RELP, the Reliable Event Logging Protocol of rsyslog (`imrelp`): every message is answered by
//! the receiving application, so "delivered" means the receiver has it, not just its kernel.
//!
//! [`codec`] reads and writes frames, [`offers`] the `open` handshake.

pub mod codec;
pub mod offers;
