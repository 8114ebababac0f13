//! `[tls]` and `http`: how users connect, checked at load time so that `validate` refuses what
//! a run would. Certificate and key files are read (relative to the scenario file), parsed, and
//! a client key is checked against its certificate with the same rustls the engine runs.
//!
//! The plan gets the files' PEM text; nothing here opens a socket.

use std::path::Path;

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use stampede_plan::{BaseUrl, ClientIdentity, Plan, Tls};

use crate::file::{Common, TlsFile};
use crate::spanned::Spanned;

use super::Lowerer;

impl Lowerer<'_> {
    /// Sets `plan.http`, and `plan.tls` for an https base-url.
    pub(super) fn transport(&mut self, common: &Common, plan: &mut Plan) {
        if let Some(http) = &common.http {
            plan.http = http.0;
        }
        let file = common.tls.as_ref();
        if !self.base_https {
            if let Some(tls) = file {
                self.sink.hint(
                    tls.span.clone(),
                    "`[tls]` applies only to an https:// base-url",
                    "base-url = \"https://127.0.0.1:8443\", or remove [tls]",
                );
            }
            return;
        }
        let settings = match file {
            Some(tls) => self.tls(tls),
            None => Tls::default(),
        };
        if settings.insecure {
            let host = match &plan.base_url {
                BaseUrl::Http(base) => base.url_for(true),
                BaseUrl::Builtin => "the target".to_owned(),
            };
            plan.warnings.push(format!(
                "TLS certificates are not checked (`insecure = true`): the traffic to {host} is \
                 encrypted, but to whoever answers"
            ));
        }
        plan.tls = Some(settings);
    }

    fn tls(&mut self, file: &Spanned<TlsFile>) -> Tls {
        let mut tls = Tls {
            insecure: file.insecure.as_ref().is_some_and(|i| i.value),
            ..Tls::default()
        };
        if let Some(ca) = &file.ca_file {
            if tls.insecure {
                self.sink.hint(
                    ca.span.clone(),
                    "`ca-file` with `insecure = true`: nothing would be checked against it",
                    "keep ca-file to check the server, or insecure to check nothing",
                );
            }
            if let Some(pem) = self.read_pem(ca, "ca-file")
                && self.certificates(ca, &pem, true)
            {
                tls.ca_pem = Some(pem);
            }
        }
        match (&file.client_cert, &file.client_key) {
            (Some(cert), Some(key)) => tls.client = self.client_identity(cert, key),
            (Some(only), None) | (None, Some(only)) => self.sink.hint(
                only.span.clone(),
                "mutual TLS needs both `client-cert` and `client-key`",
                "client-cert = \"client.pem\"\nclient-key = \"client.key\"",
            ),
            (None, None) => {}
        }
        if let Some(name) = &file.server_name {
            if ServerName::try_from(name.value.as_str()).is_err() {
                self.sink.hint(
                    name.span.clone(),
                    format!("`{}` is not a valid TLS server name", name.value),
                    "a DNS name like \"api.staging.example.com\" or an IP address",
                );
            }
            tls.server_name = Some(name.value.clone());
        }
        tls
    }

    fn client_identity(
        &mut self,
        cert: &Spanned<String>,
        key: &Spanned<String>,
    ) -> Option<ClientIdentity> {
        let cert_pem = self.read_pem(cert, "client-cert")?;
        let key_pem = self.read_pem(key, "client-key")?;
        if !self.certificates(cert, &cert_pem, false) {
            return None;
        }
        let Ok(key_der) = PrivateKeyDer::from_pem_slice(&key_pem) else {
            self.sink.hint(
                key.span.clone(),
                format!("`{}` holds no PEM private key", key.value),
                "a -----BEGIN PRIVATE KEY----- (or RSA / EC PRIVATE KEY) file",
            );
            return None;
        };
        let chain: Vec<_> = CertificateDer::pem_slice_iter(&cert_pem)
            .filter_map(Result::ok)
            .collect();
        // What the engine will do with them: a key rustls cannot use, or one that does not
        // belong to the certificate, is refused here rather than at the start of a run.
        let provider = ring::default_provider();
        if let Err(err) = rustls::sign::CertifiedKey::from_der(chain, key_der, &provider) {
            self.sink.error(
                key.span.clone(),
                format!("`{}` cannot sign for `{}`: {err}", key.value, cert.value),
            );
            return None;
        }
        Some(ClientIdentity { cert_pem, key_pem })
    }

    /// A file named in `[tls]`, relative to the scenario file.
    fn read_pem(&mut self, path: &Spanned<String>, key: &str) -> Option<Vec<u8>> {
        let full = self.base_dir.join(Path::new(&path.value));
        match std::fs::read(&full) {
            Ok(bytes) => Some(bytes),
            Err(err) => {
                self.sink.hint(
                    path.span.clone(),
                    format!("cannot read {key} `{}`: {err}", full.display()),
                    "paths are relative to the scenario file",
                );
                None
            }
        }
    }

    /// Whether `pem` holds at least one certificate (each a usable trust anchor when `ca`).
    fn certificates(&mut self, path: &Spanned<String>, pem: &[u8], ca: bool) -> bool {
        let parsed: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
        let certs = match parsed {
            Ok(certs) if !certs.is_empty() => certs,
            _ => {
                self.sink.hint(
                    path.span.clone(),
                    format!("`{}` holds no PEM certificate", path.value),
                    "a file of -----BEGIN CERTIFICATE----- blocks",
                );
                return false;
            }
        };
        if ca {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certs {
                if let Err(err) = roots.add(cert) {
                    self.sink.error(
                        path.span.clone(),
                        format!(
                            "`{}` holds a certificate that cannot be trusted: {err}",
                            path.value
                        ),
                    );
                    return false;
                }
            }
        }
        true
    }
}
