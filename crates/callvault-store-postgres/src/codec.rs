//! How portable values meet PostgreSQL's: ids are `uuid`, times `timestamptz`, flags `boolean`.

use callvault_store::{Conflict, Missing, StoreError, StoreResult};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

/// `?` on a sqlx result, as a store error (the orphan rule forbids a `From` impl).
pub(crate) trait Db<T> {
    fn db(self) -> StoreResult<T>;
}

impl<T> Db<T> for Result<T, sqlx::Error> {
    fn db(self) -> StoreResult<T> {
        self.map_err(StoreError::backend)
    }
}

/// Maps a unique-constraint violation to a conflict, passing other errors through.
pub(crate) fn conflict_on_unique(e: sqlx::Error, conflict: Conflict) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(conflict),
        _ => StoreError::backend(e),
    }
}

/// Maps a foreign-key violation to "the input names a `what` that does not exist".
pub(crate) fn missing_on_fk(e: sqlx::Error, what: Missing) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Missing(what),
        _ => StoreError::backend(e),
    }
}

/// Typed access to a row's columns with errors that name the column.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn flag(&self, col: &str) -> StoreResult<bool>;
    fn time(&self, col: &str) -> StoreResult<OffsetDateTime>;
    fn opt_time(&self, col: &str) -> StoreResult<Option<OffsetDateTime>>;
    fn id<T: From<Uuid>>(&self, col: &str) -> StoreResult<T>;
    fn opt_id<T: From<Uuid>>(&self, col: &str) -> StoreResult<Option<T>>;
    fn unsigned<T: TryFrom<i64>>(&self, col: &str) -> StoreResult<T> {
        let v = self.int(col)?;
        T::try_from(v).map_err(|_| StoreError::corrupt(format!("bad number in {col}: {v}")))
    }
}

impl RowExt for PgRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.try_get(col).db()
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.try_get(col).db()
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        // Columns are bigint or integer; both read as i64.
        match self.try_get::<i64, _>(col) {
            Ok(v) => Ok(v),
            Err(_) => self.try_get::<i32, _>(col).map(i64::from).db(),
        }
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        self.try_get(col).db()
    }
    fn time(&self, col: &str) -> StoreResult<OffsetDateTime> {
        self.try_get(col).db()
    }
    fn opt_time(&self, col: &str) -> StoreResult<Option<OffsetDateTime>> {
        self.try_get(col).db()
    }
    fn id<T: From<Uuid>>(&self, col: &str) -> StoreResult<T> {
        self.try_get::<Uuid, _>(col).map(T::from).db()
    }
    fn opt_id<T: From<Uuid>>(&self, col: &str) -> StoreResult<Option<T>> {
        self.try_get::<Option<Uuid>, _>(col)
            .map(|v| v.map(T::from))
            .db()
    }
}

/// Parses an enum stored by its `as_str` spelling.
pub(crate) fn enum_col<T>(
    row: &PgRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<T> {
    let raw = row.text(col)?;
    parse(&raw).ok_or_else(|| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
}

/// Like [`enum_col`] for a column that may be NULL.
pub(crate) fn opt_enum_col<T>(
    row: &PgRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<Option<T>> {
    row.opt_text(col)?
        .map(|raw| {
            parse(&raw).ok_or_else(|| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
        })
        .transpose()
}

/// Counts and sizes are stored as bigint.
pub(crate) fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
