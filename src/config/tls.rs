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

#[derive(Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub cert_pem: String,
    pub key_pem: String,
}

// The key is a secret: never print it, not even at debug level.
impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
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
    match (get("SYSLOG_TLS_CLIENT_CERT"), get("SYSLOG_TLS_CLIENT_KEY")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(ClientAuth {
            cert_pem: pem_lines(pem_newlines(cert)),
            key_pem: pem_lines(pem_newlines(key)),
        })),
        (Some(_), None) => Err(ConfigError::Missing {
            var: "SYSLOG_TLS_CLIENT_KEY",
            hint: "SYSLOG_TLS_CLIENT_CERT is set; give the PEM private key of that certificate too",
        }),
        (None, Some(_)) => Err(ConfigError::Missing {
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
}
