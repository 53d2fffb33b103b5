//! TLS client configuration: rustls, TLS 1.2+, server verified against the Mozilla roots or the CA
//! given in SYSLOG_TLS_CA, optionally pinned, optionally with a client certificate. There is
//! deliberately no way to skip verification.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use super::pinning::PinnedVerifier;
use crate::config::{ClientAuth, ClientKey, TlsSettings};

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
    ClientCertPem(PemProblem),
    #[error(
        "SYSLOG_TLS_CLIENT_KEY is invalid: {0}; give the client certificate's private key as PEM (PKCS#8, PKCS#1 or SEC1)"
    )]
    ClientKeyPem(PemProblem),
    #[error(
        "the TLS client key stored at {arn} (SYSLOG_TLS_CLIENT_KEY_SECRET_ARN) is invalid: {problem}; \
         store the client certificate's private key as PEM (PKCS#8, PKCS#1 or SEC1)"
    )]
    StoredKeyPem { arn: String, problem: PemProblem },
    #[error(
        "no client certificate for the key stored at {arn}: set SYSLOG_TLS_CLIENT_CERT, or store \
         the certificate (chain) as PEM beside the key (one secret to rotate)"
    )]
    StoredKeyWithoutCertificate { arn: String },
    #[error(
        "SYSLOG_TLS_CLIENT_CERT and SYSLOG_TLS_CLIENT_KEY do not belong together ({0}); give the key of that certificate"
    )]
    ClientKeyMismatch(String),
    #[error(
        "the key stored at {arn} (SYSLOG_TLS_CLIENT_KEY_SECRET_ARN) does not belong to the client \
         certificate ({reason}); store the key of the certificate (or the certificate with its key)"
    )]
    StoredKeyMismatch { arn: String, reason: String },
    #[error("SYSLOG_TLS_SERVER_NAME (or SYSLOG_HOST) {0:?} is not a valid DNS name or IP address")]
    ServerName(String),
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// What is wrong with a PEM value, and nothing of its content: the parser's own messages quote the
/// offending line or base64 text, which for a private key is key material (and errors reach the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemProblem {
    /// No block of the expected kind at all.
    NoItem,
    /// A BEGIN line without its END line.
    MissingEnd,
    /// A line starting with ----- that is not a well-formed BEGIN line.
    MalformedBegin,
    /// The body between BEGIN and END is not base64.
    BadBase64,
    /// A block over the parser's size limit.
    TooLarge,
    /// Anything else the parser reports.
    Unreadable,
}

impl std::fmt::Display for PemProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PemProblem::NoItem => "no PEM block of that kind found (-----BEGIN ...----- missing)",
            PemProblem::MissingEnd => {
                "a -----BEGIN ...----- line has no matching -----END ...----- line"
            }
            PemProblem::MalformedBegin => "a -----BEGIN ...----- line is malformed",
            PemProblem::BadBase64 => "the text between the BEGIN and END lines is not valid base64",
            PemProblem::TooLarge => "a PEM block is too large",
            PemProblem::Unreadable => "the PEM text cannot be parsed",
        })
    }
}

impl From<&rustls::pki_types::pem::Error> for PemProblem {
    fn from(error: &rustls::pki_types::pem::Error) -> PemProblem {
        use rustls::pki_types::pem::Error;
        match error {
            Error::NoItemsFound => PemProblem::NoItem,
            Error::MissingSectionEnd { .. } => PemProblem::MissingEnd,
            Error::IllegalSectionStart { .. } => PemProblem::MalformedBegin,
            Error::Base64Decode(_) => PemProblem::BadBase64,
            Error::SectionTooLarge => PemProblem::TooLarge,
            _ => PemProblem::Unreadable,
        }
    }
}

/// A ready TLS connector and the name the server certificate must carry.
pub struct TlsClient {
    pub connector: tokio_rustls::TlsConnector,
    pub server_name: ServerName<'static>,
    /// Whether a client certificate is presented (mutual TLS).
    pub client_auth: bool,
}

impl TlsClient {
    /// The client for `settings`; a key still to be read from a store is left out (see
    /// [`TlsClient::with_stored_key`]), so that the rest of the settings is checked at start-up.
    pub fn new(settings: &TlsSettings) -> Result<TlsClient, TlsSetupError> {
        TlsClient::build(settings, None)
    }

    /// The client with the PEM read from the key's store (the key, and maybe its certificate chain,
    /// which then replaces SYSLOG_TLS_CLIENT_CERT).
    pub fn with_stored_key(
        settings: &TlsSettings,
        stored_pem: &str,
    ) -> Result<TlsClient, TlsSetupError> {
        TlsClient::build(settings, Some(stored_pem))
    }

    fn build(settings: &TlsSettings, stored_pem: Option<&str>) -> Result<TlsClient, TlsSetupError> {
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
        let identity = match &settings.client_auth {
            Some(auth) => client_identity(auth, stored_pem)?,
            None => None,
        };
        let client_auth = identity.is_some();
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
                match settings.client_auth.as_ref().map(|auth| &auth.key) {
                    Some(ClientKey::Stored(store)) => TlsSetupError::StoredKeyMismatch {
                        arn: store.arn().to_owned(),
                        reason: e.to_string(),
                    },
                    _ => TlsSetupError::ClientKeyMismatch(e.to_string()),
                }
            })?,
        };
        let server_name = ServerName::try_from(settings.server_name.clone())
            .map_err(|_| TlsSetupError::ServerName(settings.server_name.clone()))?;
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
            client_auth,
        })
    }
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The client certificate chain and key; `None` for a stored key not read yet.
fn client_identity(
    auth: &ClientAuth,
    stored_pem: Option<&str>,
) -> Result<Option<Identity>, TlsSetupError> {
    let certificates = |pem: &str| {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsSetupError::ClientCertPem(PemProblem::from(&e)))
    };
    // Only the kind of error: the parser's text quotes the key's own lines.
    let (chain, key) = match (&auth.key, stored_pem) {
        (ClientKey::Pem(pem), _) => {
            let key = PrivateKeyDer::from_pem_slice(pem.as_bytes())
                .map_err(|e| TlsSetupError::ClientKeyPem(PemProblem::from(&e)))?;
            (certificates(&auth.cert_pem)?, key)
        }
        (ClientKey::Stored(_), None) => return Ok(None),
        (ClientKey::Stored(store), Some(pem)) => {
            let arn = store.arn().to_owned();
            let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
                TlsSetupError::StoredKeyPem {
                    arn: arn.clone(),
                    problem: PemProblem::from(&e),
                }
            })?;
            // A chain stored with the key wins: key and certificate rotate together.
            let stored_chain = certificates(pem).unwrap_or_default();
            let chain = if stored_chain.is_empty() {
                certificates(&auth.cert_pem)?
            } else {
                stored_chain
            };
            if chain.is_empty() {
                return Err(TlsSetupError::StoredKeyWithoutCertificate { arn });
            }
            (chain, key)
        }
    };
    if chain.is_empty() {
        return Err(TlsSetupError::ClientCertPem(PemProblem::NoItem));
    }
    Ok(Some((chain, key)))
}

/// Whether the receiver refused our client certificate (or its absence): an alert it sends during
/// the handshake (TLS 1.2) or right after it (TLS 1.3).
pub fn refuses_client_certificate(tls: &rustls::Error) -> bool {
    use rustls::AlertDescription::*;
    matches!(
        tls,
        rustls::Error::AlertReceived(
            CertificateRequired
                | BadCertificate
                | UnknownCA
                | AccessDenied
                | CertificateExpired
                | CertificateRevoked
                | CertificateUnknown
                | UnsupportedCertificate
        )
    )
}

/// [`refuses_client_certificate`] for a failed handshake.
pub fn handshake_refuses_client_certificate(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .is_some_and(refuses_client_certificate)
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

    /// A client certificate and its key, from a throwaway CA-less self-signed certificate.
    fn identity() -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        (cert.pem(), key.serialize_pem())
    }

    fn with_key(cert: &str, key: &str) -> Result<TlsClient, TlsSetupError> {
        TlsClient::new(&TlsSettings {
            client_auth: Some(ClientAuth {
                cert_pem: cert.to_owned(),
                key: ClientKey::Pem(key.to_owned()),
            }),
            ..settings(None, "siem.example.com")
        })
    }

    /// Every 16-character run of the key's base64 body.
    fn body_runs(key: &str) -> Vec<String> {
        let markers = regex::Regex::new("-----(BEGIN|END) [A-Z0-9 ]*-----").expect("regex");
        let body: String = markers.replace_all(key, " ").split_whitespace().collect();
        let chars: Vec<char> = body.chars().collect();
        chars.windows(16).map(|w| w.iter().collect()).collect()
    }

    fn assert_no_key_material(key: &str, text: &str) {
        let runs = body_runs(key);
        assert!(runs.len() > 10, "the test key has a body: {key}");
        if let Some(run) = runs.iter().find(|run| text.contains(run.as_str())) {
            panic!("the error quotes the key ({run}): {text}");
        }
    }

    #[test]
    fn a_broken_key_is_named_by_its_kind_only() {
        let (cert, key) = identity();
        assert!(with_key(&cert, &key).is_ok(), "the intact key works");
        let one_line = key.split_whitespace().collect::<Vec<_>>().join(" ");
        let lines: Vec<&str> = key.lines().collect();
        let truncated = lines[..lines.len() - 1].join("\n");
        let mut damaged: Vec<String> = lines.iter().map(|line| line.to_string()).collect();
        damaged[1].replace_range(10..11, "!");
        let not_base64 = damaged.join("\n");
        let wrong_der = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk="
        );
        for (label, broken, kind) in [
            // Not normalised here (the configuration does that): the parser sees one long line.
            // (the old message quoted the END marker it expected, built from that whole line).
            ("one line", one_line.as_str(), Some(PemProblem::MissingEnd)),
            (
                "no END line",
                truncated.as_str(),
                Some(PemProblem::MissingEnd),
            ),
            (
                "not base64",
                not_base64.as_str(),
                Some(PemProblem::BadBase64),
            ),
            (
                "no key",
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
                Some(PemProblem::NoItem),
            ),
            ("not a key", wrong_der.as_str(), None),
        ] {
            let err = with_key(&cert, broken)
                .err()
                .unwrap_or_else(|| panic!("{label}: accepted"));
            let text = format!("{err} {err:?}");
            if let Some(kind) = kind {
                assert!(
                    matches!(err, TlsSetupError::ClientKeyPem(k) if k == kind),
                    "{label}: {text}"
                );
                assert!(text.contains("SYSLOG_TLS_CLIENT_KEY"), "{label}: {text}");
            }
            assert_no_key_material(broken, &text);
        }
    }

    #[test]
    fn a_key_pasted_on_one_line_with_spaces_is_accepted() {
        let (cert, key) = identity();
        let one_line = key.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(!one_line.contains('\n'));
        let restored = crate::config::pem_lines(one_line);
        assert_eq!(restored.trim_end(), key.trim_end());
        assert!(with_key(&cert, &restored).is_ok());
    }

    fn stored(cert: &str) -> TlsSettings {
        TlsSettings {
            client_auth: Some(ClientAuth {
                cert_pem: cert.to_owned(),
                key: ClientKey::Stored(crate::config::KeyStore::SsmParameter {
                    arn: "arn:aws:ssm:eu-west-1:123456789012:parameter/k".into(),
                    region: "eu-west-1".into(),
                }),
            }),
            ..settings(None, "siem.example.com")
        }
    }

    #[test]
    fn a_stored_key_may_carry_its_certificate_and_its_errors_name_the_arn() {
        let (cert, key) = identity();
        // Not read yet: the rest of the settings is built, without a client certificate.
        assert!(
            !TlsClient::new(&stored(&cert))
                .expect("settings")
                .client_auth
        );
        let with_cert = TlsClient::with_stored_key(&stored(&cert), &key).expect("key + env cert");
        assert!(with_cert.client_auth);
        let both = format!("{cert}{key}");
        assert!(
            TlsClient::with_stored_key(&stored(""), &both).is_ok(),
            "chain in the value"
        );
        let (other_cert, _) = identity();
        let rotated = format!("{key}{cert}");
        assert!(
            TlsClient::with_stored_key(&stored(&other_cert), &rotated).is_ok(),
            "the stored chain wins over SYSLOG_TLS_CLIENT_CERT"
        );

        let err = TlsClient::with_stored_key(&stored(""), &key)
            .err()
            .expect("no certificate");
        assert!(
            matches!(err, TlsSetupError::StoredKeyWithoutCertificate { .. }),
            "{err}"
        );
        let err = TlsClient::with_stored_key(&stored(&other_cert), &key)
            .err()
            .expect("another certificate");
        assert!(
            matches!(err, TlsSetupError::StoredKeyMismatch { .. }),
            "{err}"
        );
        let one_line = key.split_whitespace().collect::<Vec<_>>().join(" ");
        let err = TlsClient::with_stored_key(&stored(&cert), &one_line)
            .err()
            .expect("not normalised here");
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("arn:aws:ssm:eu-west-1:123456789012:parameter/k"),
            "{text}"
        );
        assert_no_key_material(&key, &text);
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
