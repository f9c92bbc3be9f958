//! Whole tables in portable values (see `callvault_store::copy`): how an installation arrives
//! from SQLite (`callvault db copy`), and how benchmark data arrives in bulk. Rows are written
//! a column at a time through `UNNEST` of typed arrays, many rows per statement.

use async_trait::async_trait;
use callvault_store::copy::{Import, Kind, Row, Table, Tables, Value};
use callvault_store::{StoreError, StoreResult};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Row as _};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::Db;
use crate::steps::Tx;

/// Rows per statement.
const BATCH: usize = 5_000;

/// The SQL type an array of a column's values is bound as.
fn array_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Uuid => "uuid[]",
        Kind::Text | Kind::Json => "text[]",
        Kind::Int => "int8[]",
        Kind::Real => "float8[]",
        Kind::Bool => "bool[]",
        Kind::Time => "timestamptz[]",
    }
}

/// What a table's rows need beyond their columns as they arrive.
fn derived(table: &Table) -> Option<(&'static str, &'static str)> {
    match table.name {
        "transcript_segments" => Some(("search", "to_tsvector('simple', unaccent(u.text))")),
        _ => None,
    }
}

fn read_value(row: &PgRow, i: usize, kind: Kind) -> StoreResult<Value> {
    Ok(match kind {
        Kind::Uuid => row
            .try_get::<Option<Uuid>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Uuid),
        Kind::Text => row
            .try_get::<Option<String>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Text),
        Kind::Json => row
            .try_get::<Option<String>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Json),
        Kind::Int => row
            .try_get::<Option<i64>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Int),
        Kind::Real => row
            .try_get::<Option<f64>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Real),
        Kind::Bool => row
            .try_get::<Option<bool>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Bool),
        Kind::Time => row
            .try_get::<Option<OffsetDateTime>, _>(i)
            .db()?
            .map_or(Value::Null, Value::Time),
    })
}

/// Selects a column in a portable form: integers of every width as bigint, JSON as text.
fn select_expr(name: &str, kind: Kind) -> String {
    match kind {
        Kind::Int => format!("{name}::int8"),
        Kind::Json => format!("{name}::text"),
        Kind::Real => format!("{name}::float8"),
        _ => name.to_owned(),
    }
}

fn mismatch(table: &Table, column: &str, value: &Value) -> StoreError {
    StoreError::corrupt(format!("{}.{column} cannot hold {value:?}", table.name))
}

/// Binds one column of a batch as a typed array.
fn bind_column(
    sql: &mut QueryBuilder<Postgres>,
    table: &Table,
    col: usize,
    rows: &[Row],
) -> StoreResult<()> {
    let c = table.columns[col];
    macro_rules! array {
        ($variant:ident, $ty:ty, $conv:expr) => {{
            let mut values: Vec<Option<$ty>> = Vec::with_capacity(rows.len());
            for row in rows {
                values.push(match &row[col] {
                    Value::Null => None,
                    Value::$variant(v) => Some($conv(v)),
                    other => return Err(mismatch(table, c.name, other)),
                });
            }
            sql.push_bind(values);
        }};
    }
    match c.kind {
        Kind::Uuid => array!(Uuid, Uuid, |v: &Uuid| *v),
        Kind::Text => array!(Text, String, |v: &String| v.clone()),
        Kind::Json => array!(Json, String, |v: &String| v.clone()),
        Kind::Int => array!(Int, i64, |v: &i64| *v),
        Kind::Real => array!(Real, f64, |v: &f64| *v),
        Kind::Bool => array!(Bool, bool, |v: &bool| *v),
        Kind::Time => array!(Time, OffsetDateTime, |v: &OffsetDateTime| *v),
    }
    Ok(())
}

#[async_trait]
impl Tables for PostgresStore {
    async fn count_rows(&self, table: &'static Table) -> StoreResult<u64> {
        // Table names come from the static list, never from input.
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            table.name
        )))
        .fetch_one(&self.pool)
        .await
        .db()?;
        u64::try_from(n).map_err(|_| StoreError::corrupt("negative count"))
    }

    async fn read_rows(
        &self,
        table: &'static Table,
        after: Option<Vec<Value>>,
        limit: u32,
    ) -> StoreResult<Vec<Row>> {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| select_expr(c.name, c.kind))
            .collect();
        let mut sql: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {} FROM {}", columns.join(", "), table.name));
        if let Some(after) = after {
            sql.push(format!(" WHERE ({}) > (", table.key.join(", ")));
            for (i, v) in after.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                match v {
                    Value::Uuid(u) => sql.push_bind(u),
                    Value::Text(s) | Value::Json(s) => sql.push_bind(s),
                    Value::Int(n) => sql.push_bind(n),
                    other => return Err(StoreError::corrupt(format!("key value {other:?}"))),
                };
            }
            sql.push(")");
        }
        sql.push(format!(" ORDER BY {} LIMIT ", table.key.join(", ")))
            .push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(&self.pool).await.db()?;
        rows.iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| read_value(row, i, c.kind))
                    .collect()
            })
            .collect()
    }

    async fn import(&self) -> StoreResult<Box<dyn Import>> {
        Ok(Box::new(PostgresImport {
            tx: self.write().await?,
        }))
    }

    async fn analyze(&self) -> StoreResult<()> {
        // VACUUM too: index-only scans need the visibility map a bulk load leaves empty. It
        // may take longer than a statement is allowed, and cannot run in a transaction.
        let mut conn = self.pool.acquire().await.db()?;
        sqlx::query("SET statement_timeout = 0")
            .execute(&mut *conn)
            .await
            .db()?;
        let vacuumed = sqlx::query("VACUUM (ANALYZE)").execute(&mut *conn).await;
        sqlx::query("RESET statement_timeout")
            .execute(&mut *conn)
            .await
            .db()?;
        vacuumed.db()?;
        Ok(())
    }
}

struct PostgresImport {
    tx: Tx,
}

#[async_trait]
impl Import for PostgresImport {
    async fn write_rows(&mut self, table: &'static Table, rows: Vec<Row>) -> StoreResult<()> {
        let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let selects: Vec<String> = table
            .columns
            .iter()
            .map(|c| match c.kind {
                Kind::Json => format!("u.{}::jsonb", c.name),
                _ => format!("u.{}", c.name),
            })
            .collect();
        let (extra_col, extra_expr) = match derived(table) {
            Some((col, expr)) => (format!(", {col}"), format!(", {expr}")),
            None => (String::new(), String::new()),
        };
        for batch in rows.chunks(BATCH) {
            let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
                "INSERT INTO {} ({}{extra_col}) SELECT {}{extra_expr} FROM UNNEST(",
                table.name,
                names.join(", "),
                selects.join(", ")
            ));
            for (i, c) in table.columns.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                bind_column(&mut sql, table, i, batch)?;
                sql.push(format!("::{}", array_type(c.kind)));
            }
            sql.push(format!(") AS u({})", names.join(", ")));
            let query: sqlx::query::Query<'_, Postgres, PgArguments> = sql.build();
            query.execute(&mut *self.tx).await.db()?;
        }
        Ok(())
    }

    async fn count_rows(&mut self, table: &'static Table) -> StoreResult<u64> {
        // Table names come from the static list, never from input.
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            table.name
        )))
        .fetch_one(&mut *self.tx)
        .await
        .db()?;
        u64::try_from(n).map_err(|_| StoreError::corrupt("negative count"))
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        // Identity columns continue after the highest id copied in.
        for (table, column) in [
            ("number_recording_changes", "id"),
            ("transcript_segments", "id"),
        ] {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                               COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            )))
            .execute(&mut *self.tx)
            .await
            .db()?;
        }
        self.tx.commit().await.db()
    }
}
