//! Opening a connection to the receiver: name resolution, TCP connect and the TLS handshake, each
//! within its time budget, with errors that say what to check. Every transport connects this way.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use super::TransportError;
use super::connection::Connection;
use super::retry::budget;
use super::tls::{TlsClient, TlsSetupError, describe_handshake_error, is_certificate_error};
use crate::config::Destination;

pub struct Connector {
    host: String,
    port: u16,
    tls: Option<TlsClient>,
    connect_timeout: Duration,
}

impl Connector {
    pub fn new(destination: &Destination) -> Result<Connector, TlsSetupError> {
        Ok(Connector {
            host: destination.host.clone(),
            port: destination.port,
            tls: destination.tls.as_ref().map(TlsClient::new).transpose()?,
            connect_timeout: destination.connect_timeout,
        })
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
        self.tls.as_ref().is_some_and(|tls| !tls.client_auth)
    }

    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Connects (and for TLS completes the handshake), each step within the connect timeout and
    /// before `deadline`.
    pub async fn connect(&self, deadline: Instant) -> Result<Connection, TransportError> {
        let target = self.address();
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
        let Some(tls) = &self.tls else {
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
