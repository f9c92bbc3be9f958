//! The inbox list, one statement built for the filters a request has:
//!
//! - no search: a walk down the inbox in order (`conversations_activity`, or
//!   `conversations_channel` for a channel, or, for a user who sees only their contacts, their
//!   own copy of it, `contact_assignments_inbox`), a keyset seek for later pages;
//! - a search that few contacts match: those entries, from the indexes (one word: its range of
//!   the word table; several: the trigram index on the inbox's copy of the names; digits: the
//!   one on its copy of the numbers), sorted;
//! - a search that many match: the same walk as without one, testing each entry's copy of its
//!   contact's words, which soon fills a page.
//!
//! Which of the last two is chosen by `SearchText::plan`, from one word's count in the word
//! table or a sample of the walk: the planner's own estimates for word prefixes and digit
//! fragments are too rough to trust with a choice between a millisecond and a second. The
//! plan is then pinned for the statement.

use callvault_core::UserId;
use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_store::{
    ContactRef, ConversationCursor, ConversationPage, ConversationQuery, ConversationSummary,
    MAX_PAGE, PlanProbe, Sample, SearchPlan, SearchText, StatusFilter, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::codec::{Db, RowExt, opt_enum_col};
use crate::planning::{estimated_rows, fetch_planned, pin_plan};
use crate::rows::e164;

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

/// Chooses how to answer a search (see `SearchText::plan`), asking the word table and, if
/// need be, a sample of the walk `scope` would take.
pub(crate) async fn plan(
    conn: &mut PgConnection,
    text: &SearchText,
    scope: ContactScope,
) -> StoreResult<SearchPlan> {
    text.choose_plan(&mut Probe { conn, text, scope }).await
}

struct Probe<'a> {
    conn: &'a mut PgConnection,
    text: &'a SearchText,
    scope: ContactScope,
}

#[async_trait::async_trait]
impl PlanProbe for Probe<'_> {
    async fn count_word(&mut self, word: &str) -> StoreResult<u64> {
        let mut sql: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM contact_words WHERE ");
        push_word_range(&mut sql, word);
        sql.push(" LIMIT ")
            .push_bind(i64::try_from(SearchText::FEW_MATCHES + 1).unwrap_or(i64::MAX))
            .push(") s");
        let n: i64 = sql
            .build_query_scalar()
            .persistent(false)
            .fetch_one(&mut *self.conn)
            .await
            .db()?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn sample(&mut self) -> StoreResult<Sample> {
        take_sample(self.conn, self.text, self.scope).await
    }
}

/// Tests the first entries of the walk `scope` would take (from the index alone).
async fn take_sample(
    conn: &mut PgConnection,
    text: &SearchText,
    scope: ContactScope,
) -> StoreResult<Sample> {
    let rows = i64::try_from(SearchText::SAMPLE_ROWS).unwrap_or(i64::MAX);
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT COUNT(*), COUNT(*) FILTER (WHERE ");
    push_text_test(&mut sql, text, "w.search_name", "w.phone_digits");
    let total: i64 = match scope {
        ContactScope::All => {
            sql.push(
                ") FROM (SELECT v.search_name, v.phone_digits FROM conversations v
                         ORDER BY v.activity_at DESC, v.id DESC LIMIT ",
            )
            .push_bind(rows)
            .push(") w");
            estimated_rows(conn, "conversations").await?
        }
        ContactScope::AssignedTo(user) => {
            sql.push(
                ") FROM (SELECT a.search_name, a.phone_digits FROM contact_assignments a
                         WHERE a.conversation_id IS NOT NULL AND a.user_id = ",
            )
            .push_bind(user.0)
            .push(" ORDER BY a.activity_at DESC, a.conversation_id DESC LIMIT ")
            .push_bind(rows)
            .push(") w");
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM contact_assignments
                                       WHERE user_id = $1 AND conversation_id IS NOT NULL
                                       LIMIT 100000) s",
            )
            .bind(user.0)
            .fetch_one(&mut *conn)
            .await
            .db()?
        }
    };
    let (tested, matched): (i64, i64) = sql
        .build_query_as()
        .persistent(false)
        .fetch_one(&mut *conn)
        .await
        .db()?;
    Ok(Sample {
        tested: u64::try_from(tested).unwrap_or(0),
        matched: u64::try_from(matched).unwrap_or(0),
        total: u64::try_from(total.max(tested)).unwrap_or(0),
    })
}

/// Adds a query for the ids (`contact_id`) of the contacts the indexes find for the text,
/// each once: for words, those with a word starting with each (each word's range of the word
/// table, intersected); for a whole number, its contact; for other digits, those whose number
/// holds them.
pub(crate) fn push_hits(sql: &mut QueryBuilder<Postgres>, text: &SearchText) {
    if let Some(number) = text.whole_number() {
        sql.push("SELECT id AS contact_id FROM contacts WHERE phone_e164 = ")
            .push_bind(number.as_str().to_owned());
        return;
    }
    if let (Some(digits), Some(tail)) = (text.digits(), text.indexed_digits()) {
        sql.push("SELECT id AS contact_id FROM contacts WHERE ");
        push_digits_lookup(sql, "phone_digits", digits, tail);
        return;
    }
    if text.words().is_empty() {
        sql.push("SELECT NULL::uuid AS contact_id WHERE false");
        return;
    }
    // Each contact once (a name may have two words that start alike): INTERSECT sees to it
    // for several words, DISTINCT for one.
    let distinct = if text.words().len() == 1 {
        "DISTINCT "
    } else {
        ""
    };
    for (i, word) in text.words().iter().enumerate() {
        if i > 0 {
            sql.push(" INTERSECT ");
        }
        sql.push(format!(
            "SELECT {distinct}contact_id FROM contact_words WHERE "
        ));
        push_word_range(sql, word);
    }
}

/// Adds a query for the inbox entries the indexes find for the text, each with the columns
/// the page is chosen by (`id`, `contact_id`, `activity_at`, `last_message_channel`):
/// digits from the trigram index on the inbox's copy of the numbers; several words from the
/// one on its copy of the names, which intersects their trigrams' lists; one word from its
/// range of the word table, and a whole number by its contact.
fn push_inbox_hits(sql: &mut QueryBuilder<Postgres>, text: &SearchText) {
    const HIT: &str = "SELECT v.id, v.contact_id, v.activity_at, v.last_message_channel";
    if let (None, Some(digits), Some(tail)) =
        (text.whole_number(), text.digits(), text.indexed_digits())
    {
        sql.push(format!("{HIT} FROM conversations v WHERE "));
        push_digits_lookup(sql, "v.phone_digits", digits, tail);
        return;
    }
    let words = text.words();
    if words.len() > 1 && words.iter().any(|w| has_trigram(w)) {
        sql.push(format!("{HIT} FROM conversations v WHERE true"));
        for word in words {
            if word.chars().count() >= 3 {
                // The index is asked for the word's own trigrams, which are far rarer than
                // those of a word's start ("  j", " jo"); where it starts is then tested on
                // each row found (a third faster for "jose garcia").
                sql.push(" AND (' ' || v.search_name) LIKE ")
                    .push_bind(format!("%{word}%"))
                    .push(" AND strpos(' ' || v.search_name, ")
                    .push_bind(format!(" {word}"))
                    .push(") > 0");
            } else {
                // Too short for a trigram of its own: its start's are all there is.
                sql.push(" AND (' ' || v.search_name) LIKE ")
                    .push_bind(format!("% {word}%"));
            }
        }
        return;
    }
    sql.push(format!("{HIT} FROM ("));
    push_hits(sql, text);
    sql.push(") h JOIN conversations v ON v.contact_id = h.contact_id");
}

/// Adds "`{column}` holds `digits`": its trigram index is asked for `tail`, the last digits
/// typed ([`SearchText::indexed_digits`]), and the whole is tested on each number found.
fn push_digits_lookup(sql: &mut QueryBuilder<Postgres>, column: &str, digits: &str, tail: &str) {
    sql.push(format!("{column} LIKE "))
        .push_bind(format!("%{tail}%"));
    if tail != digits {
        // Tested on each row found: `|| ''` keeps the planner from asking the index.
        sql.push(format!(" AND ({column} || '') LIKE "))
            .push_bind(format!("%{digits}%"));
    }
}

/// Adds `AND` "the contact in `{contact}` is assigned to `user`".
pub(crate) fn push_assigned(sql: &mut QueryBuilder<Postgres>, contact: &str, user: UserId) {
    sql.push(format!(
        " AND EXISTS (SELECT 1 FROM contact_assignments a
                      WHERE a.contact_id = {contact} AND a.user_id = "
    ))
    .push_bind(user.0)
    .push(")");
}

/// Whether the trigram index surely holds `word`'s trigrams: ASCII letters and digits are
/// word characters whatever the database's locale (others depend on its `LC_CTYPE`). Were
/// there none for every word, the index would be read whole.
fn has_trigram(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_alphanumeric())
}

/// Adds the text test on a row's `{name}` (folded words) and `{digits}` columns: every word
/// starts a word of the name, or the number contains the digits, or is them for a whole number
/// (see [`SearchText`]).
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
        if text.whole_number().is_some() {
            sql.push(format!("{digits} = ")).push_bind(d.to_owned());
        } else {
            sql.push(format!("{digits} LIKE "))
                .push_bind(format!("%{d}%"));
        }
        any = true;
    }
    if !any {
        sql.push("false");
    }
    sql.push(")");
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

/// The filters on what happened ("had a call like this", down `calls_conversation`; for dates
/// alone "had activity then", down `events_conversation`) and on what the user has seen, for
/// the conversation whose id is `id`.
fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &ConversationQuery, id: &str) {
    let filter = &query.activity;
    if !filter.is_empty() {
        let (table, at) = if filter.about_calls() {
            ("calls", "started_at")
        } else {
            ("events", "occurred_at")
        };
        sql.push(format!(
            " AND EXISTS (SELECT 1 FROM {table} f WHERE f.conversation_id = {id}"
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
            sql.push(" AND f.handled_by = ").push_bind(user.0);
        }
        if let Some(number) = filter.number {
            sql.push(" AND f.number_id = ").push_bind(number.0);
        }
        if let Some(since) = filter.since {
            sql.push(format!(" AND f.{at} >= ")).push_bind(since);
        }
        if let Some(until) = filter.until {
            sql.push(format!(" AND f.{at} < ")).push_bind(until);
        }
        sql.push(")");
    }
    if let Some(user) = query.unread_by {
        sql.push(format!(
            " AND EXISTS (SELECT 1 FROM conversations w WHERE w.id = {id}
                AND w.last_message_at IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM conversation_reads r WHERE r.conversation_id = w.id
                  AND r.read_at >= w.last_message_at AND r.user_id = "
        ))
        .push_bind(user.0)
        .push("))");
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
        // Read for the whole page at once (`conversations::latest_events`).
        last_event: None,
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
    let plan = match &query.text {
        Some(text) => plan(&mut tx, text, query.scope).await?,
        None => SearchPlan::Walk,
    };
    pin_plan(&mut tx, plan != SearchPlan::Walk).await?;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(COLUMNS);
    match (&query.text, plan, query.scope) {
        (Some(text), SearchPlan::FromIndexes, scope) => {
            // The hits are found first, once (a CTE kept as it is): left to itself the planner
            // may walk the inbox probing each one instead, seconds for a rare fragment. Only
            // the sorted page is joined to its contacts.
            sql.push(" FROM (WITH hits AS MATERIALIZED (");
            push_inbox_hits(&mut sql, text);
            sql.push(") SELECT v.id FROM hits v WHERE true");
            if let ContactScope::AssignedTo(user) = scope {
                push_assigned(&mut sql, "v.contact_id", user);
            }
            push_channel(&mut sql, query.channel);
            push_filters(&mut sql, &query, "v.id");
            push_after(&mut sql, query.after, "v.activity_at", "v.id");
            sql.push(" ORDER BY v.activity_at DESC, v.id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1)
                .push(
                    ") page JOIN conversations v ON v.id = page.id
                     JOIN contacts c ON c.id = v.contact_id
                     ORDER BY v.activity_at DESC, v.id DESC",
                );
        }
        (text, _, ContactScope::AssignedTo(user)) => {
            // Their copy of the inbox (with a channel: its own index), keys and words from the
            // index alone; only the page is then joined.
            sql.push(
                " FROM (SELECT a.conversation_id AS id FROM contact_assignments a
                  WHERE a.conversation_id IS NOT NULL AND a.user_id = ",
            )
            .push_bind(user.0);
            if let Some(channel) = query.channel {
                sql.push(" AND a.last_message_channel = ")
                    .push_bind(channel.as_str());
            }
            if let Some(text) = text {
                sql.push(" AND ");
                push_text_test(&mut sql, text, "a.search_name", "a.phone_digits");
            }
            push_filters(&mut sql, &query, "a.conversation_id");
            push_after(&mut sql, query.after, "a.activity_at", "a.conversation_id");
            sql.push(" ORDER BY a.activity_at DESC, a.conversation_id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1)
                .push(
                    ") page JOIN conversations v ON v.id = page.id
                     JOIN contacts c ON c.id = v.contact_id
                     ORDER BY v.activity_at DESC, v.id DESC",
                );
        }
        (text, _, ContactScope::All) => {
            // The walk reads keys and the copies of the contact's words from the index alone;
            // only the page is then joined.
            sql.push(" FROM (SELECT v.id FROM conversations v WHERE true");
            push_channel(&mut sql, query.channel);
            push_filters(&mut sql, &query, "v.id");
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
    let rows = fetch_planned(&mut sql, &mut tx).await?;
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
