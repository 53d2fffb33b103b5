//! TLS client configuration: rustls, TLS 1.2+, server verified against the Mozilla roots or the CA
//! given in SYSLOG_TLS_CA, optionally pinned, optionally with a client certificate. There is
//! deliberately no way to skip verification.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use super::pinning::PinnedVerifier;
use crate::config::{ClientAuth, TlsSettings};

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error(
        "SYSLOG_TLS_CA is invalid: {0}; give one or more PEM certificates (-----BEGIN CERTIFICATE-----)"
    )]
    CaPem(String),
    #[error(
        "SYSLOG_TLS_CA holds no certificate; give one or more PEM certificates (-----BEGIN CERTIFICATE-----)"
    )]
    CaEmpty,
    #[error(
        "SYSLOG_TLS_CLIENT_CERT is invalid: {0}; give the client certificate (and its chain) as PEM (-----BEGIN CERTIFICATE-----)"
    )]
    ClientCertPem(String),
    #[error(
        "SYSLOG_TLS_CLIENT_KEY is invalid: {0}; give the client certificate's private key as PEM (PKCS#8, PKCS#1 or SEC1)"
    )]
    ClientKeyPem(String),
    #[error(
        "SYSLOG_TLS_CLIENT_CERT and SYSLOG_TLS_CLIENT_KEY do not belong together ({0}); give the key of that certificate"
    )]
    ClientKeyMismatch(String),
    #[error("SYSLOG_TLS_SERVER_NAME (or SYSLOG_HOST) {0:?} is not a valid DNS name or IP address")]
    ServerName(String),
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A ready TLS connector and the name the server certificate must carry.
pub struct TlsClient {
    pub connector: tokio_rustls::TlsConnector,
    pub server_name: ServerName<'static>,
    /// Whether a client certificate is presented (mutual TLS).
    pub client_auth: bool,
}

impl TlsClient {
    pub fn new(settings: &TlsSettings) -> Result<TlsClient, TlsSetupError> {
        let roots = match &settings.ca_pem {
            Some(pem) => custom_roots(pem)?,
            None => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
        let builder = if settings.pins.is_empty() {
            builder.with_root_certificates(roots)
        } else {
            let verifier = PinnedVerifier::new(roots, settings.pins.clone(), provider)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        };
        let config = match &settings.client_auth {
            None => builder.with_no_client_auth(),
            Some(auth) => {
                let (chain, key) = client_identity(auth)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsSetupError::ClientKeyMismatch(e.to_string()))?
            }
        };
        let server_name = ServerName::try_from(settings.server_name.clone())
            .map_err(|_| TlsSetupError::ServerName(settings.server_name.clone()))?;
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
            client_auth: settings.client_auth.is_some(),
        })
    }
}

fn client_identity(
    auth: &ClientAuth,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsSetupError> {
    let chain = CertificateDer::pem_slice_iter(auth.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::ClientCertPem(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsSetupError::ClientCertPem("no certificate found".into()));
    }
    // The parser's message never contains key material.
    let key = PrivateKeyDer::from_pem_slice(auth.key_pem.as_bytes())
        .map_err(|e| TlsSetupError::ClientKeyPem(e.to_string()))?;
    Ok((chain, key))
}

fn custom_roots(pem: &str) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| TlsSetupError::CaPem(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TlsSetupError::CaPem(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(TlsSetupError::CaEmpty);
    }
    Ok(roots)
}

/// Whether a failed handshake is a certificate's fault, the server's (refused by us) or ours
/// (refused by the server's alert, as TLS 1.2 receivers do during the handshake): retrying
/// cannot help.
pub fn is_certificate_error(error: &std::io::Error) -> bool {
    use rustls::AlertDescription::{AccessDenied, BadCertificate, CertificateRequired, UnknownCA};
    matches!(
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_))
            | Some(rustls::Error::AlertReceived(
                BadCertificate | CertificateRequired | UnknownCA | AccessDenied
            ))
    )
}

/// Names the cause of a failed handshake in terms a SIEM operator can act on.
pub fn describe_handshake_error(error: &std::io::Error) -> String {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(tls) => describe_tls_error(tls),
        None => format!(
            "{error} (the receiver closed or reset the connection during the handshake: is this port TLS?)"
        ),
    }
}

/// Names the cause of a TLS failure, during or after the handshake (TLS 1.3 receivers reject a
/// missing client certificate only after the client has finished its side).
pub fn describe_tls_error(tls: &rustls::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error};
    match tls {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server certificate is signed by an unknown CA; set SYSLOG_TLS_CA to the PEM of the CA that signed it".into()
        }
        Error::InvalidCertificate(CertificateError::NotValidForName)
        | Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            "the server certificate does not carry the expected name; set SYSLOG_TLS_SERVER_NAME to a name in its subjectAltName".into()
        }
        Error::InvalidCertificate(CertificateError::Expired)
        | Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "the server certificate has expired; renew it on the receiver".into()
        }
        Error::InvalidCertificate(CertificateError::NotValidYet)
        | Error::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => {
            "the server certificate is not valid yet; check the receiver's certificate and clocks".into()
        }
        Error::AlertReceived(AlertDescription::HandshakeFailure)
        | Error::AlertReceived(AlertDescription::ProtocolVersion) => {
            format!("the receiver refused the handshake ({tls}); it may require other TLS versions or ciphers")
        }
        Error::InvalidCertificate(CertificateError::Other(other))
            if other.0.downcast_ref::<super::pinning::PinMismatch>().is_some() =>
        {
            other.0.to_string()
        }
        Error::AlertReceived(AlertDescription::CertificateRequired)
        | Error::AlertReceived(AlertDescription::BadCertificate)
        | Error::AlertReceived(AlertDescription::UnknownCA)
        | Error::AlertReceived(AlertDescription::AccessDenied) => {
            format!(
                "the receiver refused the handshake ({tls}); it requires a client certificate it \
                 trusts: set SYSLOG_TLS_CLIENT_CERT and SYSLOG_TLS_CLIENT_KEY"
            )
        }
        other => format!(
            "{other} (check that SYSLOG_PORT is the receiver's TLS port and that its TLS settings \
             match SYSLOG_TLS_CA, SYSLOG_TLS_SERVER_NAME and, if it asks for one, the client \
             certificate)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ca: Option<&str>, name: &str) -> TlsSettings {
        TlsSettings {
            ca_pem: ca.map(str::to_owned),
            server_name: name.into(),
            client_auth: None,
            pins: Vec::new(),
        }
    }

    #[test]
    fn mozilla_roots_by_default_and_ip_names_work() {
        assert!(TlsClient::new(&settings(None, "siem.example.com")).is_ok());
        assert!(TlsClient::new(&settings(None, "192.0.2.10")).is_ok());
        assert!(TlsClient::new(&settings(None, "::1")).is_ok());
    }

    #[test]
    fn bad_ca_and_names_are_named() {
        let err = TlsClient::new(&settings(Some("not a pem"), "h"))
            .err()
            .unwrap();
        assert!(matches!(err, TlsSetupError::CaEmpty), "{err}");
        let garbage = "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n";
        let err = TlsClient::new(&settings(Some(garbage), "h")).err().unwrap();
        assert!(err.to_string().contains("SYSLOG_TLS_CA"), "{err}");
        let err = TlsClient::new(&settings(None, "bad name!")).err().unwrap();
        assert!(matches!(err, TlsSetupError::ServerName(_)));
    }
}
