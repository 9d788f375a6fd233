//! A fresh database per test: the workspace's shared test kit.

pub use sandboxql_testkit::{DbKind, fresh_postgres};
