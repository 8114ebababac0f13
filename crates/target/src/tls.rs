//! TLS for the target: a certificate made at start (or read from PEM files), and the
//! rustls server configuration that offers HTTP/2 and HTTP/1.1 by ALPN.
//!
//! rustls runs on its ring provider, chosen explicitly, so nothing here depends on which
//! crypto provider another crate in the process may have installed as the default. Knows
//! nothing of HTTP beyond the two ALPN names.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::TlsConfig;
use crate::error::Error;

/// The names the generated leaf certificate is valid for: every way a client on this
/// machine may spell the loopback address.
pub const GENERATED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// What a TLS target serves with, and what its clients should trust.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    /// PEM of the certificate a client should trust: the generated CA, or the chain read
    /// from the certificate file.
    pub(crate) trust_pem: String,
}

/// Builds the acceptor for `config`: generates or reads the certificate and key.
pub(crate) fn load(config: &TlsConfig) -> Result<Tls, Error> {
    let (chain, key, trust_pem) = match config {
        TlsConfig::Generated => generate()?,
        TlsConfig::Files { cert, key } => read_files(cert, key)?,
    };
    let mut server = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(Error::Tls)?;
    // HTTP/2 first: a client that offers both gets the multiplexed protocol, as browsers do.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        trust_pem,
    })
}

type Loaded = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String);

/// A CA made for this run, and a leaf for the loopback names signed by it. The server
/// presents the leaf and the CA; clients trust the CA. Keys are ECDSA P-256 (rcgen's
/// default), which every TLS client supports and which is quick to generate.
fn generate() -> Result<Loaded, Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(Error::Certificate)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "stampede demo target CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(Error::Certificate)?;
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(Error::Certificate)?;

    let names: Vec<String> = GENERATED_NAMES.iter().map(|name| (*name).into()).collect();
    let mut leaf_params = CertificateParams::new(names).map_err(Error::Certificate)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(Error::Certificate)?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca)
        .map_err(Error::Certificate)?;

    let chain = vec![leaf.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((chain, key, ca.pem()))
}

fn read_files(cert: &Path, key: &Path) -> Result<Loaded, Error> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| Error::ReadPem {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let no_pem = |path: &Path, what: &'static str| Error::NoPem {
        path: path.to_owned(),
        what,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| no_pem(cert, "certificate"))?;
    if chain.is_empty() {
        return Err(no_pem(cert, "certificate"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|_| no_pem(key, "key"))?;
    let trust_pem = String::from_utf8_lossy(&cert_pem).into_owned();
    Ok((chain, key_der, trust_pem))
}

/// The protocol a finished handshake agreed on by ALPN, as a short label for logs.
pub(crate) fn alpn_label(connection: &rustls::ServerConnection) -> &'static str {
    match connection.alpn_protocol() {
        Some(b"h2") => "h2",
        Some(b"http/1.1") => "http/1.1",
        Some(_) => "other",
        None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_ca_signs_a_leaf_for_the_loopback_names() {
        let (chain, _key, trust_pem) = generate().expect("generates");
        assert_eq!(chain.len(), 2, "leaf and CA");
        assert!(trust_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let trusted: Vec<_> = CertificateDer::pem_slice_iter(trust_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("the trust PEM parses");
        assert_eq!(trusted, [chain[1].clone()], "clients trust the CA");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let config = TlsConfig::Files {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let Err(err) = load(&config) else {
            panic!("loads a missing file");
        };
        assert_eq!(err.to_string(), "cannot read /nonexistent/cert.pem");
    }
}
