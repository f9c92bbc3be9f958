//! How long recordings and conversations are kept. Each phone number may have a policy of its
//! own; the others follow the installation's default, which keeps everything until someone
//! deletes it unless an admin says otherwise. A legal hold overrides every policy.
//!
//! A conversation spans the numbers its calls were on, so it is deleted only when every one of
//! them says "delete conversations", after the longest of their periods: a line kept longer, or
//! forever, keeps the conversations it is part of.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The longest period a policy may name: a hundred years.
pub const MAX_DAYS: u32 = 36_500;

/// What happens to a number's recordings and conversations as they age.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "snake_case",
    try_from = "PolicyFields",
    deny_unknown_fields
)]
pub enum RetentionPolicy {
    /// Kept until someone deletes them (the default).
    #[default]
    KeepForever,
    /// Each recording (its audio and transcript) is deleted this many days after its call
    /// started; the call stays in the timeline, saying so.
    DeleteRecordings { after_days: u32 },
    /// A conversation is deleted whole (calls, recordings, transcripts, texts and notes) after
    /// this many days without activity.
    DeleteConversations { after_days: u32 },
}

/// The document states exactly what `PolicyFields` accepts: one object per action, a period
/// with (and only with) the actions that delete, nothing else.
impl utoipa::PartialSchema for RetentionPolicy {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let variant = |action: &str, description: &str, days: bool| {
            let mut object = ObjectBuilder::new()
                .description(Some(description))
                .property(
                    "action",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([action])),
                )
                .required("action")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            if days {
                object = object
                    .property(
                        "after_days",
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(MAX_DAYS)),
                    )
                    .required("after_days");
            }
            object
        };
        OneOfBuilder::new()
            .item(variant(
                "keep_forever",
                "Kept until someone deletes them.",
                false,
            ))
            .item(variant(
                "delete_recordings",
                "Each recording (audio and transcript) is deleted this many days after its call \
                 started; the call stays in the timeline.",
                true,
            ))
            .item(variant(
                "delete_conversations",
                "A conversation is deleted whole after this many days without activity.",
                true,
            ))
            .into()
    }
}

impl utoipa::ToSchema for RetentionPolicy {}

/// A policy as sent, checked into a [`RetentionPolicy`]: a period only with an action that
/// deletes, always with one, and within 1 to [`MAX_DAYS`] days.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFields {
    action: String,
    /// JSON says `30.0` is the integer 30, as the schema does.
    after_days: Option<f64>,
}

impl TryFrom<PolicyFields> for RetentionPolicy {
    type Error = String;

    fn try_from(f: PolicyFields) -> Result<Self, String> {
        let days = match f.after_days {
            None => None,
            Some(d) if d.fract() == 0.0 && (1.0..=f64::from(MAX_DAYS)).contains(&d) =>
            {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a whole number of days within range"
                )]
                Some(d as u32)
            }
            Some(_) => return Err(BadPeriod.to_string()),
        };
        let policy = match (f.action.as_str(), days) {
            ("keep_forever", None) => Self::KeepForever,
            ("keep_forever", Some(_)) => {
                return Err("keep_forever takes no after_days".to_owned());
            }
            ("delete_recordings" | "delete_conversations", None) => {
                return Err(format!("{} needs after_days", f.action));
            }
            (action, days) => Self::from_parts(action, days).ok_or_else(|| {
                format!(
                    "unknown action {action:?}: keep_forever, delete_recordings or delete_conversations"
                )
            })?,
        };
        policy.checked().map_err(|e| e.to_string())
    }
}

/// A period outside 1 to [`MAX_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a retention period is 1 to {MAX_DAYS} days")]
pub struct BadPeriod;

impl RetentionPolicy {
    /// The policy if its period is one callvault keeps.
    pub fn checked(self) -> Result<Self, BadPeriod> {
        match self.days() {
            Some(days) if !(1..=MAX_DAYS).contains(&days) => Err(BadPeriod),
            _ => Ok(self),
        }
    }

    #[must_use]
    pub fn days(self) -> Option<u32> {
        match self {
            Self::KeepForever => None,
            Self::DeleteRecordings { after_days } | Self::DeleteConversations { after_days } => {
                Some(after_days)
            }
        }
    }

    /// The stored name of the action.
    #[must_use]
    pub fn kind(self) -> &'static str {
        match self {
            Self::KeepForever => "keep_forever",
            Self::DeleteRecordings { .. } => "delete_recordings",
            Self::DeleteConversations { .. } => "delete_conversations",
        }
    }

    /// From the stored name and period.
    #[must_use]
    pub fn from_parts(kind: &str, days: Option<u32>) -> Option<Self> {
        match (kind, days) {
            ("keep_forever", _) => Some(Self::KeepForever),
            ("delete_recordings", Some(after_days)) => Some(Self::DeleteRecordings { after_days }),
            ("delete_conversations", Some(after_days)) => {
                Some(Self::DeleteConversations { after_days })
            }
            _ => None,
        }
    }

    /// Recordings of calls that started before this are past their time.
    #[must_use]
    pub fn recordings_expire_before(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Self::DeleteRecordings { after_days } => Some(now - days(after_days)),
            _ => None,
        }
    }

    /// Whether this policy keeps anything `other` would delete by now: a longer period, or a
    /// gentler action. Making a policy stricter is what needs a confirmation.
    #[must_use]
    pub fn is_stricter_than(self, other: Self) -> bool {
        match (self, other) {
            (Self::KeepForever, _) => false,
            (_, Self::KeepForever) => true,
            (
                Self::DeleteRecordings { after_days: a },
                Self::DeleteRecordings { after_days: b },
            )
            | (
                Self::DeleteConversations { after_days: a },
                Self::DeleteConversations { after_days: b },
            ) => a < b,
            // Deleting recordings after any period removes what deleting idle conversations
            // would keep while the conversation is active, and the other way round.
            _ => true,
        }
    }
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

/// The moment before which a conversation must have gone quiet to be past its time, given
/// the policies of the numbers its calls were on (none for a conversation without calls,
/// which follows `default`); `None` when one of them keeps it.
#[must_use]
pub fn conversation_idle_cutoff(
    policies: &[RetentionPolicy],
    default: RetentionPolicy,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let policies = if policies.is_empty() {
        std::slice::from_ref(&default)
    } else {
        policies
    };
    let mut longest = 0;
    for policy in policies {
        match policy {
            RetentionPolicy::DeleteConversations { after_days } => {
                longest = longest.max(*after_days);
            }
            _ => return None,
        }
    }
    Some(now - days(longest))
}

/// Whether a conversation idle since `activity_at` is past its time (see
/// [`conversation_idle_cutoff`]).
#[must_use]
pub fn conversation_expired(
    activity_at: OffsetDateTime,
    policies: &[RetentionPolicy],
    default: RetentionPolicy,
    now: OffsetDateTime,
) -> bool {
    conversation_idle_cutoff(policies, default, now).is_some_and(|cutoff| activity_at < cutoff)
}

/// The shortest period after which any of these policies deletes conversations: nothing idle
/// for less can be past its time.
#[must_use]
pub fn shortest_conversation_period(
    policies: impl IntoIterator<Item = RetentionPolicy>,
) -> Option<u32> {
    policies
        .into_iter()
        .filter_map(|p| match p {
            RetentionPolicy::DeleteConversations { after_days } => Some(after_days),
            _ => None,
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 03:00 UTC);

    #[test]
    fn policies_read_and_write_as_the_api_documents_them() {
        let p: RetentionPolicy =
            serde_json::from_str(r#"{"action":"delete_recordings","after_days":90}"#)
                .expect("parses");
        assert_eq!(p, RetentionPolicy::DeleteRecordings { after_days: 90 });
        let whole: RetentionPolicy =
            serde_json::from_str(r#"{"action":"delete_recordings","after_days":90.0}"#)
                .expect("a whole number written with a point");
        assert_eq!(whole, p);
        assert_eq!(
            serde_json::to_string(&RetentionPolicy::KeepForever)
                .ok()
                .as_deref(),
            Some(r#"{"action":"keep_forever"}"#)
        );
        for bad in [
            r#"{"action":"delete_recordings"}"#,
            r#"{"action":"delete_recordings","after_days":0}"#,
            r#"{"action":"delete_recordings","after_days":1.5}"#,
            r#"{"action":"delete_conversations","after_days":36501}"#,
            r#"{"action":"forget","after_days":3}"#,
            r#"{"action":"keep_forever","colour":"red"}"#,
        ] {
            assert!(
                serde_json::from_str::<RetentionPolicy>(bad).is_err(),
                "{bad}"
            );
        }
        assert!(
            serde_json::from_str::<RetentionPolicy>(r#"{"action":"keep_forever","after_days":3}"#)
                .is_err()
        );
        for p in [
            RetentionPolicy::KeepForever,
            RetentionPolicy::DeleteRecordings { after_days: 30 },
            RetentionPolicy::DeleteConversations { after_days: 400 },
        ] {
            assert_eq!(RetentionPolicy::from_parts(p.kind(), p.days()), Some(p));
        }
    }

    #[test]
    fn periods_are_one_day_to_a_hundred_years() {
        assert!(
            RetentionPolicy::DeleteRecordings { after_days: 0 }
                .checked()
                .is_err()
        );
        assert!(
            RetentionPolicy::DeleteRecordings { after_days: 1 }
                .checked()
                .is_ok()
        );
        assert!(
            RetentionPolicy::DeleteConversations {
                after_days: MAX_DAYS + 1
            }
            .checked()
            .is_err()
        );
    }

    #[test]
    fn a_recording_expires_its_period_after_the_call_started() {
        let p = RetentionPolicy::DeleteRecordings { after_days: 30 };
        assert_eq!(
            p.recordings_expire_before(NOW),
            Some(datetime!(2026-11-01 03:00 UTC))
        );
        assert_eq!(
            RetentionPolicy::KeepForever.recordings_expire_before(NOW),
            None
        );
        assert_eq!(
            RetentionPolicy::DeleteConversations { after_days: 1 }.recordings_expire_before(NOW),
            None
        );
    }

    #[test]
    fn a_conversation_goes_only_when_every_line_it_was_on_lets_it_and_after_the_longest_period() {
        let short = RetentionPolicy::DeleteConversations { after_days: 30 };
        let long = RetentionPolicy::DeleteConversations { after_days: 365 };
        let idle_60_days = NOW - Duration::days(60);
        assert!(conversation_expired(
            idle_60_days,
            &[short],
            RetentionPolicy::KeepForever,
            NOW
        ));
        assert!(!conversation_expired(
            idle_60_days,
            &[short, long],
            RetentionPolicy::KeepForever,
            NOW
        ));
        assert!(!conversation_expired(
            idle_60_days,
            &[short, RetentionPolicy::KeepForever],
            short,
            NOW
        ));
        assert!(!conversation_expired(
            idle_60_days,
            &[RetentionPolicy::DeleteRecordings { after_days: 1 }],
            short,
            NOW
        ));
        // Texts and notes only: the installation's default decides.
        assert!(conversation_expired(idle_60_days, &[], short, NOW));
        assert!(!conversation_expired(
            idle_60_days,
            &[],
            RetentionPolicy::KeepForever,
            NOW
        ));
        // Exactly the period ago is not yet past it.
        assert!(!conversation_expired(
            NOW - Duration::days(30),
            &[short],
            short,
            NOW
        ));
    }

    #[test]
    fn stricter_means_it_would_delete_something_the_old_policy_kept() {
        let keep = RetentionPolicy::KeepForever;
        let rec30 = RetentionPolicy::DeleteRecordings { after_days: 30 };
        let rec90 = RetentionPolicy::DeleteRecordings { after_days: 90 };
        assert!(rec30.is_stricter_than(keep));
        assert!(rec30.is_stricter_than(rec90));
        assert!(!rec90.is_stricter_than(rec30));
        assert!(!keep.is_stricter_than(rec30));
        assert!(!rec30.is_stricter_than(rec30));
    }
}
