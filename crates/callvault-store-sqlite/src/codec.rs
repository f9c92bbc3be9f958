//! How portable values are kept in SQLite columns: ids as text, times as Unix milliseconds.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use callvault_store::{Conflict, Missing, StoreError, StoreResult};

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

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn opt_ms(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(ms)
}

pub(crate) fn from_ms(v: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .map_err(|_| StoreError::corrupt(format!("time out of range: {v}")))
}

/// Typed access to a row's columns with errors that name the column.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(self.int(col)? != 0)
    }
    fn time(&self, col: &str) -> StoreResult<OffsetDateTime> {
        from_ms(self.int(col)?)
    }
    fn opt_time(&self, col: &str) -> StoreResult<Option<OffsetDateTime>> {
        self.opt_int(col)?.map(from_ms).transpose()
    }
    fn parsed<T: FromStr>(&self, col: &str) -> StoreResult<T> {
        let raw = self.text(col)?;
        raw.parse()
            .map_err(|_| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
    }
    fn opt_parsed<T: FromStr>(&self, col: &str) -> StoreResult<Option<T>> {
        self.opt_text(col)?
            .map(|raw| {
                raw.parse()
                    .map_err(|_| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
            })
            .transpose()
    }
    fn unsigned<T: TryFrom<i64>>(&self, col: &str) -> StoreResult<T> {
        let v = self.int(col)?;
        T::try_from(v).map_err(|_| StoreError::corrupt(format!("bad number in {col}: {v}")))
    }
}

impl RowExt for SqliteRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.try_get(col).db()
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.try_get(col).db()
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.try_get(col).db()
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.try_get(col).db()
    }
}

/// Parses an enum stored by its `as_str` spelling.
pub(crate) fn enum_col<T>(
    row: &impl RowExt,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<T> {
    let raw = row.text(col)?;
    parse(&raw).ok_or_else(|| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
}

/// Like [`enum_col`] for a column that may be NULL.
pub(crate) fn opt_enum_col<T>(
    row: &SqliteRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<Option<T>> {
    row.opt_text(col)?
        .map(|raw| {
            parse(&raw).ok_or_else(|| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
        })
        .transpose()
}

pub(crate) fn flag(v: bool) -> i64 {
    i64::from(v)
}

/// A list of strings as a JSON array, for `IN (SELECT value FROM json_each(?))`.
pub(crate) fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    serde_json::to_string(&items.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned())
}

/// Maps a foreign-key violation to "the input names a `what` that does not exist".
pub(crate) fn missing_on_fk(e: sqlx::Error, what: Missing) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Missing(what),
        _ => StoreError::backend(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let t = datetime!(2026-05-04 03:02:01.123 UTC);
        assert_eq!(from_ms(ms(t)).ok(), Some(t));
    }
}
