//! The offers exchanged by `open`: what we announce, and the check that the receiver's answer lets
//! us send syslog messages.

use super::codec::printable;

/// The RELP version librelp (rsyslog's `imrelp`) speaks and announces; the spec's "version 1" was
/// never deployed.
pub const RELP_VERSION: u32 = 0;

/// The data of our `open` command: one `name=value[,value…]` line per offer.
pub fn client_offers() -> Vec<u8> {
    let url = match env!("CARGO_PKG_REPOSITORY") {
        "" => "-",
        url => url,
    };
    format!(
        "relp_version={RELP_VERSION}\nrelp_software={},{},{url}\ncommands=syslog\n",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
    )
    .into_bytes()
}

/// Why the receiver's offers do not let us open a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("its answer to open carries no relp_version offer")]
    NoVersion,
    #[error("it speaks RELP version {0}; this forwarder speaks version {RELP_VERSION} (librelp's)")]
    Version(String),
    #[error("it does not offer the syslog command (commands={0})")]
    NoSyslog(String),
}

/// Checks the offers in the body of the receiver's `200` answer to `open`. Unknown offers are
/// ignored, as the spec asks.
pub fn check_server_offers(body: &[u8]) -> Result<(), OfferError> {
    let mut version = None;
    let mut commands: Option<&[u8]> = None;
    for line in body.split(|&b| b == b'\n') {
        let (name, values) = match line.iter().position(|&b| b == b'=') {
            Some(eq) => (&line[..eq], &line[eq + 1..]),
            None => (line, &line[line.len()..]),
        };
        match name {
            b"relp_version" => version = Some(values),
            b"commands" => commands = Some(values),
            _ => {}
        }
    }
    let version = version.ok_or(OfferError::NoVersion)?;
    let first = version.split(|&b| b == b',').next().unwrap_or_default();
    let speaks = std::str::from_utf8(first)
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    // librelp accepts a receiver at its own version or below; there is none below 0.
    if speaks != Some(RELP_VERSION) {
        return Err(OfferError::Version(printable(version)));
    }
    let commands = commands.unwrap_or_default();
    if !commands.split(|&b| b == b',').any(|c| c == b"syslog") {
        return Err(OfferError::NoSyslog(printable(commands)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announces_version_software_and_syslog() {
        let offers = String::from_utf8(client_offers()).unwrap();
        assert!(offers.starts_with("relp_version=0\nrelp_software=aws-syslog-forwarder,"));
        assert!(offers.ends_with("\ncommands=syslog\n"));
        assert_eq!(
            offers.matches(',').count(),
            2,
            "name, version, url: {offers}"
        );
    }

    #[test]
    fn accepts_librelp_and_refuses_what_cannot_carry_syslog() {
        let librelp = b"relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";
        assert_eq!(check_server_offers(librelp), Ok(()));
        assert_eq!(
            check_server_offers(b"relp_version=0\ncommands=eventlog,syslog\nfuture=1"),
            Ok(())
        );
        assert_eq!(
            check_server_offers(b"commands=syslog\n"),
            Err(OfferError::NoVersion)
        );
        assert_eq!(
            check_server_offers(b"relp_version=1\ncommands=syslog\n"),
            Err(OfferError::Version("1".into()))
        );
        assert_eq!(
            check_server_offers(b"relp_version=0\ncommands=\n"),
            Err(OfferError::NoSyslog(String::new()))
        );
        assert_eq!(
            check_server_offers(b"relp_version=0\n"),
            Err(OfferError::NoSyslog(String::new()))
        );
        assert_eq!(
            check_server_offers(b"relp_version=0\ncommands=sysloggy\n"),
            Err(OfferError::NoSyslog("sysloggy".into()))
        );
    }
}
