//! The unique constraints the code relies on, by name, and which of them a database
//! error violated. Services map a violation to a client error by the constraint's name,
//! so a new unique index never turns into a wrong message ("a run is already active" for
//! a clash on something else): an unknown violation stays an internal error.
//!
//! Postgres names the violated constraint in the error itself. SQLite does not: its
//! extended code 2067 (SQLITE_CONSTRAINT_UNIQUE) comes with the fixed-format detail
//! `UNIQUE constraint failed: <table>.<column>, …`, which this maps back to the named
//! index on exactly those columns.

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, sqlx};

/// A unique index the code depends on.
#[derive(Debug, PartialEq, Eq)]
pub struct Unique {
    /// Its name in the schema (the migrations create it under this name).
    pub name: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Its columns, in order.
    pub columns: &'static [&'static str],
}

/// At most one RUNNING run per sandbox (a partial index).
pub const ONE_RUNNING_RUN: Unique =
    Unique { name: "ux_agent_runs_one_running", table: "agent_runs", columns: &["sandbox_id"] };
/// An account's external id (the identity provider's subject) is unique.
pub const ACCOUNT_EXTERNAL_ID: Unique =
    Unique { name: "ix_accounts_external_id", table: "accounts", columns: &["external_id"] };
/// A run's events are numbered without gaps or repeats.
pub const EVENT_SEQ: Unique =
    Unique { name: "ix_agent_run_events_run_id_seq", table: "agent_run_events", columns: &["run_id", "seq"] };
/// A run's queued inputs are numbered without repeats.
pub const INPUT_SEQ: Unique =
    Unique { name: "ix_run_inputs_run_id_seq", table: "run_inputs", columns: &["run_id", "seq"] };
/// Claude's permission request ids are unique within a run.
pub const PERMISSION_REQUEST: Unique = Unique {
    name: "ix_permission_requests_run_id_request_id",
    table: "permission_requests",
    columns: &["run_id", "request_id"],
};
/// A blob is recorded once per account.
pub const BLOB: Unique =
    Unique { name: "ix_blobs_account_id_sha256", table: "blobs", columns: &["account_id", "sha256"] };

/// Every constraint above, for lookups and for the test that checks the schema has them.
pub const ALL: &[&Unique] =
    &[&ONE_RUNNING_RUN, &ACCOUNT_EXTERNAL_ID, &EVENT_SEQ, &INPUT_SEQ, &PERMISSION_REQUEST, &BLOB];

/// SQLite's extended result code for a unique violation.
const SQLITE_CONSTRAINT_UNIQUE: &str = "2067";
/// Postgres' SQLSTATE for a unique violation.
const PG_UNIQUE_VIOLATION: &str = "23505";

/// The known unique constraint `err` violated, if it is a unique violation of one.
pub fn unique_violated(err: &DbErr) -> Option<&'static Unique> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else { return None };
    let sqlx::Error::Database(db) = e.deref() else { return None };
    match db.code().as_deref() {
        Some(PG_UNIQUE_VIOLATION) => by_name(db.constraint()?),
        Some(SQLITE_CONSTRAINT_UNIQUE) => by_columns(db.message()),
        _ => None,
    }
}

fn by_name(name: &str) -> Option<&'static Unique> {
    ALL.iter().copied().find(|u| u.name == name)
}

/// Maps SQLite's `UNIQUE constraint failed: t.a, t.b` to the index on `t (a, b)`.
fn by_columns(message: &str) -> Option<&'static Unique> {
    let list = message.split_once("failed: ")?.1;
    let mut table = None;
    let mut columns = Vec::new();
    for qualified in list.split(", ") {
        let (t, c) = qualified.trim().split_once('.')?;
        if *table.get_or_insert(t) != t {
            return None;
        }
        columns.push(c);
    }
    let table = table?;
    ALL.iter().copied().find(|u| u.table == table && u.columns == columns.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_details_map_to_the_index_on_those_columns() {
        assert_eq!(by_columns("UNIQUE constraint failed: agent_runs.sandbox_id"), Some(&ONE_RUNNING_RUN));
        assert_eq!(
            by_columns("UNIQUE constraint failed: run_inputs.run_id, run_inputs.seq"),
            Some(&INPUT_SEQ),
            "several columns, in order"
        );
        assert_eq!(by_columns("UNIQUE constraint failed: run_inputs.seq, run_inputs.run_id"), None);
        assert_eq!(by_columns("UNIQUE constraint failed: sandboxes.name"), None, "not one the code knows");
        assert_eq!(by_columns("UNIQUE constraint failed: index 'x'"), None);
    }

    #[test]
    fn postgres_names_map_directly() {
        assert_eq!(by_name("ix_accounts_external_id"), Some(&ACCOUNT_EXTERNAL_ID));
        assert_eq!(by_name("ix_something_else"), None);
    }
}
