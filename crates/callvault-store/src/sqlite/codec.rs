//! How portable values are kept in SQLite columns: ids as text, times as Unix milliseconds.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::{StoreError, StoreResult};

pub(super) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn opt_ms(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(ms)
}

pub(super) fn from_ms(v: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .map_err(|_| StoreError::corrupt(format!("time out of range: {v}")))
}

/// Typed access to a row's columns with errors that name the column.
pub(super) trait RowExt {
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
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(col)?)
    }
}

/// Parses an enum stored by its `as_str` spelling.
pub(super) fn enum_col<T>(
    row: &SqliteRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<T> {
    let raw = row.text(col)?;
    parse(&raw).ok_or_else(|| StoreError::corrupt(format!("bad value in {col}: {raw:?}")))
}

/// Like [`enum_col`] for a column that may be NULL.
pub(super) fn opt_enum_col<T>(
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

pub(super) fn flag(v: bool) -> i64 {
    i64::from(v)
}

/// A list of strings as a JSON array, for `IN (SELECT value FROM json_each(?))`.
pub(super) fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    serde_json::to_string(&items.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned())
}

/// The user a scope limits a list to, as bound in `(? IS NULL OR <assigned to ?>)`.
pub(super) fn scope_user(scope: callvault_core::permissions::ContactScope) -> Option<String> {
    match scope {
        callvault_core::permissions::ContactScope::All => None,
        callvault_core::permissions::ContactScope::AssignedTo(user) => Some(user.to_string()),
    }
}

/// The LIKE patterns for a name fragment and phone digits, as the inbox and contacts bind them.
pub(super) fn text_patterns(
    name: Option<&str>,
    digits: Option<&str>,
) -> (Option<String>, Option<String>) {
    (name.map(like_contains), digits.map(|d| format!("%{d}%")))
}

/// Maps a foreign-key violation to "the input names a `what` that does not exist".
pub(super) fn missing_on_fk(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference(what)
        }
        _ => StoreError::backend(e),
    }
}

/// Escapes LIKE wildcards so user text matches literally (used with `ESCAPE '\'`).
pub(super) fn like_contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
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

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
