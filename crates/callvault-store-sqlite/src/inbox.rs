//! The inbox list, one statement built for the filters a request has, so each uses its index:
//!
//! - no search: a walk down the inbox in order (`conversations_activity`, or
//!   `conversations_channel` for a channel, or, for a user who sees only their contacts, their
//!   own copy of it, `contact_assignments_inbox`), a keyset seek for later pages;
//! - a search that few contacts match: those contacts from the word and digit indexes (FTS5),
//!   sorted; with several words, led by the word that matches fewest, the others tested on
//!   each contact it finds;
//! - a search that many match: the same walk as without one, testing each entry's copy of its
//!   contact's words, which soon fills a page.
//!
//! Which of the last two is chosen by `SearchText::plan`, from the words' counts in the index
//! and, where those cannot tell, a sample of the walk.

use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_store::{
    ActivityFilter, ContactRef, ConversationCursor, ConversationPage, ConversationQuery,
    ConversationSummary, MAX_PAGE, PlanProbe, Sample, SearchPlan, SearchText, StatusFilter,
    StoreResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::codec::{Db, RowExt, ms, opt_enum_col};
use crate::rows::e164;

/// FTS5 query for names with a word starting with `word`. Folded words hold only letters and
/// digits, so quoting them is enough.
fn word_query(word: &str) -> String {
    format!("\"{word}\"*")
}

/// Chooses how to answer a search (see `SearchText::plan`), asking the indexes and, if need
/// be, a sample of the walk `scope` would take.
pub(crate) async fn plan(
    pool: &SqlitePool,
    text: &SearchText,
    scope: ContactScope,
) -> StoreResult<SearchPlan> {
    text.choose_plan(&mut Probe { pool, text, scope }).await
}

struct Probe<'a> {
    pool: &'a SqlitePool,
    text: &'a SearchText,
    scope: ContactScope,
}

#[async_trait::async_trait]
impl PlanProbe for Probe<'_> {
    async fn count_word(&mut self, word: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT rowid FROM contact_words
                                   WHERE contact_words MATCH ? LIMIT ?)",
        )
        .bind(word_query(word))
        .bind(i64::try_from(SearchText::FEW_MATCHES + 1).unwrap_or(i64::MAX))
        .fetch_one(self.pool)
        .await
        .db()?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn sample(&mut self) -> StoreResult<Sample> {
        take_sample(self.pool, self.text, self.scope).await
    }
}

/// Tests the first entries of the walk `scope` would take.
async fn take_sample(
    pool: &SqlitePool,
    text: &SearchText,
    scope: ContactScope,
) -> StoreResult<Sample> {
    let rows = i64::try_from(SearchText::SAMPLE_ROWS).unwrap_or(i64::MAX);
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*), COALESCE(SUM(");
    push_text_test(&mut sql, text, "w.search_name", "w.phone_digits");
    let total: i64 = match scope {
        ContactScope::All => {
            sql.push(
                "), 0) FROM (SELECT v.search_name, v.phone_digits FROM conversations v
                              ORDER BY v.activity_at DESC, v.id DESC LIMIT ",
            )
            .push_bind(rows)
            .push(") w");
            // Rows ever made: near enough, and one step down an index.
            sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM conversations")
                .fetch_one(pool)
                .await
                .db()?
        }
        ContactScope::AssignedTo(user) => {
            sql.push(
                "), 0) FROM (SELECT a.search_name, a.phone_digits FROM contact_assignments a
                              WHERE a.conversation_id IS NOT NULL AND a.user_id = ",
            )
            .push_bind(user.to_string())
            .push(" ORDER BY a.activity_at DESC, a.conversation_id DESC LIMIT ")
            .push_bind(rows)
            .push(") w");
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM contact_assignments
                                       WHERE user_id = ? AND conversation_id IS NOT NULL LIMIT 100000)",
            )
            .bind(user.to_string())
            .fetch_one(pool)
            .await
            .db()?
        }
    };
    let (tested, matched): (i64, i64) = sql.build_query_as().fetch_one(pool).await.db()?;
    Ok(Sample {
        tested: u64::try_from(tested).unwrap_or(0),
        matched: u64::try_from(matched).unwrap_or(0),
        total: u64::try_from(total.max(tested)).unwrap_or(0),
    })
}

/// Adds "the contact `c` is one the indexes find for the text": for words, those with a word
/// starting with each (FTS5 intersects the words' lists itself); for a whole number, its
/// contact; for other digits, those whose number holds them.
pub(crate) fn push_indexed_match(sql: &mut QueryBuilder<Sqlite>, text: &SearchText) {
    if let Some(number) = text.whole_number() {
        sql.push("c.phone_e164 = ")
            .push_bind(number.as_str().to_owned());
        return;
    }
    if let (Some(digits), Some(tail)) = (text.digits(), text.indexed_digits()) {
        sql.push("c.search_key IN (SELECT rowid FROM contact_digits WHERE contact_digits MATCH ")
            .push_bind(format!("\"{tail}\""))
            .push(")");
        if tail != digits {
            sql.push(" AND c.phone_digits LIKE ")
                .push_bind(format!("%{digits}%"));
        }
        return;
    }
    if text.words().is_empty() {
        sql.push("0");
        return;
    }
    let query: Vec<String> = text.words().iter().map(|w| word_query(w)).collect();
    sql.push("c.search_key IN (SELECT rowid FROM contact_words WHERE contact_words MATCH ")
        .push_bind(query.join(" AND "))
        .push(")");
}

/// Adds the text test on `{alias}.{name}` and `{alias}.{digits}` columns, row by row: every
/// word starts a word of the name, or the number contains the digits, or is them for a whole
/// number (see [`SearchText`]).
pub(crate) fn push_text_test(
    sql: &mut QueryBuilder<Sqlite>,
    text: &SearchText,
    name: &str,
    digits: &str,
) {
    sql.push("(");
    let mut any = false;
    if !text.words().is_empty() {
        sql.push("(");
        for (i, word) in text.words().iter().enumerate() {
            if i > 0 {
                sql.push(" AND ");
            }
            // Folded names are words split by single spaces, with no LIKE wildcards in them.
            sql.push(format!("(' ' || {name}) LIKE "))
                .push_bind(format!("% {word}%"));
        }
        sql.push(")");
        any = true;
    }
    if let Some(d) = text.digits() {
        if any {
            sql.push(" OR ");
        }
        if text.whole_number().is_some() {
            sql.push(format!("{digits} = ")).push_bind(d.to_owned());
        } else {
            sql.push(format!("{digits} LIKE "))
                .push_bind(format!("%{d}%"));
        }
        any = true;
    }
    if !any {
        sql.push("0");
    }
    sql.push(")");
}

const COLUMNS: &str = "SELECT v.id, v.last_message_channel, v.last_message_at, v.activity_at,
        v.created_at, c.id AS contact_id, c.name, c.phone_e164";

fn summary_from_row(row: &SqliteRow) -> StoreResult<ConversationSummary> {
    Ok(ConversationSummary {
        id: row.parsed("id")?,
        contact: ContactRef {
            id: row.parsed("contact_id")?,
            name: row.text("name")?,
            phone: e164(row.text("phone_e164")?)?,
        },
        last_message_channel: opt_enum_col(row, "last_message_channel", Channel::parse)?,
        last_message_at: row.opt_time("last_message_at")?,
        activity_at: row.time("activity_at")?,
        created_at: row.time("created_at")?,
        // Read for the whole page at once (`conversations::latest_events`).
        last_event: None,
    })
}

/// Adds `AND (at, id) < cursor` on the given columns.
fn push_after(
    sql: &mut QueryBuilder<Sqlite>,
    after: Option<ConversationCursor>,
    at: &str,
    id: &str,
) {
    if let Some(after) = after {
        sql.push(format!(" AND ({at}, {id}) < ("))
            .push_bind(ms(after.activity_at))
            .push(", ")
            .push_bind(after.id.to_string())
            .push(")");
    }
}

fn push_channel(sql: &mut QueryBuilder<Sqlite>, query: &ConversationQuery) {
    if let Some(channel) = query.channel {
        sql.push(" AND v.last_message_channel = ")
            .push_bind(channel.as_str());
    }
    push_activity(sql, &query.activity);
    if let Some(user) = query.unread_by {
        sql.push(
            " AND v.last_message_at IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM conversation_reads r WHERE r.conversation_id = v.id
                AND r.read_at >= v.last_message_at AND r.user_id = ",
        )
        .push_bind(user.to_string())
        .push(")");
    }
}

/// "Had a call like this" (down `calls_conversation`), or, for dates alone, "had activity then"
/// (down `events_conversation`).
fn push_activity(sql: &mut QueryBuilder<Sqlite>, filter: &ActivityFilter) {
    if filter.is_empty() {
        return;
    }
    let (table, at) = if filter.about_calls() {
        ("calls", "started_at")
    } else {
        ("events", "occurred_at")
    };
    sql.push(format!(
        " AND EXISTS (SELECT 1 FROM {table} f WHERE f.conversation_id = v.id"
    ));
    if let Some(direction) = filter.direction {
        sql.push(" AND f.direction = ")
            .push_bind(direction.as_str());
    }
    match filter.status {
        Some(StatusFilter::Answered) => {
            sql.push(" AND f.status = 'answered'");
        }
        Some(StatusFilter::Missed) => {
            sql.push(
                " AND f.direction = 'inbound' AND f.status IN ('no-answer', 'busy', 'failed')",
            );
        }
        None => {}
    }
    if let Some(user) = filter.handled_by {
        sql.push(" AND f.handled_by = ").push_bind(user.to_string());
    }
    if let Some(number) = filter.number {
        sql.push(" AND f.number_id = ")
            .push_bind(number.to_string());
    }
    if let Some(since) = filter.since {
        sql.push(format!(" AND f.{at} >= ")).push_bind(ms(since));
    }
    if let Some(until) = filter.until {
        sql.push(format!(" AND f.{at} < ")).push_bind(ms(until));
    }
    sql.push(")");
}

pub(crate) async fn list(
    pool: &SqlitePool,
    query: ConversationQuery,
) -> StoreResult<ConversationPage> {
    let limit = query.limit.clamp(1, MAX_PAGE);
    if query.text.as_ref().is_some_and(SearchText::matches_nothing) {
        return Ok(ConversationPage {
            items: Vec::new(),
            next: None,
        });
    }
    let plan = match &query.text {
        Some(text) => plan(pool, text, query.scope).await?,
        None => SearchPlan::Walk,
    };
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(COLUMNS);
    // CROSS JOIN fixes the join order SQLite would otherwise guess at.
    match (&query.text, plan, query.scope) {
        (Some(text), SearchPlan::FromIndexes, scope) => {
            sql.push(" FROM contacts c CROSS JOIN conversations v WHERE v.contact_id = c.id AND ");
            push_indexed_match(&mut sql, text);
            if let ContactScope::AssignedTo(user) = scope {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM contact_assignments a
                                  WHERE a.contact_id = c.id AND a.user_id = ",
                )
                .push_bind(user.to_string())
                .push(")");
            }
            push_channel(&mut sql, &query);
            push_after(&mut sql, query.after, "v.activity_at", "v.id");
            sql.push(" ORDER BY v.activity_at DESC, v.id DESC");
        }
        (text, _, ContactScope::AssignedTo(user)) => {
            sql.push(
                " FROM contact_assignments a CROSS JOIN conversations v CROSS JOIN contacts c
                  WHERE v.id = a.conversation_id AND c.id = v.contact_id
                    AND a.conversation_id IS NOT NULL AND a.user_id = ",
            )
            .push_bind(user.to_string());
            push_channel(&mut sql, &query);
            if let Some(text) = text {
                // Tested on the assignment's own copy, from its index, before any join.
                sql.push(" AND ");
                push_text_test(&mut sql, text, "a.search_name", "a.phone_digits");
            }
            push_after(&mut sql, query.after, "a.activity_at", "a.conversation_id");
            sql.push(" ORDER BY a.activity_at DESC, a.conversation_id DESC");
        }
        (text, _, ContactScope::All) => {
            sql.push(" FROM conversations v CROSS JOIN contacts c WHERE c.id = v.contact_id");
            push_channel(&mut sql, &query);
            if let Some(text) = text {
                sql.push(" AND ");
                push_text_test(&mut sql, text, "v.search_name", "v.phone_digits");
            }
            push_after(&mut sql, query.after, "v.activity_at", "v.id");
            sql.push(" ORDER BY v.activity_at DESC, v.id DESC");
        }
    }
    sql.push(" LIMIT ").push_bind(i64::from(limit) + 1);
    let rows = sql.build().fetch_all(pool).await.db()?;
    let mut items = rows
        .iter()
        .map(summary_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| ConversationCursor {
            activity_at: last.activity_at,
            id: last.id,
        })
    } else {
        None
    };
    Ok(ConversationPage { items, next })
}
