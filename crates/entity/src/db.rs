//! Opening the database (SQLite or Postgres from one URL) and bringing its schema up to date.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::config::StoreConfig;

/// Connects with settings that suit a server: WAL and a busy timeout on SQLite so
/// concurrent writers wait instead of failing, bounded pool and timeouts everywhere.
pub async fn connect(store: &StoreConfig) -> anyhow::Result<DatabaseConnection> {
    let url = store.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&store.data_dir)
            .with_context(|| format!("creating data dir {}", store.data_dir.display()))?;
    }
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(store.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Deleted rows are overwritten, not only unlinked: an erased account's
                // data must not linger in the file's free pages.
                .pragma("secure_delete", "ON")
                // Checkpoints (and their fsync) run in a background task, not inside
                // whichever commit crosses the threshold — e.g. a live run's event insert.
                .pragma("wal_autocheckpoint", "0")
        });
    let db = Database::connect(opts).await.context("connecting to the database")?;
    Ok(db)
}

/// Key of the Postgres advisory lock that serialises migrations of instances starting
/// together ("sbqlmigr" in ASCII).
const MIGRATION_LOCK: i64 = 0x7362_716c_6d69_6772;

/// Applies every pending migration; run at start-up by the server and the admin commands.
/// On Postgres, instances starting together take turns (an advisory lock on one
/// dedicated connection), so two never apply the same migration at once.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if !is_postgres(db) {
        return Migrator::up(db, None).await.context("running migrations");
    }
    let pool = db.get_postgres_connection_pool();
    let one = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
        sea_orm::sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with((*pool.connect_options()).clone())
            .await
            .context("connecting for migrations")?,
    );
    let lock = |sql: &'static str| Statement::from_sql_and_values(DbBackend::Postgres, sql, [MIGRATION_LOCK.into()]);
    one.execute_raw(lock("SELECT pg_advisory_lock($1)")).await.context("taking the migration lock")?;
    let applied = Migrator::up(&one, None).await.context("running migrations");
    if let Err(e) = one.execute_raw(lock("SELECT pg_advisory_unlock($1)")).await {
        tracing::warn!(error = %e, "could not release the migration lock (it goes with the connection)");
    }
    let _ = one.close().await;
    applied
}

/// On SQLite, checkpoints the WAL every few seconds in the background (PASSIVE: it never
/// blocks readers or writers), instead of inside request-path commits.
pub fn spawn_wal_checkpointer(db: &DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    let db = db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
}

/// After an erasure, on SQLite, folds the WAL into the database and truncates it to
/// nothing, so the old page versions it held (with the erased rows) leave the disk; with
/// `secure_delete` the freed pages were already zeroed. Retries while readers hold it.
/// Postgres keeps dead rows until VACUUM; that is the operator's (docs/storage.md).
pub async fn scrub_freed(db: &DatabaseConnection) -> Result<bool, sea_orm::DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(true);
    }
    for _ in 0..SCRUB_TRIES {
        let row =
            db.query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)")).await?;
        let busy: i32 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(1);
        if busy == 0 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(false)
}

/// Attempts of [`scrub_freed`] before it leaves the WAL to the next erasure.
const SCRUB_TRIES: u32 = 25;

/// Cheap liveness probe for `/healthz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Whether this connection is Postgres (cross-instance features need it).
pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// A transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`,
/// waiting (busy timeout) for another writer, where a deferred transaction that read
/// first fails at once with SQLITE_BUSY when it tries to write beside another writer (a
/// lock upgrade SQLite refuses rather than deadlock). Postgres ignores the mode.
pub async fn write_txn(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await
}
