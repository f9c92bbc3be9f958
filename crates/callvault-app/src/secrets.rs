//! Random secrets (API tokens, session ids, first passwords) and how they are kept: only a
//! SHA-256 of a token or session id is stored, so a copy of the database opens nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Prefix of API tokens, so they are recognisable in configs and secret scanners.
pub const TOKEN_PREFIX: &str = "cv_";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS random source failing is not something a server can work around.
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

/// 256 random bits, URL-safe.
#[must_use]
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

#[must_use]
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", new_secret())
}

/// The key a webhook's deliveries are signed with.
#[must_use]
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", new_secret())
}

/// A password people can type: 20 characters from 57 unambiguous letters and digits
/// (about 116 bits).
#[must_use]
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    random_bytes::<20>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The form a token or session id is stored and looked up in.
#[must_use]
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_hashes_stable() {
        assert_ne!(new_secret(), new_secret());
        let token = new_api_token();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(hash_secret(&token), hash_secret(&token));
        assert_eq!(hash_secret(&token).len(), 64);
        assert_eq!(new_password().len(), 20);
    }
}
