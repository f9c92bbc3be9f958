//! The floor each case is measured against: the same question asked of the database directly,
//! in hand-written SQL using the best index for it, returning only ids.

use callvault_core::permissions::ContactScope;
use callvault_store::SearchText;
use sqlx::{PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};
use uuid::Uuid;

use super::Ask;

pub enum Floor {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

fn fts_words(text: &SearchText) -> String {
    text.words()
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

impl Floor {
    /// The ids of the first page, as the best plan finds them.
    pub async fn ask(&self, ask: &Ask, scope: ContactScope) -> anyhow::Result<Vec<String>> {
        let user = match scope {
            ContactScope::All => None,
            ContactScope::AssignedTo(u) => Some(u.0),
        };
        match self {
            Self::Sqlite(pool) => sqlite(pool, ask, user).await,
            Self::Postgres(pool) => postgres(pool, ask, user).await,
        }
    }
}

const PAGE: i64 = 51;

async fn sqlite(pool: &SqlitePool, ask: &Ask, user: Option<Uuid>) -> anyhow::Result<Vec<String>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(open_page(ask, "CAST(f.id AS TEXT)"));
    // The walk down a user's copy of the inbox, or down the inbox.
    let walk = |q: &mut QueryBuilder<Sqlite>, filter: &dyn Fn(&mut QueryBuilder<Sqlite>)| match user
    {
        Some(u) => {
            q.push(
                    "SELECT a.conversation_id AS id FROM contact_assignments a CROSS JOIN conversations v
                     WHERE v.id = a.conversation_id AND a.conversation_id IS NOT NULL AND a.user_id = ",
                )
                .push_bind(u.to_string());
            filter(q);
            q.push(" ORDER BY a.activity_at DESC, a.conversation_id DESC LIMIT ")
                .push_bind(PAGE);
        }
        None => {
            q.push("SELECT v.id FROM conversations v WHERE 1");
            filter(q);
            q.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(PAGE);
        }
    };
    let scope = |q: &mut QueryBuilder<Sqlite>| {
        if let Some(u) = user {
            q.push(" AND EXISTS (SELECT 1 FROM contact_assignments a WHERE a.contact_id = c.id AND a.user_id = ")
                .push_bind(u.to_string())
                .push(")");
        }
    };
    match ask {
        Ask::Page(None) => walk(&mut q, &|_| {}),
        Ask::Page(Some(after)) => {
            let (at, id) = (
                i64::try_from(after.activity_at.unix_timestamp_nanos() / 1_000_000)?,
                after.id.to_string(),
            );
            let cols = if user.is_some() {
                "(a.activity_at, a.conversation_id)"
            } else {
                "(v.activity_at, v.id)"
            };
            walk(&mut q, &|q| {
                q.push(format!(" AND {cols} < ("))
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id.clone())
                    .push(")");
            });
        }
        Ask::Channel(channel) => walk(&mut q, &|q| {
            q.push(" AND v.last_message_channel = ")
                .push_bind(channel.as_str());
        }),
        Ask::Words(text, many) if *many => walk(&mut q, &|q| {
            // A restricted user's walk tests their own copy of the words.
            let name = if user.is_some() {
                "a.search_name"
            } else {
                "v.search_name"
            };
            for w in text.words() {
                q.push(format!(" AND (' ' || {name}) LIKE "))
                    .push_bind(format!("% {w}%"));
            }
        }),
        Ask::Words(text, _) => {
            q.push(
                "SELECT v.id FROM contact_words w CROSS JOIN contacts c CROSS JOIN conversations v
                 WHERE c.search_key = w.rowid AND v.contact_id = c.id AND contact_words MATCH ",
            )
            .push_bind(fts_words(text));
            scope(&mut q);
            q.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(PAGE);
        }
        Ask::Phone(e164) => {
            q.push(
                "SELECT v.id FROM contacts c CROSS JOIN conversations v
                 WHERE v.contact_id = c.id AND c.phone_e164 = ",
            )
            .push_bind(e164.clone());
            scope(&mut q);
        }
        Ask::Digits(digits) => {
            q.push(
                "SELECT v.id FROM contact_digits d CROSS JOIN contacts c CROSS JOIN conversations v
                 WHERE c.search_key = d.rowid AND v.contact_id = c.id AND contact_digits MATCH ",
            )
            .push_bind(format!("\"{digits}\""));
            scope(&mut q);
            q.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(PAGE);
        }
        Ask::Transcript(phrase, many) => {
            let phrase = format!("\"{phrase}\"");
            // Many hits: walk the segments newest first testing each against them (through
            // the user's contacts when restricted); few: order the hits.
            match (many, user) {
                (true, Some(u)) => {
                    q.push(
                        "SELECT s.id AS id FROM contact_assignments a
                         CROSS JOIN transcript_segments s
                         WHERE s.contact_id = a.contact_id AND a.user_id = ",
                    )
                    .push_bind(u.to_string())
                    .push(" AND +s.id IN (SELECT rowid FROM transcript_segments_fts WHERE transcript_segments_fts MATCH ")
                    .push_bind(phrase)
                    .push(")");
                }
                (true, None) => {
                    q.push(
                        "SELECT s.id AS id FROM transcript_segments s
                         WHERE +s.id IN (SELECT rowid FROM transcript_segments_fts WHERE transcript_segments_fts MATCH ",
                    )
                    .push_bind(phrase)
                    .push(")");
                }
                (false, _) => {
                    q.push(
                        "SELECT s.id AS id FROM transcript_segments_fts f
                         JOIN transcript_segments s ON s.id = f.rowid
                         WHERE transcript_segments_fts MATCH ",
                    )
                    .push_bind(phrase);
                    if let Some(u) = user {
                        q.push(" AND EXISTS (SELECT 1 FROM contact_assignments a WHERE a.contact_id = s.contact_id AND a.user_id = ")
                            .push_bind(u.to_string())
                            .push(")");
                    }
                }
            }
            q.push(" ORDER BY s.call_started_at DESC, s.start_ms, s.transcript_id, s.idx LIMIT 50");
        }
    }
    q.push(close_page(ask, &|col| col.to_owned(), "CROSS JOIN"));
    Ok(q.build_query_scalar::<String>().fetch_all(pool).await?)
}

async fn postgres(pool: &PgPool, ask: &Ask, user: Option<Uuid>) -> anyhow::Result<Vec<String>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(open_page(ask, "f.id::text"));
    let walk =
        |q: &mut QueryBuilder<Postgres>, filter: &dyn Fn(&mut QueryBuilder<Postgres>)| match user {
            Some(u) => {
                q.push(
                    "SELECT a.conversation_id AS id FROM contact_assignments a
                     JOIN conversations v ON v.id = a.conversation_id
                     WHERE a.conversation_id IS NOT NULL AND a.user_id = ",
                )
                .push_bind(u);
                filter(q);
                q.push(" ORDER BY a.activity_at DESC, a.conversation_id DESC LIMIT ")
                    .push_bind(PAGE);
            }
            None => {
                q.push("SELECT v.id AS id FROM conversations v WHERE true");
                filter(q);
                q.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                    .push_bind(PAGE);
            }
        };
    let scope = |q: &mut QueryBuilder<Postgres>| {
        if let Some(u) = user {
            q.push(" AND EXISTS (SELECT 1 FROM contact_assignments a WHERE a.contact_id = v.contact_id AND a.user_id = ")
                .push_bind(u)
                .push(")");
        }
    };
    match ask {
        Ask::Page(None) => walk(&mut q, &|_| {}),
        Ask::Page(Some(after)) => {
            let (at, id) = (after.activity_at, after.id.0);
            let cols = if user.is_some() {
                "(a.activity_at, a.conversation_id)"
            } else {
                "(v.activity_at, v.id)"
            };
            walk(&mut q, &|q| {
                q.push(format!(" AND {cols} < ("))
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            });
        }
        Ask::Channel(channel) => walk(&mut q, &|q| {
            q.push(" AND v.last_message_channel = ")
                .push_bind(channel.as_str());
        }),
        Ask::Words(text, many) if *many => walk(&mut q, &|q| {
            // A restricted user's walk tests their own copy of the words.
            let name = if user.is_some() {
                "a.search_name"
            } else {
                "v.search_name"
            };
            for w in text.words() {
                q.push(format!(" AND (' ' || {name}) LIKE "))
                    .push_bind(format!("% {w}%"));
            }
        }),
        Ask::Words(text, _) => {
            // Every word from the inbox's trigram index on its copy of the names.
            q.push("SELECT v.id AS id FROM conversations v WHERE true");
            for w in text.words() {
                q.push(" AND (' ' || v.search_name) LIKE ")
                    .push_bind(format!("% {w}%"));
            }
            scope(&mut q);
            q.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(PAGE);
        }
        Ask::Phone(e164) => {
            q.push(
                "SELECT v.id AS id FROM contacts c JOIN conversations v ON v.contact_id = c.id
                 WHERE c.phone_e164 = ",
            )
            .push_bind(e164.clone());
            scope(&mut q);
        }
        Ask::Digits(digits) => {
            q.push("SELECT v.id AS id FROM conversations v WHERE v.phone_digits LIKE ")
                .push_bind(format!("%{digits}%"));
            scope(&mut q);
            q.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(PAGE);
        }
        Ask::Transcript(phrase, many) => {
            q.push("SELECT s.id AS id FROM transcript_segments s");
            match (many, user) {
                // The user's contacts as one array, for one scan of the contact index (a join
                // searches it once per contact).
                (true, Some(u)) => {
                    q.push(
                        " WHERE s.contact_id = ANY(ARRAY(
                             SELECT contact_id FROM contact_assignments WHERE user_id = ",
                    )
                    .push_bind(u)
                    .push(")) AND");
                }
                (false, Some(u)) => {
                    q.push(" JOIN contact_assignments a ON a.contact_id = s.contact_id AND a.user_id = ")
                        .push_bind(u)
                        .push(" WHERE");
                }
                (_, None) => {
                    q.push(" WHERE");
                }
            }
            // A common phrase's query made once (a subquery), not again for each segment
            // walked; a rare one's inline, where the planner sees it and asks the GIN index.
            let (open, close) = if *many {
                ("(SELECT phraseto_tsquery('simple', ", "))")
            } else {
                ("phraseto_tsquery('simple', ", ")")
            };
            q.push(" s.search @@ ")
                .push(open)
                .push_bind(phrase.clone())
                .push(close)
                .push(
                    " ORDER BY s.call_started_at DESC, s.start_ms, s.transcript_id, s.idx LIMIT 50",
                );
        }
    }
    q.push(close_page(ask, &|col| col.to_owned(), "JOIN"));
    Ok(q.build_query_scalar::<String>()
        .persistent(false)
        .fetch_all(pool)
        .await?)
}

/// The floor asks the same question the store does, answered by hand: the ids its id query
/// finds, fetched with every column the store returns for them. The id comes first.
fn open_page(ask: &Ask, id_as_text: &str) -> String {
    match ask {
        Ask::Transcript(..) => format!(
            "SELECT {id_as_text}, r.id, k.conversation_id, k.id, c.name, k.started_at, s.start_ms,
                    s.end_ms, s.speaker, s.text FROM ("
        ),
        _ => format!(
            "SELECT {id_as_text}, v.last_message_channel, v.last_message_at, v.activity_at,
                    v.created_at, c.id, c.name, c.phone_e164 FROM ("
        ),
    }
}

/// Closes [`open_page`]; `key` is how an id column compares with the ids found, `join` the
/// join that keeps the ids as the outer loop (SQLite: `CROSS JOIN`). The id query names its
/// column `id`.
fn close_page(ask: &Ask, key: &dyn Fn(&str) -> String, join: &str) -> String {
    match ask {
        Ask::Transcript(..) => format!(
            ") f
             {join} transcript_segments s ON {} = f.id
             {join} transcripts t ON t.id = s.transcript_id
             {join} recordings r ON r.id = t.recording_id
             {join} calls k ON k.id = r.call_id
             {join} contacts c ON c.id = k.contact_id
             ORDER BY k.started_at DESC, s.start_ms, s.transcript_id, s.idx",
            key("s.id")
        ),
        _ => format!(
            ") f
             {join} conversations v ON {} = f.id
             {join} contacts c ON c.id = v.contact_id
             ORDER BY v.activity_at DESC, v.id DESC",
            key("v.id")
        ),
    }
}
