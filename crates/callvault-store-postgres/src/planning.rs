//! How the store's statements are planned: PostgreSQL's planner guesses how many rows a word
//! prefix, digit fragment or phrase finds, and its guesses are too rough to choose between a
//! millisecond and a second, so the store chooses (`SearchText::plan`) and pins the choice.

use callvault_store::StoreResult;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, QueryBuilder};

use crate::codec::Db;

/// Pins the plan for the rest of the transaction: from the indexes, or a walk in order.
pub(crate) async fn pin_plan(conn: &mut PgConnection, from_indexes: bool) -> StoreResult<()> {
    pin_plan_with(conn, from_indexes, None).await
}

/// [`pin_plan`], with `more` settings sent in the same round trip.
pub(crate) async fn pin_plan_with(
    conn: &mut PgConnection,
    from_indexes: bool,
    more: Option<&'static str>,
) -> StoreResult<()> {
    // From the indexes, each of the few hits is then looked up (a nested loop): with its rough
    // guess at how many a pattern finds, the planner may instead merge with a whole table
    // (half a second when "zoe nunez" was guessed at 12,000 contacts rather than 435).
    let settings = if from_indexes {
        "SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off;
         SET LOCAL enable_hashjoin = off"
    } else {
        "SET LOCAL enable_bitmapscan = off"
    };
    match more {
        Some(more) => {
            sqlx::raw_sql(AssertSqlSafe(format!("{settings}; {more}")))
                .execute(&mut *conn)
                .await
                .db()?;
        }
        None => {
            sqlx::raw_sql(settings).execute(&mut *conn).await.db()?;
        }
    }
    Ok(())
}

/// Runs a statement built for its values, planned for them every time: a plan kept for the
/// statement would be one made without them.
pub(crate) async fn fetch_planned(
    sql: &mut QueryBuilder<Postgres>,
    conn: &mut PgConnection,
) -> StoreResult<Vec<PgRow>> {
    sql.build().persistent(false).fetch_all(conn).await.db()
}

/// Rows in `table`: the planner's count, kept by ANALYZE; counted (up to a point) before the
/// first.
pub(crate) async fn estimated_rows(
    conn: &mut PgConnection,
    table: &'static str,
) -> StoreResult<i64> {
    let estimate: f32 =
        sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = $1::regclass")
            .bind(table)
            .fetch_one(&mut *conn)
            .await
            .db()?;
    if estimate >= 0.0 {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a row count far below i64::MAX"
        )]
        return Ok(estimate as i64);
    }
    // The name is one of ours, never input.
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 100000) s"
    )))
    .fetch_one(&mut *conn)
    .await
    .db()
}
