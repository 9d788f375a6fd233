//! What the workspace's test suites share (a dev-dependency only): a fresh database per
//! test, SQLite or the machine's Postgres, and [`both_dbs!`] to run a scenario on each.

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// Embedded default.
    Sqlite,
    /// The machine's PostgreSQL.
    Postgres,
}

/// Runs a scenario once on SQLite and once on Postgres, as `name::sqlite` / `name::postgres`.
#[macro_export]
macro_rules! both_dbs {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::DbKind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::DbKind::Postgres).await
            }
        }
    };
}

/// Base URL of the test Postgres server (database `test` is the admin connection).
pub fn pg_base() -> String {
    std::env::var("SANDBOXQL_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a new, empty Postgres database and returns its URL. Databases of test
/// processes that no longer exist are dropped first, so runs do not accumulate them.
pub async fn fresh_postgres() -> String {
    let admin = Database::connect(format!("{}/test", pg_base())).await.expect("connect to Postgres (is it running?)");
    drop_stale(&admin).await;
    let name = format!("sbqt_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("drop");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
    format!("{}/{name}", pg_base())
}

/// A database URL for `kind`: a new Postgres database, or a SQLite file in `dir`.
pub async fn fresh_url(kind: DbKind, dir: &std::path::Path) -> String {
    match kind {
        DbKind::Postgres => fresh_postgres().await,
        DbKind::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
    }
}

async fn drop_stale(admin: &sea_orm::DatabaseConnection) {
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'sbqt_%'",
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let pid: Option<u32> = name.split('_').nth(1).and_then(|p| p.parse().ok());
        if let Some(pid) = pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}
