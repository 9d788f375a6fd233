//! Service-level tests: the services called directly, without HTTP, each scenario on a
//! fresh SQLite and a fresh Postgres database (the sea-orm way: real databases, real
//! migrations, no mocks), for what the HTTP suite can only see from outside: leases and
//! recovery, quotas, budgets, the input queue, and every CONFLICT reason.

mod harness;

mod budgets;
mod constraints;
mod gates;
mod inputs;
mod leases;
mod quotas;
mod reasons;
mod recovery;

pub(crate) use sandboxql_testkit::both_dbs;
