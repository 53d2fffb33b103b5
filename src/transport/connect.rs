//! Opening a connection to the receiver: name resolution, TCP connect and the TLS handshake, each
//! within its time budget, with errors that say what to check. Every transport connects this way.
//!
//! SYSLOG_HOST may list several receivers: they are tried in order (every address a name resolves
//! to), the one that answered is kept for the next connections, and after the failback window the
//! first is tried again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::connection::{Connection, Watched};
use super::retry::budget;
use super::tls::{
    TlsClient, TlsSetupError, describe_handshake_error, handshake_refuses_client_certificate,
    is_certificate_error,
};
use super::{DeliveryStats, EntryFailure, TransportError};
use crate::config::{ClientKey, Destination, KeyStore, TlsSettings};
use crate::secrets::KeyReader;

/// One entry of SYSLOG_HOST.
struct Target {
    host: String,
    port: u16,
    /// The name its certificate must carry, over TLS.
    server_name: Option<ServerName<'static>>,
}

impl Target {
    /// `host:port`, with an IPv6 address in brackets.
    fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

pub struct Connector {
    targets: Vec<Target>,
    tls: Option<ConnectorTls>,
    connect_timeout: Duration,
    failback: Duration,
    /// The entry the last connection went to.
    current: usize,
    /// Since when the connections go to a later entry than the first.
    away_since: Option<Instant>,
}

struct ConnectorTls {
    settings: TlsSettings,
    /// Built at start-up, or for a stored key once the key is read (and again after a re-read).
    client: Mutex<Option<Arc<TlsClient>>>,
    stored: Option<StoredKey>,
}

/// A client key read from a secret store: once per instance, before the first connection, and
/// once more when the receiver refuses the certificate (the key may have been rotated).
struct StoredKey {
    store: KeyStore,
    reader: KeyReader,
    /// This delivery has re-read the key already: a second refusal is not a rotation.
    reread: AtomicBool,
}

impl Connector {
    pub fn new(destination: &Destination) -> Result<Connector, TlsSetupError> {
        let (tls, server_name) = match &destination.tls {
            None => (None, None),
            Some(settings) => {
                // Everything but a stored key is checked now (a bad CA is a configuration error).
                let client = TlsClient::new(settings)?;
                let server_name = client.server_name.clone();
                let stored = match settings.client_auth.as_ref().map(|auth| &auth.key) {
                    Some(ClientKey::Stored(store)) => Some(StoredKey {
                        store: store.clone(),
                        reader: KeyReader::default(),
                        reread: AtomicBool::new(false),
                    }),
                    _ => None,
                };
                let tls = ConnectorTls {
                    settings: settings.clone(),
                    client: Mutex::new(stored.is_none().then(|| Arc::new(client))),
                    stored,
                };
                (Some(tls), Some(server_name))
            }
        };
        let mut targets = vec![Target {
            host: destination.host.clone(),
            port: destination.port,
            server_name,
        }];
        for endpoint in &destination.alternates {
            let server_name = match &tls {
                None => None,
                Some(_) => Some(
                    ServerName::try_from(endpoint.server_name.clone())
                        .map_err(|_| TlsSetupError::ServerName(endpoint.server_name.clone()))?,
                ),
            };
            targets.push(Target {
                host: endpoint.host.clone(),
                port: endpoint.port,
                server_name,
            });
        }
        Ok(Connector {
            targets,
            tls,
            connect_timeout: destination.connect_timeout,
            failback: destination.failback,
            current: 0,
            away_since: None,
        })
    }

    /// A new delivery begins: a refusal may again mean a rotated key.
    pub fn new_delivery(&self) {
        if let Some(stored) = self.tls.as_ref().and_then(|tls| tls.stored.as_ref()) {
            stored.reread.store(false, Ordering::Relaxed);
        }
    }

    /// After `error`: when the receiver refused our certificate and the key comes from a store,
    /// drops the key so that the next connection reads it again (once per delivery); true then,
    /// and the caller retries at once.
    pub fn reread_key_after(&self, error: &TransportError) -> bool {
        let Some(tls) = &self.tls else {
            return false;
        };
        let Some(stored) = &tls.stored else {
            return false;
        };
        if !error.refuses_client_certificate() || stored.reread.swap(true, Ordering::Relaxed) {
            return false;
        }
        *tls.client.lock().unwrap_or_else(PoisonError::into_inner) = None;
        tracing::warn!(
            arn = stored.store.arn(),
            "the receiver refused the client certificate; reading the key again (it may have been rotated)"
        );
        true
    }

    /// The TLS client, reading the stored key first when it is not read yet.
    async fn tls_client(
        &self,
        tls: &ConnectorTls,
        deadline: Instant,
    ) -> Result<Arc<TlsClient>, TransportError> {
        if let Some(client) = tls
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(client);
        }
        let Some(stored) = &tls.stored else {
            // Only a stored key leaves the client unbuilt.
            return Err(TransportError::DeadlineExceeded);
        };
        let pem = timeout_at(deadline, stored.reader.read(&stored.store))
            .await
            .map_err(|_| TransportError::DeadlineExceeded)??;
        let client = TlsClient::with_stored_key(&tls.settings, &crate::config::pem_lines(pem))
            .map(Arc::new)
            .map_err(TransportError::StoredKey)?;
        tracing::info!(arn = stored.store.arn(), "TLS client key read");
        *tls.client.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&client));
        Ok(client)
    }

    /// `host:port` of the entry connections go to now.
    pub fn address(&self) -> String {
        self.targets[self.current].address()
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Over TLS without a client certificate: a receiver that wants one may accept the handshake
    /// and drop the data, which errors then hint at.
    pub fn tls_without_client_cert(&self) -> bool {
        self.tls
            .as_ref()
            .is_some_and(|tls| tls.settings.client_auth.is_none())
    }

    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// On a later entry for the failback window: the warm connection should give way to a new
    /// one, which tries the first entry again.
    pub fn failback_due(&self) -> bool {
        self.away_since
            .is_some_and(|since| since.elapsed() >= self.failback)
    }

    /// Connects (and for TLS completes the handshake) to the entry that worked last, else to the
    /// others in order; to the first entry once the failback window is over. Each step within the
    /// connect timeout and before `deadline`. A switch of entry is counted in `stats`.
    pub async fn connect(
        &mut self,
        deadline: Instant,
        stats: &mut DeliveryStats,
    ) -> Result<Connection, TransportError> {
        // A stored key is read before connecting: the read may take the AWS call's own timeout.
        let tls = match &self.tls {
            // Boxed: the SDK call's future would otherwise nest into every sender's future type,
            // past the compiler's default depth in callers.
            Some(tls) => Some(Box::pin(self.tls_client(tls, deadline)).await?),
            None => None,
        };
        let failing_back = self.failback_due();
        let start = if failing_back { 0 } else { self.current };
        let count = self.targets.len();
        let mut failures = Vec::new();
        for index in (0..count).map(|i| (start + i) % count) {
            match self.connect_to(index, tls.as_deref(), deadline).await {
                Ok(connection) => {
                    self.arrive(index, failing_back, &failures, stats);
                    return Ok(connection);
                }
                Err(cause) => {
                    let out_of_time = matches!(cause, TransportError::DeadlineExceeded);
                    if count > 1 {
                        tracing::warn!(target = %self.targets[index].address(), error = %cause, "receiver entry failed; trying the next one");
                    }
                    failures.push(EntryFailure {
                        target: self.targets[index].address(),
                        cause,
                    });
                    if out_of_time {
                        break;
                    }
                }
            }
        }
        if failures.len() == 1 && count == 1 {
            return Err(failures.remove(0).cause);
        }
        Err(TransportError::EveryEntryFailed { failures })
    }

    /// Keeps `index` as the entry to use, counting a switch.
    fn arrive(
        &mut self,
        index: usize,
        failing_back: bool,
        failures: &[EntryFailure],
        stats: &mut DeliveryStats,
    ) {
        if index != self.current {
            stats.failovers += 1;
            tracing::warn!(
                from = %self.targets[self.current].address(),
                to = %self.targets[index].address(),
                failed = ?failures.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                "switched to another receiver entry"
            );
        }
        if index == 0 {
            self.away_since = None;
        } else if index != self.current || failing_back || self.away_since.is_none() {
            // A failback that found the first entry still down starts a new window.
            self.away_since = Some(Instant::now());
        }
        self.current = index;
    }

    async fn connect_to(
        &self,
        index: usize,
        tls: Option<&TlsClient>,
        deadline: Instant,
    ) -> Result<Connection, TransportError> {
        let target = &self.targets[index];
        let address = target.address();
        let budget_left = budget(self.connect_timeout, deadline)?;
        let started = Instant::now();
        let tcp = match timeout(budget_left, connect_tcp(target, started + budget_left)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(TransportError::ConnectTimeout {
                    target: address,
                    after: budget_left,
                });
            }
        };
        // Small final segments must not wait for Nagle: the acknowledgement wait measures them.
        let _ = tcp.set_nodelay(true);
        let (Some(tls), Some(server_name)) = (tls, &target.server_name) else {
            tracing::debug!(target = %address, elapsed = ?started.elapsed(), "connected");
            return Ok(Connection::Tcp(tcp));
        };
        let budget_left = budget(self.connect_timeout, deadline)?;
        let handshake = tls
            .connector
            .connect(server_name.clone(), Watched::new(tcp))
            .into_fallible();
        match timeout(budget_left, handshake).await {
            Ok(Ok(stream)) => {
                tracing::debug!(target = %address, elapsed = ?started.elapsed(), "TLS connected");
                Ok(Connection::Tls(Box::new(stream)))
            }
            // Ended without an alert right after our Finished (TLS 1.2: the receiver's Finished
            // never came): it refused our certificate, or its absence, once it had it all.
            Ok(Err((e, watched)))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) && !is_tls_error(&e)
                    && watched.sent_final_flight() =>
            {
                Err(TransportError::Handshake {
                    target: address,
                    reason: format!(
                        "the receiver ended the handshake right after our Finished, without an \
                         alert: it refuses this client ({})",
                        if self.tls_without_client_cert() {
                            "it most likely requires a client certificate: set \
                             SYSLOG_TLS_CLIENT_CERT and SYSLOG_TLS_CLIENT_KEY"
                        } else {
                            "check that it trusts the CA of SYSLOG_TLS_CLIENT_CERT and that its \
                             allow list names it"
                        }
                    ),
                    certificate: true,
                    client_certificate_refused: true,
                })
            }
            Ok(Err((e, _))) => Err(TransportError::Handshake {
                target: address,
                reason: describe_handshake_error(&e),
                certificate: is_certificate_error(&e),
                client_certificate_refused: handshake_refuses_client_certificate(&e),
            }),
            Err(_) => Err(TransportError::HandshakeTimeout {
                target: address,
                after: budget_left,
            }),
        }
    }
}

/// Whether an I/O error carries a TLS error (an alert, a bad record) rather than the connection's
/// end.
fn is_tls_error(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some())
}

/// Connects to every address `target` resolves to, in turn, until one answers.
async fn connect_tcp(target: &Target, until: Instant) -> Result<TcpStream, TransportError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|source| TransportError::Resolve {
            host: target.host.clone(),
            source,
        })?
        .collect();
    connect_any(&addresses, until)
        .await
        .map_err(|source| TransportError::Connect {
            target: target.address(),
            source,
        })
}

/// Tries `addresses` in order; each gets an equal share of what is left before `until`, so a
/// silent first address does not use it all.
async fn connect_any(addresses: &[SocketAddr], until: Instant) -> std::io::Result<TcpStream> {
    let mut last_error = None;
    for (tried, address) in addresses.iter().enumerate() {
        let share =
            until.saturating_duration_since(Instant::now()) / (addresses.len() - tried) as u32;
        match timeout(share, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {
                last_error = Some(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{address} did not answer within {share:?}"),
                ))
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the name resolved to no address",
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_address_is_tried_until_one_answers() {
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // A port nobody listens on: bound, then released.
        let dead = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap()
        };
        let until = Instant::now() + Duration::from_secs(5);
        let stream = connect_any(&[dead, live.local_addr().unwrap()], until)
            .await
            .expect("the second address answers");
        assert_eq!(stream.peer_addr().unwrap(), live.local_addr().unwrap());
        let err = connect_any(&[dead], until).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        let err = connect_any(&[], until).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
