//! The one error the services return. The API and the web UI each turn it into what their
//! clients read (JSON or a page); nothing here knows about HTTP.

use callvault_audio::AudioError;
use callvault_blob::BlobError;
use callvault_store::{Conflict, LegalHold, StoreError};

pub use crate::access::Denied;

/// A value sent that is not acceptable, whatever the state of things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Email,
    /// A recorded call whose parties name no one outside, or no configured number.
    CallParties,
    /// An extension that is not a SIP user part (see `callvault_core::user::normalise_extension`).
    Extension,
    /// A person's or a thing's name: 1 to 200 characters.
    Name,
    /// A note: 1 to `callvault_core::conversation::MAX_NOTE_CHARS` characters.
    Note,
    /// A legal hold's reason: one line of 1 to `callvault_core::hold::MAX_REASON_CHARS`.
    HoldReason,
    /// A retention period outside 1 to `callvault_core::retention::MAX_DAYS` days.
    RetentionPeriod,
    /// A webhook URL that is not http(s) with a host and no credentials.
    WebhookUrl,
    /// A webhook URL naming this machine or a private network.
    WebhookPrivate,
    /// A public webhook URL on a port web servers do not use.
    WebhookPort,
    /// A webhook with no events.
    WebhookEvents,
}

impl Invalid {
    /// Stable, snake_case: what programs branch on.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Email => "invalid_email",
            Self::Extension => "invalid_extension",
            Self::CallParties => "unknown_parties",
            Self::Name => "invalid_name",
            Self::Note => "invalid_note",
            Self::HoldReason => "invalid_reason",
            Self::RetentionPeriod => "invalid_period",
            Self::WebhookUrl => "invalid_url",
            Self::WebhookPrivate => "private_address",
            Self::WebhookPort => "invalid_port",
            Self::WebhookEvents => "invalid_events",
        }
    }

    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::Email => "that is not an email address",
            Self::CallParties => {
                "the call names no outside party, or no configured number (configure the number, or the users' extensions)"
            }
            Self::Extension => {
                "an extension is 1 to 64 letters, digits or . - _ + * # (a PBX extension or SIP user)"
            }
            Self::Name => "a name must be 1 to 200 characters",
            Self::Note => "a note must be 1 to 5000 characters",
            Self::HoldReason => "a legal hold needs a reason: one line of 1 to 500 characters",
            Self::RetentionPeriod => "a retention period is 1 to 36500 days",
            Self::WebhookUrl => {
                "a webhook URL is http:// or https://, with a host and no user or password, at most 2000 characters"
            }
            Self::WebhookPort => {
                "a webhook on the internet listens on port 80, 443, 8080 or 8443 (start the server with --webhook-allow-private for other ports)"
            }
            Self::WebhookPrivate => {
                "webhooks may not reach this machine or a private network (start the server with --webhook-allow-private to allow it)"
            }
            Self::WebhookEvents => "a webhook needs at least one event",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// What was asked for does not exist (or the asker may not know it does).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The asker may not do this.
    #[error("{}", .0.message())]
    Forbidden(Denied),
    #[error("{}", .0.message())]
    Invalid(Invalid),
    /// The request clashes with the state of things (a recording already there, say).
    #[error("{}", .0.message())]
    Conflict(Conflict),
    /// What was to be deleted is under a legal hold; it says who placed it and why.
    #[error("{}", held_message(.0))]
    Held(Box<LegalHold>),
    /// Sent audio no decoder here reads.
    #[error("this is not audio the server can read ({0}); send WAV, MP3, FLAC, Ogg, Opus or M4A")]
    UnsupportedAudio(String),
    /// Sent audio that breaks off or contradicts itself.
    #[error("the audio is damaged: {0}")]
    CorruptAudio(String),
    /// The email or password is wrong (or the account is disabled: the same answer).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A new password that would be too easy to guess; the text says why.
    #[error("{0}")]
    WeakPassword(String),
    /// Too many failures (or tokens) in a row: try again after this long.
    #[error("too many attempts; try again in {} seconds", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Something failed on our side; the text is for the log, not for clients.
    #[error("{0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// Whether the fault lies with what was sent, so that sending it again cannot help.
    #[must_use]
    pub fn is_callers(&self) -> bool {
        match self {
            Self::NotFound(_)
            | Self::Forbidden(_)
            | Self::Invalid(_)
            | Self::Conflict(_)
            | Self::Held(_)
            | Self::UnsupportedAudio(_)
            | Self::CorruptAudio(_)
            | Self::InvalidCredentials
            | Self::WrongPassword
            | Self::WeakPassword(_)
            | Self::Throttled(_) => true,
            Self::Store(e) => matches!(
                e,
                StoreError::NotFound
                    | StoreError::Conflict(_)
                    | StoreError::Missing(_)
                    | StoreError::Held(_)
            ),
            Self::Blob(_) | Self::Internal(_) => false,
        }
    }

    /// Whether this says the thing is gone (or never was).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_) | Self::Store(StoreError::NotFound))
    }

    /// The conflict, wherever it was found.
    #[must_use]
    pub fn conflict(&self) -> Option<Conflict> {
        match self {
            Self::Conflict(c) | Self::Store(StoreError::Conflict(c)) => Some(*c),
            _ => None,
        }
    }
}

impl AppError {
    /// The store's error, its "not found" named for people as `what`.
    #[must_use]
    pub fn named(e: StoreError, what: &'static str) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound(what),
            other => other.into(),
        }
    }
}

/// Says what keeps a thing from being deleted: who placed the hold, when, and why.
fn held_message(hold: &LegalHold) -> String {
    let by = hold
        .placed_by
        .as_ref()
        .map_or_else(|| "an admin".to_owned(), |u| u.name.clone());
    let date = hold.placed_at.date();
    format!(
        "this is under a legal hold placed by {by} on {date} ({}); it cannot be deleted until an admin releases the hold",
        hold.reason
    )
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(c) => Self::Conflict(c),
            StoreError::Held(hold) => Self::Held(hold),
            other => Self::Store(other),
        }
    }
}

impl From<Conflict> for AppError {
    fn from(c: Conflict) -> Self {
        Self::Conflict(c)
    }
}

impl From<AudioError> for AppError {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::Unsupported(why) => Self::UnsupportedAudio(why),
            AudioError::Corrupt(why) => Self::CorruptAudio(why),
            AudioError::Encode(_) | AudioError::Io(_) | AudioError::Stopped => Self::internal(e),
        }
    }
}
