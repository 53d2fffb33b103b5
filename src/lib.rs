//! Forwards AWS security telemetry (CloudWatch Logs subscriptions, ECR image scans, other EventBridge
//! events) to a SIEM as tagged syslog messages over TCP or TLS.
//!
//! The parts know nothing of Lambda: [`sources`] turn input into [`record::Record`]s, [`syslog`] turns
//! records into framed bytes, [`transport`] delivers bytes, and [`handler::Forwarder`] wires them;
//! [`detections`] tag and [`filters`] redact and select records on the way.
//! `main.rs` only picks the mode (Lambda runtime or `replay`).

// Futures of the one pipeline nest deeply (decoders inside items inside the handler).
#![recursion_limit = "256"]

pub mod aws;
pub mod config;
pub mod detections;
pub mod filters;
pub mod findings;
pub mod handler;
pub mod metrics;
pub mod record;
pub mod replay;
pub mod secrets;
pub mod sources;
pub mod syslog;
pub mod time;

#[cfg(test)]
mod test_support;
pub mod transport;
