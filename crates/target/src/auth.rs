//! Credentials: the configured API keys, and login tokens that the target can verify
//! without storing them.
//!
//! A token is `tok_<hex user>.<hex HMAC-SHA256 of the hex user>` under a key drawn when
//! the target starts. Nothing is kept per login, so a soak that logs in millions of times
//! stays flat in memory; tokens stop working when the target restarts, as sessions would.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const TOKEN_PREFIX: &str = "tok_";

/// Longest user name `POST /login` accepts, so tokens stay short.
pub(crate) const MAX_USER_BYTES: usize = 128;

/// Checks API keys and issues and verifies login tokens.
pub(crate) struct Auth {
    api_keys: Vec<Box<str>>,
    token_mac: HmacSha256,
}

impl Auth {
    pub(crate) fn new(api_keys: &[String]) -> Self {
        Auth {
            api_keys: api_keys.iter().map(|key| key.as_str().into()).collect(),
            token_mac: keyed_mac(&random_key()),
        }
    }

    /// A token for `user`, accepted by `accepts` for as long as this target runs.
    pub(crate) fn issue(&self, user: &str) -> String {
        let user_hex = hex::encode(user);
        let mac = self.token_mac.clone().chain_update(&user_hex).finalize();
        format!("{TOKEN_PREFIX}{user_hex}.{}", hex::encode(mac.into_bytes()))
    }

    /// True for a configured API key or a token issued by `issue`.
    pub(crate) fn accepts(&self, credential: &str) -> bool {
        if let Some(token) = credential.strip_prefix(TOKEN_PREFIX) {
            return self.verify_token(token);
        }
        // Check every key, so the time taken does not say which one nearly matched.
        self.api_keys.iter().fold(false, |found, key| {
            constant_time_eq(key.as_bytes(), credential.as_bytes()) | found
        })
    }

    fn verify_token(&self, token: &str) -> bool {
        let Some((user_hex, mac_hex)) = token.rsplit_once('.') else {
            return false;
        };
        let mut mac = [0u8; 32];
        if hex::decode_to_slice(mac_hex, &mut mac).is_err() {
            return false;
        }
        self.token_mac
            .clone()
            .chain_update(user_hex)
            .verify_slice(&mac)
            .is_ok()
    }
}

/// The credential of a request: `Authorization: Bearer <x>` or `X-API-Key: <x>`.
pub(crate) fn credential(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        });
    bearer
        .or_else(|| headers.get("x-api-key")?.to_str().ok())
        .map(str::trim)
}

/// An HMAC-SHA256 keyed with `key`, ready to be cloned per message.
pub(crate) fn keyed_mac(key: &[u8]) -> HmacSha256 {
    // HMAC hashes long keys and pads short ones, so every length is valid: this never fails.
    HmacSha256::new_from_slice(key).expect("hmac accepts keys of any length")
}

/// 32 bytes that differ per process and per call, from std's randomly seeded hasher keys.
/// Good enough to sign demo tokens; not a general-purpose CSPRNG.
pub(crate) fn random_key() -> [u8; 32] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_usize(i);
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    key
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_accepted_and_tampered_ones_are_not() {
        let auth = Auth::new(&["demo-key".into()]);
        let token = auth.issue("alice");
        assert!(auth.accepts(&token));
        assert!(auth.accepts("demo-key"));
        assert!(!auth.accepts("demo-key2"));
        assert!(!auth.accepts(&token.replace("616c696365", "626f62")));
        assert!(!auth.accepts("tok_616c696365.00"));
        assert!(!auth.accepts("tok_"));
    }

    #[test]
    fn tokens_do_not_carry_over_to_another_target() {
        let token = Auth::new(&[]).issue("alice");
        assert!(!Auth::new(&[]).accepts(&token));
    }

    #[test]
    fn credentials_come_from_bearer_or_api_key_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(credential(&headers), None);
        headers.insert("x-api-key", "k1".parse().unwrap());
        assert_eq!(credential(&headers), Some("k1"));
        headers.insert(AUTHORIZATION, "Bearer t1".parse().unwrap());
        assert_eq!(credential(&headers), Some("t1"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(credential(&headers), Some("k1"));
    }
}
