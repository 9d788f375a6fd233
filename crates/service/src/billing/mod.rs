//! What Claude costs and who pays: the price table, the gateway's meter that charges each
//! response, the per-account budgets that stop runs, and the usage the API reports.

pub mod budgets;
pub mod meter;
pub mod pricing;
pub mod usage;
