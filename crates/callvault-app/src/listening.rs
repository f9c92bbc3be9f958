//! Who heard, read or opened what: the audit entries a compliance officer asks for first.
//! A player fetches a recording in many byte ranges and a page asks for a transcript again
//! while it is made, so `play`, `transcript_view` and `share_link_open` are written once per
//! person and thing in a while (`REPEAT_AFTER`), remembered per process: with several replicas
//! a listen may be written once by each. Downloads are written every time (in `download`).

use std::collections::HashMap;
use std::sync::Mutex;

use callvault_core::user::User;
use callvault_core::{ContactId, ConversationId, RecordingId, UserId};
use callvault_store::AuditAction;
use time::{Duration, OffsetDateTime};

use crate::{App, audit};

/// How long a listen, a read or an opening counts as the same one.
pub const REPEAT_AFTER: Duration = Duration::minutes(30);

/// Past this many remembered, the old ones are forgotten.
const REMEMBERED: usize = 10_000;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Audio fetched for the player.
    Play(RecordingId),
    /// A transcript read.
    TranscriptView(RecordingId),
    /// A conversation opened by its link.
    LinkOpen(ConversationId),
}

impl Access {
    fn action(self) -> AuditAction {
        match self {
            Self::Play(_) => AuditAction::Play,
            Self::TranscriptView(_) => AuditAction::TranscriptView,
            Self::LinkOpen(_) => AuditAction::ShareLinkOpen,
        }
    }
}

/// The accesses written lately, by person and thing.
#[derive(Default)]
pub struct RecentAccess(Mutex<HashMap<(UserId, Access), OffsetDateTime>>);

impl RecentAccess {
    /// Whether `access` by `user` at `now` is new enough to write (and remembers it if so).
    fn is_new(&self, user: UserId, access: Access, now: OffsetDateTime) -> bool {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen
            .get(&(user, access))
            .is_some_and(|at| now - *at < REPEAT_AFTER)
        {
            return false;
        }
        if seen.len() >= REMEMBERED {
            seen.retain(|_, at| now - *at < REPEAT_AFTER);
        }
        seen.insert((user, access), now);
        true
    }
}

/// Writes `access` by `user` to the audit log unless it was written in the last
/// [`REPEAT_AFTER`]; `conversation` is where it happened (ids only, never a name or number).
pub async fn accessed(
    app: &App,
    user: &User,
    access: Access,
    conversation: ConversationId,
    contact: ContactId,
) {
    if !app.recent_access.is_new(user.id, access, app.now()) {
        return;
    }
    let (kind, id) = match access {
        Access::Play(r) | Access::TranscriptView(r) => ("recording", r.to_string()),
        Access::LinkOpen(c) => ("conversation", c.to_string()),
    };
    audit::record_about(
        app,
        Some(user),
        access.action(),
        kind,
        Some(id),
        contact,
        serde_json::json!({"conversation_id": conversation}),
    )
    .await;
}
