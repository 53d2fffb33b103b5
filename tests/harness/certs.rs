//! Certificates generated per test with rcgen: a CA, a server certificate it signs, and others.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

pub struct TestPki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    /// A client certificate signed by the same CA, for receivers that require mutual TLS.
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate")
}

fn server_cert(names: &[&str], issuer: &Issuer<'_, KeyPair>, expired: bool) -> (String, String) {
    // rcgen turns names that parse as IP addresses into IP SANs.
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("server params");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, issuer).expect("server certificate");
    (cert.pem(), key.serialize_pem())
}

/// A CA and a server certificate for `names` (DNS names or IP addresses) signed by it.
pub fn generate(names: &[&str]) -> TestPki {
    pki(names, false)
}

/// The same, with a server certificate that expired in 2021.
pub fn generate_expired(names: &[&str]) -> TestPki {
    pki(names, true)
}

fn pki(names: &[&str], expired: bool) -> TestPki {
    let ca = ca("Forwarder Test CA");
    let (server_cert_pem, server_key_pem) = server_cert(names, &ca, expired);
    let (client_cert_pem, client_key_pem) = client_cert("aws-syslog-forwarder", &ca);
    TestPki {
        ca_pem: ca.pem(),
        server_cert_pem,
        server_key_pem,
        client_cert_pem,
        client_key_pem,
    }
}

/// A self-signed server certificate (no CA at all): `ca_pem` is the certificate itself, and the
/// client certificate is signed by an unrelated CA.
pub fn generate_self_signed(names: &[&str]) -> TestPki {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("server params");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let key = KeyPair::generate().expect("server key");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let (client_cert_pem, client_key_pem) = client_cert("aws-syslog-forwarder", &ca("Client CA"));
    TestPki {
        ca_pem: cert.pem(),
        server_cert_pem: cert.pem(),
        server_key_pem: key.serialize_pem(),
        client_cert_pem,
        client_key_pem,
    }
}

fn client_cert(name: &str, issuer: &Issuer<'_, KeyPair>) -> (String, String) {
    let mut params = CertificateParams::new(vec![name.to_owned()]).expect("client params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().expect("client key");
    let cert = params.signed_by(&key, issuer).expect("client certificate");
    (cert.pem(), key.serialize_pem())
}

/// A client certificate signed by a CA the receiver does not trust.
pub fn untrusted_client_cert() -> (String, String) {
    client_cert("intruder", &ca("Untrusted Client CA"))
}

/// An unrelated CA: trusting it must not make the test server trusted.
pub fn self_signed_other_ca() -> String {
    ca("Some Other CA").pem()
}
