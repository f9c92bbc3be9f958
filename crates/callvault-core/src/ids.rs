//! Typed identifiers. Every entity id is a UUIDv7 (time-ordered, unguessable) wrapped in its own
//! type so a contact id can never be passed where a call id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh id, ordered by creation time.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

typed_id!(
    /// A team member's account.
    UserId,
    /// An API token (the id, never the secret).
    TokenId,
    /// A person the team talks to.
    ContactId,
    /// The one conversation a contact has.
    ConversationId,
    /// One entry in a conversation's timeline.
    EventId,
    /// A phone number of the business.
    NumberId,
    /// A phone call.
    CallId,
    /// The audio of a call.
    RecordingId,
    /// The transcript of a recording.
    TranscriptId,
    /// A job in the background queue.
    JobId,
    /// An entry in the audit log.
    AuditId,
    /// A legal hold on a contact or on everything.
    HoldId,
    /// A URL that receives events.
    WebhookId,
    /// One event sent to one webhook.
    DeliveryId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = CallId::new();
        assert_eq!(id.to_string().parse::<CallId>().ok(), Some(id));
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<CallId>(&json).ok(), Some(id));
    }

    #[test]
    fn ids_are_ordered_by_creation() {
        let a = ContactId::new();
        let b = ContactId::new();
        assert!(a < b);
    }
}
