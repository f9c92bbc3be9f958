//! Password hashing with Argon2id (the crate's defaults follow OWASP's advice). Hashing is
//! deliberately slow, so it runs off the async threads.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::{AppError, AppResult};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The strength estimate a new password needs: zxcvbn's 3, "safely unguessable" (about 10^10
/// guesses), what its authors advise where hashes are slow, as Argon2id makes ours.
const MIN_SCORE: u8 = 3;

/// What is wrong with a new password, in words people understand, if anything. `about` are
/// the person's own details (email, name): a password built on them is easy to guess.
#[must_use]
pub fn password_problem(password: &str, about: &[&str]) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Some(format!(
            "a password may have at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(char::is_control) {
        return Some(
            "a password cannot contain control characters (such as NUL, tab or a line break)"
                .into(),
        );
    }
    if password.trim().is_empty() {
        return Some("a password cannot be only spaces".into());
    }
    let words = personal_words(about);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if u8::from(estimate.score()) >= MIN_SCORE {
        return None;
    }
    let mut problem = String::from("this password is too easy to guess");
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            problem.push_str(&format!(" ({})", warning.to_string().trim_end_matches('.')));
        }
        problem.push('.');
        for suggestion in feedback.suggestions() {
            problem.push(' ');
            problem.push_str(&suggestion.to_string());
        }
    } else {
        problem.push_str(". Add another word or two; uncommon words are better.");
    }
    Some(problem)
}

/// The person's details as the estimator matches them: whole, and in their parts (the
/// email's name and domain words, each word of the name).
fn personal_words(about: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for item in about {
        let item = item.trim().to_lowercase();
        words.extend(
            item.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_owned),
        );
        words.push(item);
    }
    words
}

/// Checks a new password, refusing it with the reason.
pub fn check_new_password(password: &str, about: &[&str]) -> AppResult<()> {
    match password_problem(password, about) {
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
    fn new_passwords_must_be_hard_to_guess() {
        let about = ["ana.lopez@example.com", "Ana Lopez"];
        for weak in [
            "short",
            "aaaaaaaaaa",
            "1234567890",
            "password12",
            "          ",
            "\0\0\0\0\0\0\0\0\0\0",
            "qwertyuiop",
            "abcdefghij",
            "Password2026!",
            "ana lopez 2026",
            "ana.lopez@example.com",
            "harbor\tlantern quietly",
        ] {
            let problem = password_problem(weak, &about);
            assert!(problem.is_some(), "{weak:?} was accepted");
        }
        let problem = password_problem("password12", &about).unwrap_or_default();
        assert!(
            problem.starts_with("this password is too easy to guess"),
            "{problem}"
        );
        for strong in [
            "harbor lantern quietly 42",
            "Tr0mb0ne-Gecko-Orbit",
            "correct horse battery",
        ] {
            assert_eq!(password_problem(strong, &about), None, "{strong:?}");
        }
    }
}
