//! Opening a connection to the receiver: name resolution, TCP connect and the TLS handshake, each
//! within its time budget, with errors that say what to check. Every transport connects this way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::TransportError;
use super::connection::Connection;
use super::retry::budget;
use super::tls::{
    TlsClient, TlsSetupError, describe_handshake_error, handshake_refuses_client_certificate,
    is_certificate_error,
};
use crate::config::{ClientKey, Destination, KeyStore, TlsSettings};
use crate::secrets::KeyReader;

pub struct Connector {
    host: String,
    port: u16,
    tls: Option<ConnectorTls>,
    connect_timeout: Duration,
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
        let tls = match &destination.tls {
            None => None,
            Some(settings) => {
                // Everything but a stored key is checked now (a bad CA is a configuration error).
                let client = TlsClient::new(settings)?;
                let stored = match settings.client_auth.as_ref().map(|auth| &auth.key) {
                    Some(ClientKey::Stored(store)) => Some(StoredKey {
                        store: store.clone(),
                        reader: KeyReader::default(),
                        reread: AtomicBool::new(false),
                    }),
                    _ => None,
                };
                Some(ConnectorTls {
                    settings: settings.clone(),
                    client: Mutex::new(stored.is_none().then(|| Arc::new(client))),
                    stored,
                })
            }
        };
        Ok(Connector {
            host: destination.host.clone(),
            port: destination.port,
            tls,
            connect_timeout: destination.connect_timeout,
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

    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
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

    /// Connects (and for TLS completes the handshake), each step within the connect timeout and
    /// before `deadline`.
    pub async fn connect(&self, deadline: Instant) -> Result<Connection, TransportError> {
        let target = self.address();
        // A stored key is read before connecting: the read may take the AWS call's own timeout.
        let tls = match &self.tls {
            // Boxed: the SDK call's future would otherwise nest into every sender's future type,
            // past the compiler's default depth in callers.
            Some(tls) => Some(Box::pin(self.tls_client(tls, deadline)).await?),
            None => None,
        };
        let budget_left = budget(self.connect_timeout, deadline)?;
        let started = Instant::now();
        let tcp = match timeout(budget_left, self.connect_tcp()).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(TransportError::ConnectTimeout {
                    target,
                    after: budget_left,
                });
            }
        };
        // Small final segments must not wait for Nagle: the acknowledgement wait measures them.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = tls else {
            tracing::debug!(%target, elapsed = ?started.elapsed(), "connected");
            return Ok(Connection::Tcp(tcp));
        };
        let budget_left = budget(self.connect_timeout, deadline)?;
        let handshake = tls.connector.connect(tls.server_name.clone(), tcp);
        match timeout(budget_left, handshake).await {
            Ok(Ok(stream)) => {
                tracing::debug!(%target, elapsed = ?started.elapsed(), "TLS connected");
                Ok(Connection::Tls(Box::new(stream)))
            }
            Ok(Err(e)) => Err(TransportError::Handshake {
                target,
                reason: describe_handshake_error(&e),
                certificate: is_certificate_error(&e),
                client_certificate_refused: handshake_refuses_client_certificate(&e),
            }),
            Err(_) => Err(TransportError::HandshakeTimeout {
                target,
                after: budget_left,
            }),
        }
    }

    async fn connect_tcp(&self) -> Result<TcpStream, TransportError> {
        let addresses = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|source| TransportError::Resolve {
                host: self.host.clone(),
                source,
            })?;
        let mut last_error = None;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(TransportError::Connect {
            target: self.address(),
            source: last_error.unwrap_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the name resolved to no address",
                )
            }),
        })
    }
}
