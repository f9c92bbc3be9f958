//! The inbox list, one statement built for the filters a request has:
//!
//! - no search: a walk down the inbox in order (`conversations_activity`, or
//!   `conversations_channel` for a channel, or, for a user who sees only their contacts, their
//!   own copy of it, `contact_assignments_inbox`), a keyset seek for later pages;
//! - a search that few contacts match: those contacts, from the word table (a B-tree range
//!   per word) and the digits' trigram index, sorted;
//! - a search that many match: the same walk as without one, testing each entry's copy of its
//!   contact's words, which soon fills a page.
//!
//! Which of the last two is decided by counting the indexes' matches up to [`FEW`]: the
//! planner's own estimates for word prefixes and digit fragments are too rough to trust with
//! a choice between a millisecond and a second. The plan is then pinned for the statement.

use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_store::{
    ContactRef, ConversationCursor, ConversationPage, ConversationQuery, ConversationSummary,
    MAX_PAGE, SearchText, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::codec::{Db, RowExt, opt_enum_col};
use crate::rows::e164;

/// Up to this many matching contacts are fetched from the indexes and sorted; beyond it a
/// walk down the inbox finds a page sooner.
const FEW: i64 = 4_000;

/// The shortest digit string the trigram index can look up.
const MIN_INDEXED_DIGITS: usize = 3;

/// A number typed to this many digits matches a handful of contacts: no need to count.
const FEW_FROM_DIGITS: usize = 7;

/// The first string after every string that starts with `prefix`, in the word table's byte
/// order; none when the prefix ends in the last code point.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Adds `word >= prefix AND word < end`: a range of the word table's B-tree, usable whatever
/// plan PostgreSQL keeps for the statement (a bound `LIKE 'x%'` is not).
fn push_word_range(sql: &mut QueryBuilder<Postgres>, word: &str) {
    sql.push("word >= ").push_bind(word.to_owned());
    if let Some(end) = prefix_end(word) {
        sql.push(" AND word < ").push_bind(end);
    }
}

/// How many contacts the text matches, counted from the indexes, up to `FEW + 1`. Runs in
/// the caller's transaction, where sequential scans are off (the trigram index answers only
/// as a bitmap, which the planner might otherwise pass over).
pub(crate) async fn count_matches(conn: &mut PgConnection, text: &SearchText) -> StoreResult<i64> {
    if text.words().is_empty() && text.digits().is_some_and(|d| d.len() >= FEW_FROM_DIGITS) {
        return Ok(1);
    }
    let mut total = 0;
    if !text.words().is_empty() {
        // Every word must match: the rarest bounds the count.
        let mut least = i64::MAX;
        for word in text.words() {
            let mut sql: QueryBuilder<Postgres> =
                QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM contact_words WHERE ");
            push_word_range(&mut sql, word);
            sql.push(" LIMIT ").push_bind(FEW + 1).push(") s");
            let n: i64 = sql
                .build_query_scalar()
                .persistent(false)
                .fetch_one(&mut *conn)
                .await
                .db()?;
            least = least.min(n);
        }
        total += least;
    }
    if let Some(digits) = text.digits() {
        if digits.len() < MIN_INDEXED_DIGITS {
            return Ok(FEW + 1);
        }
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM contacts WHERE phone_digits LIKE $1 LIMIT $2) s",
        )
        .bind(format!("%{digits}%"))
        .bind(FEW + 1)
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .db()?;
        total += n;
    }
    Ok(total)
}

/// Adds a query for the ids of the contacts the text matches, from the indexes, each once (a
/// name may have two words that start alike).
pub(crate) fn push_hits(sql: &mut QueryBuilder<Postgres>, text: &SearchText) {
    let mut first = true;
    sql.push("SELECT DISTINCT contact_id FROM (");
    if !text.words().is_empty() {
        sql.push("(");
        for (i, word) in text.words().iter().enumerate() {
            if i > 0 {
                sql.push(" INTERSECT ");
            }
            sql.push("SELECT contact_id FROM contact_words WHERE ");
            push_word_range(sql, word);
        }
        sql.push(")");
        first = false;
    }
    if let Some(digits) = text.digits() {
        if !first {
            sql.push(" UNION ");
        }
        sql.push("SELECT id FROM contacts WHERE phone_digits LIKE ")
            .push_bind(format!("%{digits}%"));
        first = false;
    }
    if first {
        sql.push("SELECT NULL::uuid WHERE false");
    }
    sql.push(") AS matched(contact_id)");
}

/// Adds the text test on a row's `{name}` (folded words) and `{digits}` columns: every word
/// starts a word of the name, or the number contains the digits (see [`SearchText`]).
pub(crate) fn push_text_test(
    sql: &mut QueryBuilder<Postgres>,
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
        sql.push("false");
    }
    sql.push(")");
}

/// Pins the plan for the rest of the transaction: from the indexes, or a walk in order.
pub(crate) async fn pin_plan(conn: &mut PgConnection, from_indexes: bool) -> StoreResult<()> {
    let settings = if from_indexes {
        "SET LOCAL enable_seqscan = off"
    } else {
        "SET LOCAL enable_bitmapscan = off"
    };
    sqlx::query(settings).execute(&mut *conn).await.db()?;
    Ok(())
}

/// Adds `AND (at, id) < cursor` on the given columns.
fn push_after(
    sql: &mut QueryBuilder<Postgres>,
    after: Option<ConversationCursor>,
    at: &str,
    id: &str,
) {
    if let Some(after) = after {
        sql.push(format!(" AND ({at}, {id}) < ("))
            .push_bind(after.activity_at)
            .push(", ")
            .push_bind(after.id.0)
            .push(")");
    }
}

fn push_channel(sql: &mut QueryBuilder<Postgres>, channel: Option<Channel>) {
    if let Some(channel) = channel {
        sql.push(" AND v.last_message_channel = ")
            .push_bind(channel.as_str());
    }
}

const COLUMNS: &str = "SELECT v.id, v.last_message_channel, v.last_message_at, v.activity_at,
        v.created_at, c.id AS contact_id, c.name, c.phone_e164";

fn summary_from_row(row: &PgRow) -> StoreResult<ConversationSummary> {
    Ok(ConversationSummary {
        id: row.id("id")?,
        contact: ContactRef {
            id: row.id("contact_id")?,
            name: row.text("name")?,
            phone: e164(row.text("phone_e164")?)?,
        },
        last_message_channel: opt_enum_col(row, "last_message_channel", Channel::parse)?,
        last_message_at: row.opt_time("last_message_at")?,
        activity_at: row.time("activity_at")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) async fn list(pool: &PgPool, query: ConversationQuery) -> StoreResult<ConversationPage> {
    let limit = query.limit.clamp(1, MAX_PAGE);
    if query.text.as_ref().is_some_and(SearchText::matches_nothing) {
        return Ok(ConversationPage {
            items: Vec::new(),
            next: None,
        });
    }
    let mut tx = pool.begin().await.db()?;
    let from_indexes = match &query.text {
        Some(text) => {
            pin_plan(&mut tx, true).await?;
            count_matches(&mut tx, text).await? <= FEW
        }
        None => false,
    };
    if query.text.is_some() && !from_indexes {
        // Re-pinned: the walk, not a bitmap of every match.
        sqlx::query("SET LOCAL enable_seqscan = on")
            .execute(&mut *tx)
            .await
            .db()?;
        pin_plan(&mut tx, false).await?;
    }
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(COLUMNS);
    match (&query.text, query.scope) {
        (Some(text), scope) if from_indexes => {
            sql.push(" FROM (");
            push_hits(&mut sql, text);
            sql.push(
                ") AS hits(contact_id)
                 JOIN conversations v ON v.contact_id = hits.contact_id
                 JOIN contacts c ON c.id = v.contact_id WHERE true",
            );
            if let ContactScope::AssignedTo(user) = scope {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM contact_assignments a
                                  WHERE a.contact_id = c.id AND a.user_id = ",
                )
                .push_bind(user.0)
                .push(")");
            }
            push_channel(&mut sql, query.channel);
            push_after(&mut sql, query.after, "v.activity_at", "v.id");
            sql.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1);
        }
        (text, ContactScope::AssignedTo(user)) => {
            // Their copy of the inbox, keys and words from its index alone (the channel needs
            // the conversation); only the page is then joined.
            sql.push(" FROM (SELECT a.conversation_id AS id FROM contact_assignments a");
            if query.channel.is_some() {
                sql.push(" JOIN conversations v ON v.id = a.conversation_id");
            }
            sql.push(" WHERE a.conversation_id IS NOT NULL AND a.user_id = ")
                .push_bind(user.0);
            push_channel(&mut sql, query.channel);
            if let Some(text) = text {
                sql.push(" AND ");
                push_text_test(&mut sql, text, "a.search_name", "a.phone_digits");
            }
            push_after(&mut sql, query.after, "a.activity_at", "a.conversation_id");
            sql.push(" ORDER BY a.activity_at DESC, a.conversation_id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1)
                .push(
                    ") page JOIN conversations v ON v.id = page.id
                     JOIN contacts c ON c.id = v.contact_id
                     ORDER BY v.activity_at DESC, v.id DESC",
                );
        }
        (text, ContactScope::All) => {
            // The walk reads keys and the copies of the contact's words from the index alone;
            // only the page is then joined.
            sql.push(" FROM (SELECT v.id FROM conversations v WHERE true");
            push_channel(&mut sql, query.channel);
            if let Some(text) = text {
                sql.push(" AND ");
                push_text_test(&mut sql, text, "v.search_name", "v.phone_digits");
            }
            push_after(&mut sql, query.after, "v.activity_at", "v.id");
            sql.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1)
                .push(
                    ") page JOIN conversations v ON v.id = page.id
                     JOIN contacts c ON c.id = v.contact_id
                     ORDER BY v.activity_at DESC, v.id DESC",
                );
        }
    }
    // Planned for these values every time: a plan kept for the statement would be one made
    // without them.
    let rows = sql
        .build()
        .persistent(false)
        .fetch_all(&mut *tx)
        .await
        .db()?;
    tx.commit().await.db()?;
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

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_range_ends_after_every_word_it_starts() {
        assert_eq!(prefix_end("mar").as_deref(), Some("mas"));
        assert_eq!(prefix_end("zo\u{ff}").as_deref(), Some("zo\u{100}"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end(&char::MAX.to_string()), None);
    }
}
