//! TLS client configuration: rustls, TLS 1.2+, server verified against the Mozilla roots or the CA
//! given in SYSLOG_TLS_CA. There is deliberately no way to skip verification.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::config::TlsSettings;

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
    #[error("SYSLOG_TLS_SERVER_NAME (or SYSLOG_HOST) {0:?} is not a valid DNS name or IP address")]
    ServerName(String),
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A ready TLS connector and the name the server certificate must carry.
pub struct TlsClient {
    pub connector: tokio_rustls::TlsConnector,
    pub server_name: ServerName<'static>,
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
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server_name = ServerName::try_from(settings.server_name.clone())
            .map_err(|_| TlsSetupError::ServerName(settings.server_name.clone()))?;
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
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

/// Whether a failed handshake is the server certificate's fault: retrying cannot help.
pub fn is_certificate_error(error: &std::io::Error) -> bool {
    matches!(
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

/// Names the cause of a failed handshake in terms a SIEM operator can act on.
pub fn describe_handshake_error(error: &std::io::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error};
    let Some(tls) = error.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return format!(
            "{error} (the receiver closed or reset the connection during the handshake: is this port TLS?)"
        );
    };
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
        Error::AlertReceived(AlertDescription::CertificateRequired)
        | Error::AlertReceived(AlertDescription::BadCertificate) => {
            format!("the receiver refused the handshake ({tls}); it may require a client certificate")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ca: Option<&str>, name: &str) -> TlsSettings {
        TlsSettings {
            ca_pem: ca.map(str::to_owned),
            server_name: name.into(),
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
