//! The reads every request makes (who is asking; what the player's next byte range needs),
//! answered on the calling thread from a read-only connection of our own. sqlx runs each
//! SQLite statement on its connection's own thread and sends the rows back: the thread
//! switches cost more than the read (two thirds of the CPU of serving a 64 KiB range). These
//! are single-row reads by key in WAL mode, which never wait for a writer and take
//! microseconds from the page cache: fine on an async thread.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use callvault_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row};

use crate::codec::RowExt;

/// How long a read waits when SQLite says the database is busy (only while it recovers a
/// write-ahead log after a crash: readers never wait for writers in WAL mode). Short, as the
/// caller's thread waits too.
const BUSY_WAIT: Duration = Duration::from_millis(250);

/// Idle connections kept; more are opened when needed and closed after.
const KEPT: usize = 8;

pub(crate) struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl PointReads {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The row `sql` finds, decoded by `decode`, or `None`.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        params: impl Params,
        decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let conn = self.take()?;
        let found = conn
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params, |row| Ok(decode(row)))
                    .optional()
            })
            .map_err(StoreError::backend);
        self.give_back(conn);
        found?.transpose()
    }

    fn take(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::backend)?;
        conn.busy_timeout(BUSY_WAIT).map_err(StoreError::backend)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < KEPT {
            idle.push(conn);
        }
    }
}

impl RowExt for Row<'_> {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.get(col).map_err(StoreError::backend)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col).map_err(StoreError::backend)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.get(col).map_err(StoreError::backend)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.get(col).map_err(StoreError::backend)
    }
}
