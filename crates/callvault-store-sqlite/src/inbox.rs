//! The inbox list, one statement built for the filters a request has, so each uses its index:
//!
//! - no search: a walk down the inbox in order (`conversations_activity`, or
//!   `conversations_channel` for a channel, or, for a user who sees only their contacts, their
//!   own copy of it, `contact_assignments_inbox`), a keyset seek for later pages;
//! - a search that few contacts match: those contacts from the word and digit indexes
//!   (FTS5), sorted;
//! - a search that many match: the same walk as without one, testing each entry's copy of its
//!   contact's words, which soon fills a page.
//!
//! Which of the last two is decided by counting the index's matches up to [`FEW`].

use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_store::{
    ContactRef, ConversationCursor, ConversationPage, ConversationQuery, ConversationSummary,
    MAX_PAGE, SearchText, StoreResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::codec::{Db, RowExt, ms, opt_enum_col};
use crate::rows::e164;

/// Up to this many matching contacts are fetched from the search indexes and sorted; beyond it
/// a walk down the inbox finds a page sooner (it tests about `MAX_PAGE × contacts / FEW`
/// entries at most).
const FEW: i64 = 4_000;

/// A number typed to this many digits matches a handful of contacts: no need to count.
pub(crate) const FEW_FROM_DIGITS: usize = 7;

/// The shortest digit string the trigram index can look up.
const MIN_INDEXED_DIGITS: usize = 3;

/// FTS5 query for names with every word as a word start: `"elodie"* AND "m"*`. Folded words
/// hold only letters and digits, so quoting them is enough.
fn words_query(text: &SearchText) -> Option<String> {
    (!text.words().is_empty()).then(|| {
        text.words()
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" AND ")
    })
}

/// FTS5 query for numbers containing the digits, if they are long enough to look up.
fn digits_query(text: &SearchText) -> Option<String> {
    text.digits()
        .filter(|d| d.len() >= MIN_INDEXED_DIGITS)
        .map(|d| format!("\"{d}\""))
}

/// Whether the search indexes can list the contacts a text matches, and they are few.
pub(crate) async fn few_matches(pool: &SqlitePool, text: &SearchText) -> StoreResult<bool> {
    if text.digits().is_some() && digits_query(text).is_none() {
        return Ok(false);
    }
    if text.words().is_empty() && text.digits().is_some_and(|d| d.len() >= FEW_FROM_DIGITS) {
        return Ok(true);
    }
    let mut total = 0;
    for (table, query) in [
        ("contact_words", words_query(text)),
        ("contact_digits", digits_query(text)),
    ] {
        let Some(query) = query else { continue };
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT COUNT(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH "
        ));
        sql.push_bind(query)
            .push(" LIMIT ")
            .push_bind(FEW + 1)
            .push(")");
        let n: i64 = sql.build_query_scalar().fetch_one(pool).await.db()?;
        total += n;
    }
    Ok(total <= FEW)
}

/// Adds `c.search_key IN (the contacts the indexes find for the text)`.
pub(crate) fn push_indexed_match(sql: &mut QueryBuilder<Sqlite>, text: &SearchText) {
    sql.push("c.search_key IN (");
    let mut first = true;
    for (table, query) in [
        ("contact_words", words_query(text)),
        ("contact_digits", digits_query(text)),
    ] {
        let Some(query) = query else { continue };
        if !first {
            sql.push(" UNION ");
        }
        first = false;
        sql.push(format!("SELECT rowid FROM {table} WHERE {table} MATCH "))
            .push_bind(query);
    }
    if first {
        sql.push("NULL");
    }
    sql.push(")");
}

/// Adds the text test on `{alias}.{name}` and `{alias}.{digits}` columns, row by row: every
/// word starts a word of the name, or the number contains the digits (see [`SearchText`]).
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
        sql.push(format!("{digits} LIKE "))
            .push_bind(format!("%{d}%"));
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

fn push_channel(sql: &mut QueryBuilder<Sqlite>, channel: Option<Channel>) {
    if let Some(channel) = channel {
        sql.push(" AND v.last_message_channel = ")
            .push_bind(channel.as_str());
    }
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
    let indexed = match &query.text {
        Some(text) => few_matches(pool, text).await?,
        None => false,
    };
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(COLUMNS);
    // CROSS JOIN fixes the join order SQLite would otherwise guess at.
    match (&query.text, query.scope) {
        (Some(text), scope) if indexed => {
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
            push_channel(&mut sql, query.channel);
            push_after(&mut sql, query.after, "v.activity_at", "v.id");
            sql.push(" ORDER BY v.activity_at DESC, v.id DESC");
        }
        (text, ContactScope::AssignedTo(user)) => {
            sql.push(
                " FROM contact_assignments a CROSS JOIN conversations v CROSS JOIN contacts c
                  WHERE v.id = a.conversation_id AND c.id = v.contact_id
                    AND a.conversation_id IS NOT NULL AND a.user_id = ",
            )
            .push_bind(user.to_string());
            push_channel(&mut sql, query.channel);
            if let Some(text) = text {
                // Tested on the assignment's own copy, from its index, before any join.
                sql.push(" AND ");
                push_text_test(&mut sql, text, "a.search_name", "a.phone_digits");
            }
            push_after(&mut sql, query.after, "a.activity_at", "a.conversation_id");
            sql.push(" ORDER BY a.activity_at DESC, a.conversation_id DESC");
        }
        (text, ContactScope::All) => {
            sql.push(" FROM conversations v CROSS JOIN contacts c WHERE c.id = v.contact_id");
            push_channel(&mut sql, query.channel);
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
