//! The unique constraints the code maps errors by exist under their names in the schema
//! the migrations make, on both databases (a renamed index would otherwise turn a clear
//! CONFLICT into an internal error without any other test noticing).

use sandboxql_entity::constraints;
use sandboxql_testkit::DbKind;
use sea_orm::{ConnectionTrait, Statement};

use crate::{both_dbs, harness::Harness};

async fn named(kind: DbKind) {
    let h = Harness::new(kind).await;
    let backend = h.db.get_database_backend();
    let sql = match kind {
        DbKind::Postgres => "SELECT indexname AS name, tablename AS tbl, indexdef AS def FROM pg_indexes",
        DbKind::Sqlite => "SELECT name, tbl_name AS tbl, sql AS def FROM sqlite_master WHERE type = 'index'",
    };
    let rows = h.db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    for want in constraints::ALL {
        let row = rows
            .iter()
            .find(|r| r.try_get::<String>("", "name").is_ok_and(|n| n == want.name))
            .unwrap_or_else(|| panic!("no index named {}", want.name));
        assert_eq!(row.try_get::<String>("", "tbl").unwrap(), want.table);
        let def = row.try_get::<String>("", "def").unwrap().to_lowercase();
        assert!(def.contains("unique"), "{} is unique: {def}", want.name);
        for col in want.columns {
            assert!(def.contains(col), "{} covers {col}: {def}", want.name);
        }
    }
}
both_dbs!(every_constraint_the_code_names_is_in_the_schema, named);
