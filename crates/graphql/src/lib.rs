#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! The GraphQL schema: resolvers translate between the wire and the services, nothing more.
//!
//! The root resolvers and the schema they make. Their own crate so that a change to a
//! resolver recompiles them alone: the object types are in `sandboxql-objects`, document
//! admission in `sandboxql-gql`, and the HTTP surface above reaches the schema through the
//! `Engine` of `sandboxql-gql`, which [`executor::SchemaEngine`] implements.

// The layers below, under the names the code uses.
pub(crate) use sandboxql_backend as backend;
pub(crate) use sandboxql_core::{error, metrics};
pub(crate) use sandboxql_entity as entity;
pub(crate) use sandboxql_service::{self as service, auth};

pub use sandboxql_gql::{documents, persisted, shape, validation};
pub use sandboxql_objects::{context, cost, loaders, types};

mod admin_api;
mod checkpoint_api;
mod credential_api;
pub mod executor;
mod file_api;
mod git_api;
mod node_api;
mod preview_api;
mod process_api;
mod run_api;
mod sandbox_api;
mod storage_api;
mod terminal_api;
mod webhook_api;
mod workspace_api;

use async_graphql::{MergedObject, MergedSubscription, Schema, dataloader::DataLoader};

use crate::service::Services;

/// All queries.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    sandbox_api::SandboxQuery,
    run_api::RunQuery,
    admin_api::AdminQuery,
    node_api::NodeQuery,
    process_api::ProcessQuery,
    credential_api::CredentialQuery,
    webhook_api::WebhookQuery,
    checkpoint_api::CheckpointQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    sandbox_api::SandboxMutation,
    run_api::RunMutation,
    file_api::FileMutation,
    admin_api::AdminMutation,
    process_api::ProcessMutation,
    terminal_api::TerminalMutation,
    preview_api::PreviewMutation,
    credential_api::CredentialMutation,
    git_api::GitMutation,
    webhook_api::WebhookMutation,
    checkpoint_api::CheckpointMutation,
    storage_api::StorageMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(
    run_api::RunSubscription,
    workspace_api::WorkspaceSubscription,
    process_api::ProcessSubscription,
);

/// The schema type every handler and test uses.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with the services, the authenticator (whose remembered answers the
/// admin API drops after a revocation), the query limits, and introspection on or off.
pub fn build_schema(
    services: Services,
    auth: std::sync::Arc<crate::auth::Authenticator>,
    introspection: bool,
) -> AppSchema {
    let limits = services.limits.clone();
    let builder = builder();
    let builder = if introspection { builder } else { builder.disable_introspection() };
    builder
        .data(DataLoader::new(loaders::ActiveRunLoader(services.runs.clone()), tokio::spawn))
        .data(DataLoader::new(loaders::GitMarksLoader(services.git.clone()), tokio::spawn))
        .data(services)
        .data(auth)
        // Depth and size are bounded before validation (documents.rs); the cost is
        // counted by validation and held to the limit by this extension.
        .extension(validation::CostLimit { max_cost: limits.max_query_cost })
        .limit_recursive_depth(limits.max_recursive_depth)
        .finish()
}

/// The schema's roots and the types reachable only as interfaces (`RunEvent`, which no
/// field returns but every `ClaudeEvent` member implements).
fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .register_output_type::<types::run_event::RunEvent>()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
