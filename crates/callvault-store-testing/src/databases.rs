//! Fresh stores for tests: each test gets a database of its own.

use std::sync::Arc;

use callvault_store::copy::Tables;
use callvault_store::{Backend, DatabaseOptions, Store, StoreResult};
use callvault_store_postgres::PostgresStore;
use callvault_store_sqlite::SqliteStore;

/// Names a PostgreSQL cluster the tests may create databases on (any database of it, say
/// `postgres://app@127.0.0.1:5433/postgres`). Without it the PostgreSQL tests are skipped.
pub const POSTGRES_URL_VAR: &str = "CALLVAULT_TEST_POSTGRES_URL";

/// A store on a database of its own, and where it is.
pub struct TestDatabase {
    pub store: Arc<dyn Store>,
    /// The same database's bulk path.
    pub tables: Arc<dyn Tables>,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Opens the backend a URL names.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(open_both(url).await?.0)
}

/// The store a URL names, and its bulk path.
async fn open_both(url: &str) -> StoreResult<(Arc<dyn Store>, Arc<dyn Tables>)> {
    let options = DatabaseOptions::default();
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => {
            let store = Arc::new(SqliteStore::open(url, &options).await?);
            (store.clone(), store)
        }
        Backend::Postgres => {
            let store = Arc::new(PostgresStore::open(url, &options).await?);
            (store.clone(), store)
        }
    })
}

/// A SQLite file in a temporary folder that lives as long as the value.
pub async fn fresh_sqlite() -> Option<TestDatabase> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let (store, tables) = open_both(&url).await.expect("SQLite store opens");
    Some(TestDatabase {
        store,
        tables,
        url,
        _dir: Some(dir),
    })
}

/// A new, empty database on the cluster [`POSTGRES_URL_VAR`] names, migrated; `None` (with a
/// note on stderr) when the variable is not set.
pub async fn fresh_postgres() -> Option<TestDatabase> {
    let Ok(cluster) = std::env::var(POSTGRES_URL_VAR) else {
        eprintln!("skipped: set {POSTGRES_URL_VAR} to run this on PostgreSQL");
        return None;
    };
    let url = create_database(&cluster).await;
    let (store, tables) = open_both(&url).await.expect("PostgreSQL store opens");
    Some(TestDatabase {
        store,
        tables,
        url,
        _dir: None,
    })
}

/// Creates an empty database on the cluster and returns its URL. Databases are left for the
/// cluster's teardown: the test command's cluster is thrown away whole.
pub async fn create_database(cluster: &str) -> String {
    use sqlx::Connection;
    let name = format!("cvtest_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(cluster)
        .await
        .expect("the test cluster answers");
    // The name is made here from a UUID, never from input.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("database created");
    let _ = admin.close().await;
    let mut url = url::Url::parse(cluster).expect("the cluster URL parses");
    url.set_path(&name);
    url.to_string()
}
