//! Runs another instance hands to this one because this instance holds the sandbox's
//! warm Claude: started here exactly as a request of this instance's own would be. The
//! services are built after the internal listener, so they are set here once they exist;
//! a run handed before that is refused as unavailable (the asking instance starts it).

use std::sync::{Arc, OnceLock};

use axum::{Json, extract::State, response::IntoResponse, response::Response};
use sandboxql_service::runs::{HandedRun, Runs};

use super::{InternalState, failed};
use crate::error::{AppError, reasons};

/// Where handed runs are started, once the services exist.
#[derive(Clone, Default)]
pub struct HandedRuns(Arc<OnceLock<Runs>>);

impl HandedRuns {
    /// Starts serving handed runs with `runs` (start-up, once).
    pub fn serve(&self, runs: Runs) {
        if self.0.set(runs).is_err() {
            tracing::warn!("the runs of the internal channel were set twice");
        }
    }
}

/// `POST /internal/v1/runs`.
pub(super) async fn start(State(s): State<InternalState>, Json(asked): Json<HandedRun>) -> Response {
    let Some(runs) = s.runs.0.get() else {
        let e = AppError::conflict_because(reasons::HOST_UNAVAILABLE, "this instance is still starting");
        return failed(&e);
    };
    match runs.start_handed(asked).await {
        Ok(started) => Json(started).into_response(),
        Err(e) => failed(&e),
    }
}
