//! TLS to the receiver: trusted CAs, server name, mutual TLS client certificate, pins.

use super::ConfigError;
use super::parse::invalid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates to trust instead of the Mozilla roots.
    pub ca_pem: Option<String>,
    /// Name (or IP address) the server certificate must carry.
    pub server_name: String,
    /// PEM certificate chain and private key presented to receivers that require mutual TLS.
    pub client_auth: Option<ClientAuth>,
    /// SHA-256 fingerprints of the server certificate, any of which must match (rotation).
    pub pins: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// The certificate chain (SYSLOG_TLS_CLIENT_CERT). Empty when the stored key carries its own.
    pub cert_pem: String,
    pub key: ClientKey,
}

/// Where the client certificate's private key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// The PEM itself (SYSLOG_TLS_CLIENT_KEY).
    Pem(String),
    /// Read from a secret store when first needed (SYSLOG_TLS_CLIENT_KEY_SECRET_ARN).
    Stored(KeyStore),
}

// The key is a secret: never print it, not even at debug level.
impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::Pem(_) => f.write_str("Pem(<redacted>)"),
            ClientKey::Stored(store) => f.debug_tuple("Stored").field(store).finish(),
        }
    }
}

/// A secret store entry that holds the client key as PEM (and, optionally, its certificate chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// A Secrets Manager secret whose SecretString is the PEM.
    SecretsManager { arn: String, region: String },
    /// An SSM parameter (SecureString) whose value is the PEM; `GetParameter` takes the ARN as the
    /// name.
    SsmParameter { arn: String, region: String },
}

impl KeyStore {
    pub fn arn(&self) -> &str {
        match self {
            KeyStore::SecretsManager { arn, .. } | KeyStore::SsmParameter { arn, .. } => arn,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            KeyStore::SecretsManager { region, .. } | KeyStore::SsmParameter { region, .. } => {
                region
            }
        }
    }

    /// `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>` or
    /// `arn:<partition>:ssm:<region>:<account>:parameter/<name>`.
    fn parse(value: &str) -> Option<KeyStore> {
        let value = value.trim();
        let mut parts = value.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let well_formed = arn == "arn"
            && partition.starts_with("aws")
            && !region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return None;
        }
        let (arn, region) = (value.to_owned(), region.to_owned());
        match service {
            "secretsmanager" => resource
                .strip_prefix("secret:")
                .filter(|name| !name.is_empty())
                .map(|_| KeyStore::SecretsManager { arn, region }),
            "ssm" => resource
                .strip_prefix("parameter/")
                .filter(|name| !name.is_empty())
                .map(|_| KeyStore::SsmParameter { arn, region }),
            _ => None,
        }
    }
}

/// The TLS settings of a connection to `host` (the server name unless SYSLOG_TLS_SERVER_NAME
/// says otherwise).
pub(super) fn settings(
    host: &str,
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<TlsSettings, ConfigError> {
    let server_name = get("SYSLOG_TLS_SERVER_NAME").unwrap_or_else(|| host.to_owned());
    Ok(TlsSettings {
        ca_pem: get("SYSLOG_TLS_CA").map(pem_newlines),
        server_name: server_name.trim().to_owned(),
        client_auth: client_auth(get)?,
        pins: match get("SYSLOG_TLS_PIN_SHA256") {
            None => Vec::new(),
            Some(v) => parse_pins(&v)?,
        },
    })
}

fn client_auth(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<ClientAuth>, ConfigError> {
    let cert = get("SYSLOG_TLS_CLIENT_CERT");
    let stored = match get("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN") {
        None => None,
        Some(value) => Some(KeyStore::parse(&value).ok_or_else(|| {
            invalid(
                "SYSLOG_TLS_CLIENT_KEY_SECRET_ARN",
                &value,
                "give the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) \
                 or of an SSM parameter (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) holding the PEM key",
            )
        })?),
    };
    match (cert, get("SYSLOG_TLS_CLIENT_KEY"), stored) {
        (_, Some(_), Some(_)) => Err(ConfigError::Invalid {
            var: "SYSLOG_TLS_CLIENT_KEY",
            reason: "SYSLOG_TLS_CLIENT_KEY and SYSLOG_TLS_CLIENT_KEY_SECRET_ARN are both set; keep \
                     one: the ARN of the stored key (preferred: an environment variable is readable \
                     with lambda:GetFunctionConfiguration), or the PEM itself"
                .to_owned(),
        }),
        (None, None, None) => Ok(None),
        (Some(cert), Some(key), None) => Ok(Some(ClientAuth {
            cert_pem: pem_lines(pem_newlines(cert)),
            key: ClientKey::Pem(pem_lines(pem_newlines(key))),
        })),
        // The stored value may carry the certificate chain itself (one secret to rotate).
        (cert, None, Some(store)) => Ok(Some(ClientAuth {
            cert_pem: cert.map(|c| pem_lines(pem_newlines(c))).unwrap_or_default(),
            key: ClientKey::Stored(store),
        })),
        (Some(_), None, None) => Err(ConfigError::Missing {
            var: "SYSLOG_TLS_CLIENT_KEY",
            hint: "SYSLOG_TLS_CLIENT_CERT is set; give the PEM private key of that certificate \
                   too, or better the ARN of the secret or SSM parameter holding it in \
                   SYSLOG_TLS_CLIENT_KEY_SECRET_ARN",
        }),
        (None, Some(_), None) => Err(ConfigError::Missing {
            var: "SYSLOG_TLS_CLIENT_CERT",
            hint: "SYSLOG_TLS_CLIENT_KEY is set; give the PEM certificate (chain) of that key too",
        }),
    }
}

/// Consoles and parameter files often carry a PEM on one line with literal `\n`: restore the lines.
fn pem_newlines(value: String) -> String {
    if !value.contains('\n') && value.contains("\\n") {
        value.replace("\\n", "\n")
    } else {
        value
    }
}

/// A console text box turns a PEM's line breaks into spaces: `-----BEGIN PRIVATE KEY----- MIIE… …
/// -----END PRIVATE KEY-----` on one line. Put the BEGIN and END lines on lines of their own and turn
/// the spaces of each body into line breaks (the parser wants them, and base64 has no spaces). A value
/// that already has line breaks is left alone.
pub(crate) fn pem_lines(value: String) -> String {
    let trimmed = value.trim();
    if trimmed.contains('\n') || !trimmed.starts_with("-----BEGIN ") {
        return value;
    }
    let mut out = String::with_capacity(trimmed.len() + 2);
    let mut rest = trimmed;
    while !rest.is_empty() {
        // A marker: "-----BEGIN " or "-----END ", its label (spaces allowed), then "-----".
        let is_marker = rest.starts_with("-----BEGIN ") || rest.starts_with("-----END ");
        let marker_end = is_marker
            .then(|| rest[5..].find("-----").map(|end| end + 10))
            .flatten();
        if let Some(end) = marker_end {
            out.push_str(&rest[..end]);
            out.push('\n');
            rest = rest[end..].trim_start();
            continue;
        }
        // A body: up to the next marker, its words one per line.
        let body_end = rest.find("-----").unwrap_or(rest.len()).max(1);
        for word in rest[..body_end].split_whitespace() {
            out.push_str(word);
            out.push('\n');
        }
        rest = rest[body_end..].trim_start();
    }
    out
}

/// Comma-separated SHA-256 fingerprints, each 64 hex digits, colons allowed (`openssl x509
/// -fingerprint -sha256` prints `AB:CD:…`).
fn parse_pins(value: &str) -> Result<Vec<[u8; 32]>, ConfigError> {
    let fix = "use the certificate's SHA-256 fingerprint as 64 hex digits (colons allowed, e.g. the \
               output of openssl x509 -noout -fingerprint -sha256), several separated by commas";
    let mut pins = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let item = item
            .strip_prefix("sha256 Fingerprint=")
            .or_else(|| item.strip_prefix("SHA256 Fingerprint="))
            .unwrap_or(item);
        let hex: Vec<u8> = item.bytes().filter(|b| *b != b':').collect();
        if hex.len() != 64 {
            return Err(invalid("SYSLOG_TLS_PIN_SHA256", value, fix));
        }
        // from_str_radix alone would take a sign ("+a") as part of a number.
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(invalid("SYSLOG_TLS_PIN_SHA256", value, fix));
        }
        let mut pin = [0u8; 32];
        for (byte, pair) in pin.iter_mut().zip(hex.chunks(2)) {
            let digits = std::str::from_utf8(pair).ok();
            *byte = digits
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| invalid("SYSLOG_TLS_PIN_SHA256", value, fix))?;
        }
        pins.push(pin);
    }
    if pins.is_empty() {
        return Err(invalid("SYSLOG_TLS_PIN_SHA256", value, fix));
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::{ClientAuth, ClientKey, KeyStore};
    use crate::config::tests::{config, error_var};

    #[test]
    fn pins_accept_openssl_output_and_lists() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let value = format!("sha256 Fingerprint={colons}, {hex}");
        let c = config(&[
            ("ORGANISATION", "Acme"),
            ("SYSLOG_HOST", "h"),
            ("SYSLOG_TLS_PIN_SHA256", &value),
        ])
        .unwrap();
        assert_eq!(
            c.destination.unwrap().tls.unwrap().pins,
            vec![[0xab; 32]; 2]
        );
        let signed = format!("+a{}", "0".repeat(62));
        for bad in [
            "ab",
            &"zz".repeat(32),
            &"ab".repeat(33),
            ",",
            "日本",
            &signed,
        ] {
            let vars = [
                ("ORGANISATION", "Acme"),
                ("SYSLOG_HOST", "h"),
                ("SYSLOG_TLS_PIN_SHA256", bad),
            ];
            assert_eq!(error_var(&vars), "SYSLOG_TLS_PIN_SHA256", "{bad}");
        }
    }

    #[test]
    fn client_certificate_needs_its_key_and_the_key_stays_secret() {
        let base = [("ORGANISATION", "Acme"), ("SYSLOG_HOST", "h")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            vars
        };
        assert_eq!(
            error_var(&with(&[("SYSLOG_TLS_CLIENT_CERT", "c")])),
            "SYSLOG_TLS_CLIENT_KEY"
        );
        assert_eq!(
            error_var(&with(&[("SYSLOG_TLS_CLIENT_KEY", "k")])),
            "SYSLOG_TLS_CLIENT_CERT"
        );
        let c = config(&with(&[
            (
                "SYSLOG_TLS_CLIENT_CERT",
                "-----BEGIN CERTIFICATE-----\\nAA\\n",
            ),
            (
                "SYSLOG_TLS_CLIENT_KEY",
                "-----BEGIN PRIVATE KEY-----\\nSECRET\\n",
            ),
        ]))
        .unwrap();
        let auth = c.destination.unwrap().tls.unwrap().client_auth.unwrap();
        assert_eq!(auth.cert_pem, "-----BEGIN CERTIFICATE-----\nAA\n");
        assert!(!format!("{auth:?}").contains("SECRET"));
    }

    const SECRET: &str =
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:siem/client-key-AbCdEf";
    const PARAMETER: &str = "arn:aws:ssm:eu-west-1:123456789012:parameter/siem/client-key";

    fn client_auth(extra: &[(&'static str, &'static str)]) -> Result<Option<ClientAuth>, String> {
        let mut vars = vec![("ORGANISATION", "Acme"), ("SYSLOG_HOST", "h")];
        vars.extend_from_slice(extra);
        config(&vars)
            .map(|c| c.destination.unwrap().tls.unwrap().client_auth)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_key_can_be_read_from_secrets_manager_or_ssm() {
        let auth = client_auth(&[("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN", SECRET)])
            .unwrap()
            .unwrap();
        assert_eq!(
            auth.key,
            ClientKey::Stored(KeyStore::SecretsManager {
                arn: SECRET.into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(auth.cert_pem, "", "the secret may carry the certificate");
        let auth = client_auth(&[
            (
                "SYSLOG_TLS_CLIENT_CERT",
                "-----BEGIN CERTIFICATE-----\\nAA\\n",
            ),
            ("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN", PARAMETER),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            auth.key,
            ClientKey::Stored(KeyStore::SsmParameter {
                arn: PARAMETER.into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(auth.cert_pem, "-----BEGIN CERTIFICATE-----\nAA\n");
        assert!(
            format!("{auth:?}").contains(PARAMETER),
            "the ARN is no secret"
        );
    }

    #[test]
    fn the_key_and_its_secret_arn_together_are_refused_naming_both() {
        let error = client_auth(&[
            ("SYSLOG_TLS_CLIENT_CERT", "c"),
            (
                "SYSLOG_TLS_CLIENT_KEY",
                "-----BEGIN PRIVATE KEY-----\\nSECRET\\n",
            ),
            ("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN", SECRET),
        ])
        .unwrap_err();
        assert!(
            error.contains(
                "SYSLOG_TLS_CLIENT_KEY and SYSLOG_TLS_CLIENT_KEY_SECRET_ARN are both set"
            ),
            "{error}"
        );
        assert!(!error.contains("SECRET\\n"), "{error}");
    }

    #[test]
    fn a_secret_arn_of_another_kind_is_refused() {
        for bad in [
            "siem/client-key",
            "arn:aws:s3:::bucket/key",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
            "arn:aws:ssm:eu-west-1:123456789012:document/x",
            "arn:aws:ssm:eu-west-1:12345:parameter/x",
            "arn:aws:kms:eu-west-1:123456789012:key/abc",
        ] {
            let error = client_auth(&[("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN", bad)]).unwrap_err();
            assert!(
                error.starts_with("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN is invalid"),
                "{bad}: {error}"
            );
        }
    }
}
