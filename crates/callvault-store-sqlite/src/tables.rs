//! Whole tables in portable values (see `callvault_store::copy`): how an installation leaves
//! SQLite for another backend, and how benchmark data arrives in bulk.

use async_trait::async_trait;
use callvault_store::copy::{Import, Kind, Row, Table, Tables, Value};
use callvault_store::{StoreError, StoreResult};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{AssertSqlSafe, QueryBuilder, Row as _};

use crate::SqliteStore;
use crate::codec::{Db, from_ms, ms};
use crate::steps::Tx;

/// SQLite allows this many bound values in one statement (and more); a batch stays below it.
const MAX_BINDS: usize = 30_000;

fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_value(row: &SqliteRow, i: usize, kind: Kind) -> StoreResult<Value> {
    let corrupt = |what: &str| StoreError::corrupt(format!("column {i}: {what}"));
    Ok(match kind {
        Kind::Uuid => match row.try_get::<Option<String>, _>(i).db()? {
            None => Value::Null,
            Some(s) => Value::Uuid(s.parse().map_err(|_| corrupt("not a UUID"))?),
        },
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
            .try_get::<Option<i64>, _>(i)
            .db()?
            .map_or(Value::Null, |v| Value::Bool(v != 0)),
        Kind::Time => match row.try_get::<Option<i64>, _>(i).db()? {
            None => Value::Null,
            Some(v) => Value::Time(from_ms(v)?),
        },
    })
}

fn bind(sql: &mut QueryBuilder<Sqlite>, value: &Value) {
    match value {
        Value::Null => sql.push_bind(None::<String>),
        Value::Uuid(u) => sql.push_bind(u.to_string()),
        Value::Text(s) | Value::Json(s) => sql.push_bind(s.clone()),
        Value::Int(i) => sql.push_bind(*i),
        Value::Real(f) => sql.push_bind(*f),
        Value::Bool(b) => sql.push_bind(i64::from(*b)),
        Value::Time(t) => sql.push_bind(ms(*t)),
    };
}

#[async_trait]
impl Tables for SqliteStore {
    async fn count_rows(&self, table: &'static Table) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            table.name
        )))
        .fetch_one(&self.reader)
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
        // Table and column names come from the static list, never from input.
        let mut sql: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("SELECT {} FROM {}", column_list(table), table.name));
        if let Some(after) = &after {
            sql.push(format!(" WHERE ({}) > (", table.key.join(", ")));
            for (i, v) in after.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                bind(&mut sql, v);
            }
            sql.push(")");
        }
        sql.push(format!(" ORDER BY {} LIMIT ", table.key.join(", ")))
            .push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(&self.reader).await.db()?;
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
        Ok(Box::new(SqliteImport {
            tx: self.write().await?,
        }))
    }

    async fn analyze(&self) -> StoreResult<()> {
        // A sample per index is enough for the planner, and keeps this quick on big tables.
        sqlx::raw_sql("PRAGMA analysis_limit = 1000; ANALYZE;")
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }
}

struct SqliteImport {
    tx: Tx,
}

#[async_trait]
impl Import for SqliteImport {
    async fn write_rows(&mut self, table: &'static Table, rows: Vec<Row>) -> StoreResult<()> {
        let per_batch = (MAX_BINDS / table.columns.len()).max(1);
        for batch in rows.chunks(per_batch) {
            let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "INSERT INTO {} ({}) ",
                table.name,
                column_list(table)
            ));
            sql.push_values(batch, |mut b, row| {
                for value in row {
                    match value {
                        Value::Null => b.push_bind(None::<String>),
                        Value::Uuid(u) => b.push_bind(u.to_string()),
                        Value::Text(s) | Value::Json(s) => b.push_bind(s.clone()),
                        Value::Int(i) => b.push_bind(*i),
                        Value::Real(f) => b.push_bind(*f),
                        Value::Bool(v) => b.push_bind(i64::from(*v)),
                        Value::Time(t) => b.push_bind(ms(*t)),
                    };
                }
            });
            sql.build().execute(&mut *self.tx).await.db()?;
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

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.db()
    }
}
