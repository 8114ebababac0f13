//! How users reach the target: the HTTP version they speak and, for an `https://` base URL, the
//! TLS settings, as plain data read from files at load time.
//!
//! Certificates and keys travel as the PEM text of their files, already checked by the parser,
//! so the engine builds its TLS configuration once per run without touching a file. Knows
//! nothing of rustls or sockets.

/// The HTTP version users speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.1 only (over TLS, ALPN offers only `http/1.1`).
    #[serde(rename = "1.1")]
    Http1,
    /// HTTP/2 only: over TLS by ALPN `h2`; over plain TCP with prior knowledge (h2c).
    #[serde(rename = "2")]
    Http2,
    /// Over TLS, ALPN decides (`h2` preferred); over plain TCP, HTTP/1.1.
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

impl HttpVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 => "2",
            HttpVersion::Auto => "auto",
        }
    }
}

/// TLS for an `https://` base URL. Built into one client configuration per run.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// PEM certificates to trust instead of the system's roots (`ca-file`); `None`: the
    /// system's root store.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate and key for mutual TLS.
    pub client: Option<ClientIdentity>,
    /// The name sent as SNI and checked against the certificate, instead of base-url's host.
    pub server_name: Option<String>,
    /// Accept any certificate: no verification at all. Every run that uses it says so.
    pub insecure: bool,
}

/// A client certificate chain and its private key, as PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    /// The private key (PKCS#8, PKCS#1 or SEC1): a secret, never shown.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_pem", &self.ca_pem.as_ref().map(|pem| pem.len()))
            .field("client", &self.client)
            .field("server_name", &self.server_name)
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_key_never_shows_in_debug() {
        let tls = Tls {
            client: Some(ClientIdentity {
                cert_pem: b"CERT".to_vec(),
                key_pem: b"-----BEGIN PRIVATE KEY-----SECRET".to_vec(),
            }),
            ..Tls::default()
        };
        let text = format!("{tls:?}");
        assert!(
            !text.contains("SECRET") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn versions_read_as_written_in_scenarios() {
        for version in [HttpVersion::Http1, HttpVersion::Http2, HttpVersion::Auto] {
            let json = serde_json::to_string(&version).unwrap();
            assert_eq!(json, format!("\"{}\"", version.as_str()));
        }
    }
}
