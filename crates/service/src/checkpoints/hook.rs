//! The turn hook runs call: a checkpoint at every turn's end (`--checkpoint-turns`), taken
//! as the run's owner so it is scoped like any of their requests.

use async_trait::async_trait;

use super::{Checkpoints, Point};
use crate::{
    auth::Viewer,
    entity::enums::Role,
    run::turns::{TurnEnd, TurnHook},
    sandboxes,
};

/// Checkpoints at turn ends.
pub struct CheckpointHook(pub Checkpoints);

#[async_trait]
impl TurnHook for CheckpointHook {
    async fn turn_ended(&self, end: TurnEnd) {
        let owner = Viewer { account_id: end.account_id, organization_id: None, role: Role::User, read_only: false };
        let sb = match sandboxes::require(&self.0.db, &owner, end.sandbox_id).await {
            Ok(sb) => sb,
            Err(e) => return tracing::warn!(run_id = %end.run_id, error = ?e.log_detail(), "no checkpoint: sandbox"),
        };
        let point = Point {
            run_id: Some(end.run_id),
            turn: Some(end.turn),
            session_id: end.session_id,
            resume_at: end.resume_at,
        };
        if let Err(e) = self.0.take(&sb, point).await {
            tracing::warn!(run_id = %end.run_id, turn = end.turn, error = ?e.log_detail(), "a turn's checkpoint failed");
        }
    }
}
