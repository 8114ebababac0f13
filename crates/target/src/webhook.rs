//! `X-Hub-Signature-256` checks for `POST /webhooks/{name}`, as GitHub and many others sign
//! their deliveries: `sha256=<lowercase hex HMAC-SHA256 of the raw body>`.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

pub(crate) const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The signature claimed by the request, or `None` when the header is missing or is not
/// `sha256=` followed by 64 lowercase hex digits.
pub(crate) fn claimed_signature(headers: &HeaderMap) -> Option<[u8; 32]> {
    let hex_digest = headers
        .get(SIGNATURE_HEADER)?
        .as_bytes()
        .strip_prefix(b"sha256=")?;
    if hex_digest.len() != 64
        || !hex_digest
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut signature = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut signature).ok()?;
    Some(signature)
}

/// True when `signature` is the HMAC of `body` under the key of `mac`, compared in constant
/// time by the hmac crate.
pub(crate) fn verify(mac: &Hmac<Sha256>, body: &[u8], signature: &[u8; 32]) -> bool {
    mac.clone()
        .chain_update(body)
        .verify_slice(signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyed_mac;

    fn sign(secret: &str, body: &[u8]) -> String {
        let digest = keyed_mac(secret.as_bytes()).chain_update(body).finalize();
        format!("sha256={}", hex::encode(digest.into_bytes()))
    }

    fn headers_with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_correct_signature_verifies() {
        let headers = headers_with(&sign("s3cret", b"{}"));
        let signature = claimed_signature(&headers).unwrap();
        assert!(verify(&keyed_mac(b"s3cret"), b"{}", &signature));
        assert!(!verify(&keyed_mac(b"other"), b"{}", &signature));
        assert!(!verify(&keyed_mac(b"s3cret"), b"{ }", &signature));
    }

    #[test]
    fn malformed_signatures_are_rejected_before_hashing() {
        let good = sign("s3cret", b"{}");
        for bad in [
            good.to_uppercase(),
            good.replace("sha256=", "sha1="),
            good[..good.len() - 2].to_string(),
            "sha256=".to_string(),
        ] {
            assert_eq!(claimed_signature(&headers_with(&bad)), None, "{bad}");
        }
        assert_eq!(claimed_signature(&HeaderMap::new()), None);
    }
}
