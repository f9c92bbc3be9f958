//! The inbox list: one statement built for the filters a request has, so PostgreSQL's planner
//! can choose among the indexes (the inbox's order, the channel's, a user's own copy of the
//! inbox in `contact_assignments`, and GIN indexes for names and numbers); pages are keyset
//! seeks.

use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_store::{
    ContactRef, ConversationCursor, ConversationPage, ConversationQuery, ConversationSummary,
    MAX_PAGE, SearchText, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::codec::{Db, RowExt, opt_enum_col};
use crate::rows::e164;

/// Adds the text test on a table's `{name}` (folded words) and `{digits}` columns: every word
/// starts a word of the name, or the number contains the digits (see [`SearchText`]). Each
/// half is answered by a GIN index: the words as a `tsvector` of exactly the stored words
/// (`'elo':*` finds "elodie"), the digits by trigrams.
pub(crate) fn push_text_test(
    sql: &mut QueryBuilder<Postgres>,
    text: &SearchText,
    name: &str,
    digits: &str,
) {
    sql.push("(");
    let mut any = false;
    if !text.words().is_empty() {
        // Folded words hold only letters and digits: quoted, they are tsquery lexemes as typed.
        let query = text
            .words()
            .iter()
            .map(|w| format!("'{w}':*"))
            .collect::<Vec<_>>()
            .join(" & ");
        sql.push(format!(
            "array_to_tsvector(string_to_array({name}, ' ')) @@ "
        ))
        .push_bind(query)
        .push("::tsquery");
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
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(COLUMNS);
    let (at, id) = match query.scope {
        // Their own copy of the inbox, in order, from one index.
        ContactScope::AssignedTo(user) => {
            sql.push(
                " FROM contact_assignments a
                  JOIN conversations v ON v.id = a.conversation_id
                  JOIN contacts c ON c.id = v.contact_id
                  WHERE a.conversation_id IS NOT NULL AND a.user_id = ",
            )
            .push_bind(user.0);
            ("a.activity_at", "a.conversation_id")
        }
        ContactScope::All => {
            sql.push(" FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE true");
            ("v.activity_at", "v.id")
        }
    };
    if let Some(channel) = query.channel {
        sql.push(" AND v.last_message_channel = ")
            .push_bind(channel.as_str());
    }
    if let Some(text) = &query.text {
        sql.push(" AND ");
        push_text_test(&mut sql, text, "v.search_name", "v.phone_digits");
    }
    push_after(&mut sql, query.after, at, id);
    sql.push(format!(" ORDER BY {at} DESC, {id} DESC LIMIT "))
        .push_bind(i64::from(limit) + 1);
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
