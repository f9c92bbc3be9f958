//! Whole tables in portable values, for moving an installation from one backend to another
//! (`callvault db copy`) and for loading benchmark data through a backend's bulk path. Only
//! base columns are listed: what a backend derives (search indexes, the inbox's copies of
//! activity) it derives again as rows arrive.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreResult;

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    Int,
    Real,
    Bool,
    Time,
    /// JSON text.
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

/// A table, its columns in order, and the columns that order it for reading in pages.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub key: &'static [&'static str],
}

impl Table {
    /// Where the key columns are among the columns.
    #[must_use]
    pub fn key_positions(&self) -> Vec<usize> {
        self.key
            .iter()
            .filter_map(|k| self.columns.iter().position(|c| c.name == *k))
            .collect()
    }

    #[must_use]
    pub fn by_name(name: &str) -> Option<&'static Table> {
        TABLES.iter().find(|t| t.name == name)
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Uuid(Uuid),
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    Time(OffsetDateTime),
    Json(String),
}

pub type Row = Vec<Value>;

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

use Kind::{Bool, Int, Json, Real, Text, Time};
const ID: Kind = Kind::Uuid;

/// Every table, parents before children, so rows can be written in this order.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            col("id", ID),
            col("email", Text),
            col("name", Text),
            col("password_hash", Text),
            col("role", Text),
            col("scope", Text),
            col("can_download", Bool),
            col("can_delete", Bool),
            col("disabled", Bool),
            col("created_at", Time),
            col("extension", Text),
        ],
        key: &["id"],
    },
    Table {
        name: "sessions",
        columns: &[
            col("token_hash", Text),
            col("user_id", ID),
            col("created_at", Time),
            col("expires_at", Time),
        ],
        key: &["token_hash"],
    },
    Table {
        name: "api_tokens",
        columns: &[
            col("id", ID),
            col("user_id", ID),
            col("name", Text),
            col("token_hash", Text),
            col("created_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "contacts",
        columns: &[
            col("id", ID),
            col("name", Text),
            col("name_folded", Text),
            col("phone_e164", Text),
            col("phone_digits", Text),
            col("phone_raw", Text),
            col("email", Text),
            col("created_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "legal_holds",
        columns: &[
            col("id", ID),
            col("scope", Text),
            col("contact_id", ID),
            col("reason", Text),
            col("placed_by", ID),
            col("placed_at", Time),
            col("released_by", ID),
            col("released_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "conversations",
        columns: &[
            col("id", ID),
            col("contact_id", ID),
            col("last_message_channel", Text),
            col("last_message_at", Time),
            col("activity_at", Time),
            col("created_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "contact_assignments",
        columns: &[col("contact_id", ID), col("user_id", ID)],
        key: &["contact_id", "user_id"],
    },
    Table {
        name: "phone_numbers",
        columns: &[
            col("id", ID),
            col("e164", Text),
            col("label", Text),
            col("provider", Text),
            col("call_recording", Bool),
            col("consent_announcement", Text),
            col("transcribe_automatically", Bool),
            col("created_at", Time),
            col("updated_at", Time),
            col("retention_action", Text),
            col("retention_days", Int),
            col("redact_sensitive", Bool),
        ],
        key: &["id"],
    },
    Table {
        name: "number_recording_changes",
        columns: &[
            col("id", Int),
            col("number_id", ID),
            col("call_recording", Bool),
            col("effective_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "forward_targets",
        columns: &[
            col("number_id", ID),
            col("position", Int),
            col("phone_e164", Text),
            col("user_id", ID),
        ],
        key: &["number_id", "position"],
    },
    Table {
        name: "calls",
        columns: &[
            col("id", ID),
            col("conversation_id", ID),
            col("contact_id", ID),
            col("number_id", ID),
            col("source", Text),
            col("external_id", Text),
            col("direction", Text),
            col("status", Text),
            col("from_addr", Text),
            col("to_addr", Text),
            col("started_at", Time),
            col("answered_at", Time),
            col("ended_at", Time),
            col("handled_by", ID),
            col("recording_allowed", Bool),
            col("recording_note", Text),
            col("created_at", Time),
            col("recording_expired_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "events",
        columns: &[
            col("id", ID),
            col("conversation_id", ID),
            col("channel", Text),
            col("occurred_at", Time),
            col("call_id", ID),
            col("direction", Text),
            col("body", Text),
            col("author_user_id", ID),
            col("external_id", Text),
        ],
        key: &["id"],
    },
    Table {
        name: "installation_settings",
        columns: &[
            col("id", Int),
            col("retention_action", Text),
            col("retention_days", Int),
            col("updated_at", Time),
            col("audit_retention_days", Int),
        ],
        key: &["id"],
    },
    Table {
        name: "conversation_reads",
        columns: &[
            col("user_id", ID),
            col("conversation_id", ID),
            col("read_at", Time),
        ],
        key: &["user_id", "conversation_id"],
    },
    Table {
        name: "recordings",
        columns: &[
            col("id", ID),
            col("call_id", ID),
            col("blob_key", Text),
            col("duration_ms", Int),
            col("channels", Int),
            col("sample_rate", Int),
            col("bytes", Int),
            col("sha256", Text),
            col("peaks", Text),
            col("created_at", Time),
            col("source_ref", Text),
            col("redactions", Text),
            col("redaction_pending", Bool),
        ],
        key: &["id"],
    },
    Table {
        name: "transcripts",
        columns: &[
            col("id", ID),
            col("recording_id", ID),
            col("status", Text),
            col("language", Text),
            col("progress", Real),
            col("error", Text),
            col("job_id", ID),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "transcript_segments",
        columns: &[
            col("id", Int),
            col("transcript_id", ID),
            col("idx", Int),
            col("start_ms", Int),
            col("end_ms", Int),
            col("speaker", Text),
            col("text", Text),
            col("channel", Int),
        ],
        key: &["id"],
    },
    Table {
        name: "jobs",
        columns: &[
            col("id", ID),
            col("kind", Text),
            col("payload", Json),
            col("state", Text),
            col("attempts", Int),
            col("max_attempts", Int),
            col("run_at", Time),
            col("lease_until", Time),
            col("worker", Text),
            col("last_error", Text),
            col("dedupe_key", Text),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "webhooks",
        columns: &[
            col("id", ID),
            col("url", Text),
            col("events", Text),
            col("secret", Text),
            col("created_by", ID),
            col("created_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "webhook_deliveries",
        columns: &[
            col("id", ID),
            col("webhook_id", ID),
            col("event", Text),
            col("body", Text),
            col("state", Text),
            col("attempts", Int),
            col("last_status", Int),
            col("last_error", Text),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        key: &["id"],
    },
    Table {
        name: "audit_log",
        columns: &[
            col("id", ID),
            col("at", Time),
            col("actor_user_id", ID),
            col("action", Text),
            col("target_kind", Text),
            col("target_id", Text),
            col("detail", Json),
            col("contact_id", ID),
        ],
        key: &["id"],
    },
];

/// Reading and writing whole tables. Writes go through one [`Import`], a transaction: a copy
/// that fails halfway leaves the target as it was.
#[async_trait]
pub trait Tables: Send + Sync {
    async fn count_rows(&self, table: &'static Table) -> StoreResult<u64>;
    /// Up to `limit` rows in key order, after the row whose key values are `after`.
    async fn read_rows(
        &self,
        table: &'static Table,
        after: Option<Vec<Value>>,
        limit: u32,
    ) -> StoreResult<Vec<Row>>;
    async fn import(&self) -> StoreResult<Box<dyn Import>>;
    /// Refreshes the query planner's statistics, after a bulk load.
    async fn analyze(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait Import: Send {
    /// Rows with every column of `table`, in its order.
    async fn write_rows(&mut self, table: &'static Table, rows: Vec<Row>) -> StoreResult<()>;
    /// Rows of `table` as this import sees them, its own writes included.
    async fn count_rows(&mut self, table: &'static Table) -> StoreResult<u64>;
    /// Makes everything written visible at once (and brings what the backend derives, such as
    /// sequences, up to date).
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_its_key_among_its_columns() {
        for table in TABLES {
            assert_eq!(
                table.key_positions().len(),
                table.key.len(),
                "{}",
                table.name
            );
        }
    }
}
