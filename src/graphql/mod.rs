//! The GraphQL schema: resolvers translate between the wire and the services, nothing more.

pub mod context;
pub mod errors;
mod sandbox_api;
pub mod types;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::{config::Limits, service::Services};

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(sandbox_api::SandboxQuery);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(sandbox_api::SandboxMutation);

/// All subscriptions.
pub type SubscriptionRoot = EmptySubscription;

/// The schema type every handler and test uses.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with its limits and error-code extension.
pub fn build_schema(services: Services, limits: &Limits) -> AppSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .data(services)
    .limit_depth(limits.max_query_depth)
    .limit_complexity(limits.max_query_complexity)
    .limit_recursive_depth(64)
    .extension(errors::ErrorCodesFactory)
    .finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}
