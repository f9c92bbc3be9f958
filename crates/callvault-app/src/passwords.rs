//! Password hashing with Argon2id (the crate's defaults follow OWASP's advice). Hashing is
//! deliberately slow, so it runs off the async threads.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::{AppError, AppResult};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// What is wrong with a new password, in words people understand, if anything.
#[must_use]
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Some(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Some(format!(
            "a password may have at most {MAX_PASSWORD_CHARS} characters"
        ))
    } else {
        None
    }
}

/// Checks a new password, refusing it with the reason.
pub fn check_new_password(password: &str) -> AppResult<()> {
    match password_problem(password) {
        Some(problem) => Err(AppError::WeakPassword(problem)),
        None => Ok(()),
    }
}

pub fn hash_blocking(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::Internal)
}

/// A hash of nothing in particular, verified against when the account does not exist, so
/// the answer takes as long either way and does not reveal which emails have accounts.
static DECOY: LazyLock<String> =
    LazyLock::new(|| hash_blocking("decoy password for timing").unwrap_or_default());

/// Whether `password` matches `hash`; `None` means there is no account and the decoy is used.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let stored = hash.unwrap_or_else(|| DECOY.clone());
        let matches = PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        real && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn right_and_wrong_passwords() {
        let h = hash("correct horse battery".into()).await.expect("hashed");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(h)).await);
        assert!(!verify("decoy password for timing".into(), None).await);
    }

    #[test]
    fn new_passwords_need_some_length() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough pass").is_ok());
    }
}
