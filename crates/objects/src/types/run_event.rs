//! `RunEvent`: the interface every member of the `ClaudeEvent` union implements, so a
//! client reads `runId`, `seq` and `at` of any event with one fragment
//! (`... on RunEvent { seq }`) instead of one per member.

use async_graphql::{ID, Interface};
use chrono::{DateTime, Utc};

use super::{event, interaction_event as interaction, stream_event as stream};

/// Gives each event type the accessors the `RunEvent` interface resolves through (its
/// `meta` is flattened into the object, so the fields exist but not as methods).
macro_rules! run_event_meta {
    ($($ty:ty),* $(,)?) => {$(
        impl $ty {
            pub(crate) async fn event_run_id(&self, _: &async_graphql::Context<'_>) -> async_graphql::Result<&async_graphql::ID> {
                Ok(&self.meta.run_id)
            }
            pub(crate) async fn event_seq(&self, _: &async_graphql::Context<'_>) -> async_graphql::Result<&i64> {
                Ok(&self.meta.seq)
            }
            pub(crate) async fn event_at(
                &self,
                _: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<&chrono::DateTime<chrono::Utc>> {
                Ok(&self.meta.at)
            }
        }
    )*};
}
pub(crate) use run_event_meta;

/// What every event of a run has: which run, its position, when it was stored.
#[derive(Interface)]
#[graphql(
    field(name = "runId", ty = "&ID", method = "event_run_id", desc = "The run."),
    field(
        name = "seq",
        ty = "&i64",
        method = "event_seq",
        desc = "Position in the run, from 1; pass the last one seen as `afterSeq` to resume."
    ),
    field(name = "at", ty = "&DateTime<Utc>", method = "event_at", desc = "When it was stored.")
)]
pub enum RunEvent {
    /// Session start.
    SessionStarted(event::SessionStarted),
    /// Assistant text.
    AssistantText(event::AssistantText),
    /// Live text fragment.
    TextDelta(event::TextDelta),
    /// Reasoning.
    AssistantThinking(event::AssistantThinking),
    /// Tool call.
    ToolUse(event::ToolUse),
    /// Tool output.
    ToolResult(event::ToolResult),
    /// End of run.
    RunFinished(event::RunFinished),
    /// Anything else.
    RawEvent(event::RawEvent),
    /// Start of run.
    RunStarted(event::RunStarted),
    /// A message began.
    MessageStarted(stream::MessageStarted),
    /// A content block began.
    ContentBlockStarted(stream::ContentBlockStarted),
    /// Live tool-input fragment.
    ToolInputDelta(stream::ToolInputDelta),
    /// Live reasoning fragment.
    ThinkingDelta(stream::ThinkingDelta),
    /// A content block ended.
    ContentBlockStopped(stream::ContentBlockStopped),
    /// Stop reason and usage.
    MessageDelta(stream::MessageDelta),
    /// A message ended.
    MessageStopped(stream::MessageStopped),
    /// Claude Code's status.
    StatusChanged(stream::StatusChanged),
    /// An API request retried.
    ApiRetry(stream::ApiRetry),
    /// A follow-up message entered the conversation.
    UserMessage(interaction::UserMessage),
    /// Claude asks permission for a tool call.
    PermissionRequested(interaction::PermissionRequested),
    /// A permission request was decided.
    PermissionAnswered(interaction::PermissionAnswered),
    /// One turn ended.
    TurnFinished(interaction::TurnFinished),
}
