//! Column shapes every table shares, so each table is declared the same way.

use sea_orm_migration::prelude::*;

/// `id` UUID primary key.
pub fn id() -> ColumnDef {
    ColumnDef::new(Alias::new("id")).uuid().not_null().primary_key().to_owned()
}

/// A required UUID column.
pub fn uuid(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).uuid().not_null().to_owned()
}

/// An optional UUID column.
pub fn uuid_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).uuid().null().to_owned()
}

/// A required text column.
pub fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().not_null().to_owned()
}

/// An optional text column.
pub fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

/// A required timestamp with time zone.
pub fn ts(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).timestamp_with_time_zone().not_null().to_owned()
}

/// An optional timestamp with time zone.
pub fn ts_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).timestamp_with_time_zone().null().to_owned()
}

/// A required 64-bit integer.
pub fn big(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).big_integer().not_null().to_owned()
}

/// An optional 64-bit integer.
pub fn big_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).big_integer().null().to_owned()
}

/// A required JSON document (jsonb on Postgres).
pub fn json(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).json_binary().not_null().to_owned()
}

/// An optional JSON document.
pub fn json_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).json_binary().null().to_owned()
}

/// A table with `id`, the given columns, `created_at`, `updated_at` and foreign keys `(column, target table)`.
pub fn table(name: &str, cols: Vec<ColumnDef>, fks: &[(&str, &str)]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(Alias::new(name)).if_not_exists().col(id());
    for c in cols {
        t.col(c);
    }
    t.col(ts("created_at")).col(ts("updated_at"));
    for (col, target) in fks {
        t.foreign_key(&mut fk(name, col, target));
    }
    t.to_owned()
}

/// A foreign key from `table.col` to `target.id`, cascading deletes.
pub fn fk(table: &str, col: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(Alias::new(table), Alias::new(col))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// An index over `cols` of `table`.
pub fn index(table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("ix_{table}_{}", cols.join("_"))).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}
