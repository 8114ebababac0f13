//! The client side of TLS, built once per run from the plan: trusted roots (a `ca-file` or the
//! system's store), a client certificate for mutual TLS, the server name, and ALPN offers that
//! follow the plan's HTTP version. Every connection of the run shares the one configuration.
//!
//! rustls runs on its ring provider, chosen explicitly, so nothing depends on which crypto
//! provider another crate in the process installed as the default. Knows nothing of files: the
//! plan carries the PEM text, read and checked when the scenario was loaded.

use std::sync::Arc;

use stampede_plan::{HttpVersion, Tls};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};

/// Why TLS could not be set up for the run. Never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("no system root certificates found ({errors} problems reading the store)")]
    NoSystemRoots { errors: usize },
    #[error("{what} holds no usable PEM certificate")]
    NoCertificate { what: &'static str },
    #[error("the client key is not a PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey,
    #[error("`{name}` is not a valid TLS server name")]
    ServerName { name: String },
    #[error("cannot build the TLS configuration")]
    Config(#[source] rustls::Error),
}

/// What every TLS connection of a run uses: one configuration, one server name.
#[derive(Clone)]
pub struct TlsClient {
    pub(crate) connector: tokio_rustls::TlsConnector,
    /// The same configuration offering only HTTP/1.1, for WebSockets: their upgrade is an
    /// HTTP/1.1 request, so a server must not pick h2 for them.
    pub(crate) http1_connector: tokio_rustls::TlsConnector,
    pub(crate) server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsClient({})", self.server_name.to_str())
    }
}

impl TlsClient {
    /// Builds the run's TLS configuration; `host` is base-url's host, the server name unless
    /// the plan overrides it.
    pub fn new(tls: &Tls, host: &str, http: HttpVersion) -> Result<TlsClient, TlsError> {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?;
        let builder = if tls.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots(tls)?)
        };
        let mut config = match &tls.client {
            Some(identity) => {
                let chain = certificates(&identity.cert_pem, "client-cert")?;
                let key = PrivateKeyDer::from_pem_slice(&identity.key_pem)
                    .map_err(|_| TlsError::NoKey)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(TlsError::Config)?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = match http {
            HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
            HttpVersion::Http2 => vec![b"h2".to_vec()],
            // HTTP/2 first, as browsers offer it; the server picks.
            HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        let name = tls.server_name.as_deref().unwrap_or(host);
        let server_name =
            ServerName::try_from(name.to_owned()).map_err(|_| TlsError::ServerName {
                name: name.to_owned(),
            })?;
        let mut http1 = config.clone();
        http1.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            http1_connector: tokio_rustls::TlsConnector::from(Arc::new(http1)),
            server_name,
        })
    }
}

/// The certificates of `ca-file`, or else the system's store.
fn roots(tls: &Tls) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    match &tls.ca_pem {
        Some(pem) => {
            for cert in certificates(pem, "ca-file")? {
                roots.add(cert).map_err(TlsError::Config)?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            // A store with a few unreadable entries is still a store; only an empty one is
            // refused.
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(TlsError::NoSystemRoots {
                    errors: found.errors.len(),
                });
            }
        }
    }
    Ok(roots)
}

fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::NoCertificate { what })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { what });
    }
    Ok(certs)
}

/// `insecure = true`: any certificate is accepted, for a self-signed staging server. The
/// handshake's signatures are still checked, so the connection is encrypted to whoever holds
/// the key the server showed; who that is, nobody checks.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Says what went wrong in a handshake, for the failure's sample: "tls: invalid peer
/// certificate: UnknownIssuer".
pub(crate) fn describe(err: &std::io::Error) -> String {
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(tls) => format!("tls: {tls}"),
        None => format!("tls handshake: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_plan::ClientIdentity;

    #[test]
    fn bad_settings_are_named_not_panicked() {
        let tls = Tls {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..Tls::default()
        };
        let err = TlsClient::new(&tls, "localhost", HttpVersion::Auto).unwrap_err();
        assert_eq!(err.to_string(), "ca-file holds no usable PEM certificate");
        let tls = Tls {
            insecure: true,
            server_name: Some("bad name!".into()),
            ..Tls::default()
        };
        let err = TlsClient::new(&tls, "localhost", HttpVersion::Auto).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`bad name!` is not a valid TLS server name"
        );
        let tls = Tls {
            insecure: true,
            client: Some(ClientIdentity {
                cert_pem: b"x".to_vec(),
                key_pem: b"SECRET".to_vec(),
            }),
            ..Tls::default()
        };
        let err = TlsClient::new(&tls, "localhost", HttpVersion::Auto).unwrap_err();
        assert!(!format!("{err:?}").contains("SECRET"));
    }

    #[test]
    fn ip_addresses_are_server_names_too() {
        let tls = Tls {
            insecure: true,
            ..Tls::default()
        };
        let client = TlsClient::new(&tls, "127.0.0.1", HttpVersion::Http2).unwrap();
        assert!(matches!(client.server_name, ServerName::IpAddress(_)));
    }
}
