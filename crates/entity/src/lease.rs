//! The one lease mechanism, for every row that long work holds (a run by the instance
//! executing it; a sandbox by whoever creates, syncs, wakes or deletes it). A lease is an
//! owner and an expiry on the row: taking it is one conditional UPDATE that succeeds only
//! when no unexpired lease is held, renewing and releasing match the owner, and any
//! instance may take over (recover) the work of a row whose lease has expired. Because
//! every step is a single conditional statement, two instances can never both win.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value, sea_query::Expr,
    sea_query::IntoCondition,
};
use uuid::Uuid;

use crate::{config::Limits, now};

/// A table whose rows can be leased: which columns hold the id, owner and expiry.
pub trait Leased: EntityTrait {
    /// The primary key column.
    fn id_column() -> Self::Column;
    /// Who holds the lease (an instance id, or an instance id and a nonce).
    fn owner_column() -> Self::Column;
    /// When the lease ends unless renewed.
    fn until_column() -> Self::Column;
}

/// How long leases last and how often holders renew and recoverers look: one setting
/// (`lease_secs`) so every lease in the system keeps the same rhythm.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    /// How long a lease lasts unless renewed.
    pub length: chrono::Duration,
    /// How often a holder renews it (and recovery looks for expired ones): a third of a
    /// lease, so two renewals can be lost before it expires.
    pub every: Duration,
}

impl Term {
    /// The term set by `limits.lease_secs`.
    pub fn of(limits: &Limits) -> Self {
        Self::from_secs(limits.lease_secs)
    }

    /// A term of `secs` (at least 3, so a renewal comes at least every second).
    fn from_secs(secs: u64) -> Self {
        let secs = secs.max(3);
        Self { length: chrono::Duration::seconds(secs as i64), every: Duration::from_secs(secs / 3) }
    }

    /// The expiry of a lease taken or renewed now.
    pub fn until(&self) -> chrono::DateTime<chrono::Utc> {
        now() + self.length
    }
}

/// Rows whose lease has expired (or that never had one) at `at`.
pub fn expired<E: Leased>(at: chrono::DateTime<chrono::Utc>) -> Condition {
    Condition::any().add(E::until_column().is_null()).add(E::until_column().lt(at))
}

/// Takes the lease of row `id` for `owner` until `until`, setting `also` in the same
/// statement, when `when` holds and no unexpired lease is held. True when taken.
pub async fn take<E: Leased>(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    until: chrono::DateTime<chrono::Utc>,
    also: Vec<(E::Column, Value)>,
    when: impl IntoCondition,
) -> Result<bool, DbErr> {
    let mut update = E::update_many()
        .col_expr(E::owner_column(), Expr::value(owner))
        .col_expr(E::until_column(), Expr::value(until));
    for (col, value) in also {
        update = update.col_expr(col, Expr::value(value));
    }
    let taken =
        update.filter(E::id_column().eq(id)).filter(expired::<E>(now())).filter(when.into_condition()).exec(db).await?;
    Ok(taken.rows_affected > 0)
}

/// Extends `owner`'s lease of row `id` to `until`, when `when` still holds. False when the
/// lease is no longer `owner`'s (the work was ended or taken over elsewhere).
pub async fn renew<E: Leased>(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    until: chrono::DateTime<chrono::Utc>,
    when: impl IntoCondition,
) -> Result<bool, DbErr> {
    let renewed = E::update_many()
        .col_expr(E::until_column(), Expr::value(until))
        .filter(E::id_column().eq(id))
        .filter(E::owner_column().eq(owner))
        .filter(when.into_condition())
        .exec(db)
        .await?;
    Ok(renewed.rows_affected > 0)
}

/// Gives `owner`'s lease of row `id` back, clearing `also` (set to NULL) with it.
pub async fn release<E: Leased>(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    also: &[E::Column],
) -> Result<(), DbErr> {
    let null = Value::String(None);
    let mut update = E::update_many()
        .col_expr(E::owner_column(), Expr::value(null.clone()))
        .col_expr(E::until_column(), Expr::value(Value::ChronoDateTimeUtc(None)));
    for col in also {
        update = update.col_expr(*col, Expr::value(null.clone()));
    }
    update.filter(E::id_column().eq(id)).filter(E::owner_column().eq(owner)).exec(db).await?;
    Ok(())
}

impl Leased for crate::sandbox::Entity {
    fn id_column() -> Self::Column {
        crate::sandbox::Column::Id
    }
    fn owner_column() -> Self::Column {
        crate::sandbox::Column::LeaseOwner
    }
    fn until_column() -> Self::Column {
        crate::sandbox::Column::LeaseUntil
    }
}

impl Leased for crate::agent_run::Entity {
    fn id_column() -> Self::Column {
        crate::agent_run::Column::Id
    }
    fn owner_column() -> Self::Column {
        crate::agent_run::Column::RunnerId
    }
    fn until_column() -> Self::Column {
        crate::agent_run::Column::LeaseUntil
    }
}

impl Leased for crate::account_erasure::Entity {
    fn id_column() -> Self::Column {
        crate::account_erasure::Column::Id
    }
    fn owner_column() -> Self::Column {
        crate::account_erasure::Column::LeaseOwner
    }
    fn until_column() -> Self::Column {
        crate::account_erasure::Column::LeaseUntil
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_renews_three_times_per_lease() {
        let term = Term::from_secs(15);
        assert_eq!(term.length, chrono::Duration::seconds(15));
        assert_eq!(term.every, Duration::from_secs(5));
        assert_eq!(Term::from_secs(1).every, Duration::from_secs(1), "never renews in a busy loop");
    }
}
