//! The store's one error type, shared by every backend, so callers map it once.

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A rule of the data was broken; the conflict says which.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The input names something that does not exist.
    #[error("unknown {0}")]
    Missing(Missing),
    /// What was to be deleted is under a legal hold; the hold says who placed it and why.
    #[error("on legal hold")]
    Held(Box<crate::LegalHold>),
    /// The URL names no backend this build has, or the database is one it cannot use (too
    /// old, say). The message is for people and never holds a password.
    #[error("{0}")]
    Unsupported(String),
    /// The database could not be reached; the message never holds a password.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed or holds something unreadable; details are for the log only.
    #[error("database error: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(e))
    }

    /// Something stored cannot be read back.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Backend(what.into().into())
    }
}

impl From<Conflict> for StoreError {
    fn from(c: Conflict) -> Self {
        Self::Conflict(c)
    }
}

impl From<Missing> for StoreError {
    fn from(m: Missing) -> Self {
        Self::Missing(m)
    }
}

/// The rules a write can run into. Each has a stable code for the API and a sentence that
/// says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    EmailTaken,
    /// Another user has this extension.
    ExtensionTaken,
    PhoneTaken,
    NumberTaken,
    RecordingExists,
    RecordingDisabled,
    /// Storing an upload took so long that its object was already being collected.
    UploadExpired,
    LastAdmin,
    /// A job with the same dedupe key is queued or running.
    DuplicateJob,
    /// The legal hold was released already.
    HoldReleased,
    /// The recording is still being checked for card and ID details.
    RedactionPending,
}

impl Conflict {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::EmailTaken => "email_taken",
            Self::ExtensionTaken => "extension_taken",
            Self::PhoneTaken => "phone_taken",
            Self::NumberTaken => "number_taken",
            Self::RecordingExists => "recording_exists",
            Self::RecordingDisabled => "recording_disabled",
            Self::UploadExpired => "upload_expired",
            Self::LastAdmin => "last_admin",
            Self::DuplicateJob => "duplicate_job",
            Self::HoldReleased => "hold_released",
            Self::RedactionPending => "redaction_pending",
        }
    }

    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::EmailTaken => "a user with this email already exists",
            Self::ExtensionTaken => "another user already has this extension",
            Self::PhoneTaken => "another contact already has this phone number",
            Self::NumberTaken => "this phone number is already configured",
            Self::RecordingExists => {
                "the call already has a recording; add ?replace=true to replace it"
            }
            Self::RecordingDisabled => "recording was off for this number when the call started",
            Self::UploadExpired => "the upload took too long to store; send it again",
            Self::LastAdmin => "this is the last active admin; make someone else admin first",
            Self::DuplicateJob => "the same work is already queued",
            Self::HoldReleased => "this legal hold was released already",
            Self::RedactionPending => {
                "the recording is being checked for payment and ID details; it can be played \
                 once that is done"
            }
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What an input named that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Missing {
    User,
    Number,
}

impl Missing {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::User => "unknown_user",
            Self::Number => "unknown_number",
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Number => "number",
        })
    }
}

/// A database URL as it may be shown: the password replaced.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The userinfo ends at the last '@' before the path.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let shown = match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let shown = if userinfo.contains(':') {
                format!("{user}:[redacted]")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{shown}{}", &rest[at..])
        }
        None => url.to_owned(),
    };
    // A password may also come as a query parameter.
    match shown.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=[redacted]"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_a_redacted_url() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db.internal:5432/callvault"),
            "postgres://app:[redacted]@db.internal:5432/callvault"
        );
        assert_eq!(
            redact_url("postgres://app:p@ss@db/x?sslmode=require"),
            "postgres://app:[redacted]@db/x?sslmode=require"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("sqlite:///srv/cv.db"), "sqlite:///srv/cv.db");
        assert_eq!(
            redact_url("postgres://db/x?user=app&password=hunter2&sslmode=require"),
            "postgres://db/x?user=app&password=[redacted]&sslmode=require"
        );
    }
}
