//! The validation step of every operation, as a schema extension: async-graphql's rules
//! and its cost count run, then the cost is held against `limits.maxQueryCost` here, so
//! the refusal is ours (code, reason, message) rather than the library's English text.
//!
//! Validation walks the document with fragments expanded; it only ever sees documents
//! that [`shape`](super::shape) has bounded to `maxExpandedNodes`, so that walk is
//! bounded too. A big one (over [`OFF_RUNTIME_NODES`]) is validated with the runtime
//! told that this thread is busy (`block_in_place`), so other tasks move to a free thread
//! instead of waiting behind it.

use std::sync::Arc;

use async_graphql::{
    ServerError, ValidationResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
};

use super::shape::Shape;
use crate::error::{AppError, reasons};

/// Documents with more expanded nodes than this are validated off the runtime's queue.
/// Below it validation takes tens of microseconds (measured in `bench/documents`), less
/// than handing the thread over would.
pub const OFF_RUNTIME_NODES: u64 = 2_000;

/// Holds each operation's cost to the limit.
pub struct CostLimit {
    /// `limits.maxQueryCost`.
    pub max_cost: usize,
}

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostCheck { max_cost: self.max_cost })
    }
}

struct CostCheck {
    max_cost: usize,
}

fn too_costly(max: usize, cost: usize) -> Vec<ServerError> {
    let e = AppError::bad_input_because(
        reasons::QUERY_TOO_COSTLY,
        format!(
            "the request costs {cost}, more than `limits.maxQueryCost` ({max}) allows (a database query or backend \
             call costs 250, a KiB read 1, a list its page size times each item); ask for fewer items, fewer bytes \
             or fewer fields per request"
        ),
    );
    let mut err = ServerError::new(e.public_message(), None);
    err.source = Some(Arc::new(e));
    vec![err]
}

#[async_trait::async_trait]
impl Extension for CostCheck {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let big = ctx.data_opt::<Shape>().is_some_and(|s| s.nodes > OFF_RUNTIME_NODES);
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let result = if big && multi_thread {
            tokio::task::block_in_place(|| futures::executor::block_on(next.run(ctx)))
        } else {
            next.run(ctx).await
        }?;
        if result.complexity > self.max_cost {
            return Err(too_costly(self.max_cost, result.complexity));
        }
        Ok(result)
    }
}
