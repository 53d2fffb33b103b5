//! Certificate pinning (SYSLOG_TLS_PIN_SHA256): the server's end-entity certificate must have one of
//! the configured SHA-256 fingerprints, on top of the usual verification.
//!
//! With a pin, the pinned certificate stands in for the CA: when the chain leads to no trusted CA (a
//! receiver with a self-signed certificate), the certificates the server presented are trusted as
//! anchors for this one check, so the name and the validity period are still verified. Every other
//! failure (wrong name, expired, bad signature) still fails.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, RootCertStore};

/// The server presented a certificate whose fingerprint is not pinned.
#[derive(Debug, thiserror::Error)]
#[error(
    "the server certificate's SHA-256 fingerprint {found} matches no value of SYSLOG_TLS_PIN_SHA256; \
     if the receiver's certificate was renewed on purpose, pin the new fingerprint \
     (openssl x509 -noout -fingerprint -sha256)"
)]
pub struct PinMismatch {
    found: String,
}

#[derive(Debug)]
pub struct PinnedVerifier {
    pins: Vec<[u8; 32]>,
    ca_verifier: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    pub fn new(
        roots: RootCertStore,
        pins: Vec<[u8; 32]>,
        provider: Arc<CryptoProvider>,
    ) -> Result<PinnedVerifier, Error> {
        let ca_verifier = webpki_verifier(roots, &provider)?;
        Ok(PinnedVerifier {
            pins,
            ca_verifier,
            provider,
        })
    }

    /// Verifies the chain with the presented certificates themselves as the trust anchors.
    fn verify_as_own_anchor(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let mut roots = RootCertStore::empty();
        for cert in std::iter::once(end_entity).chain(intermediates) {
            // A certificate that cannot be an anchor is simply not one.
            let _ = roots.add(cert.clone().into_owned());
        }
        webpki_verifier(roots, &self.provider)?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, Error> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::General(format!("cannot build the certificate verifier: {e}")))
}

pub fn fingerprint(cert: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn hex_colons(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let found = fingerprint(end_entity);
        if !self.pins.contains(&found) {
            return Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    found: hex_colons(&found),
                })),
            )));
        }
        match self.ca_verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => self
                .verify_as_own_anchor(end_entity, intermediates, server_name, ocsp_response, now),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.ca_verifier.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.ca_verifier.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.ca_verifier.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_sha256_of_the_der() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hex_colons(&fingerprint(b"abc")).replace(':', ""),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }
}
