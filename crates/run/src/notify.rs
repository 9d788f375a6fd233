//! What instances tell each other over Postgres `NOTIFY`, typed: each notice has its
//! channel and payload here, written by [`send`] (the only NOTIFY statement of the code) and read
//! back by [`Notice::parse`]. Payloads carry ids only; what they announce is read from the
//! database. On SQLite (one instance) nothing is sent.

use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::error::AppResult;

/// Events `first..=last` of a run were stored.
const EVENTS: &str = "sandboxql_run_events";
/// A run is to be cancelled, wherever it executes.
const CANCEL: &str = "sandboxql_run_cancel";
/// Inputs (messages, permission answers) wait for a run.
const INPUT: &str = "sandboxql_run_input";

/// Every channel a listener subscribes to.
pub const CHANNELS: [&str; 3] = [EVENTS, CANCEL, INPUT];

/// One notice between instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Events of `run` from seq `first` to `last` were stored.
    Events {
        /// The run.
        run: Uuid,
        /// First seq stored.
        first: i64,
        /// Last seq stored.
        last: i64,
    },
    /// The run is to be cancelled.
    Cancel(Uuid),
    /// Inputs wait for the run.
    Input(Uuid),
}

impl Notice {
    fn channel(&self) -> &'static str {
        match self {
            Notice::Events { .. } => EVENTS,
            Notice::Cancel(_) => CANCEL,
            Notice::Input(_) => INPUT,
        }
    }

    fn payload(&self) -> String {
        match self {
            Notice::Events { run, first, last } => format!("{run}:{first}:{last}"),
            Notice::Cancel(run) | Notice::Input(run) => run.to_string(),
        }
    }

    /// The notice a `channel` and `payload` carry, if they are one of ours.
    pub fn parse(channel: &str, payload: &str) -> Option<Notice> {
        match channel {
            CANCEL => Uuid::parse_str(payload).ok().map(Notice::Cancel),
            INPUT => Uuid::parse_str(payload).ok().map(Notice::Input),
            EVENTS => {
                let mut it = payload.split(':');
                let run = Uuid::parse_str(it.next()?).ok()?;
                let first = it.next()?.parse().ok()?;
                let last = it.next()?.parse().ok()?;
                it.next().is_none().then_some(Notice::Events { run, first, last })
            }
            _ => None,
        }
    }
}

/// Sends `notice` to every instance listening (Postgres only).
pub async fn send<C: ConnectionTrait>(db: &C, notice: Notice) -> AppResult<()> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let values = [notice.channel().into(), notice.payload().into()];
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), "SELECT pg_notify($1, $2)", values))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_reads_back_as_itself_and_nothing_else_parses() {
        let run = Uuid::now_v7();
        for n in [Notice::Events { run, first: 3, last: 9 }, Notice::Cancel(run), Notice::Input(run)] {
            assert_eq!(Notice::parse(n.channel(), &n.payload()), Some(n));
        }
        assert_eq!(Notice::parse(EVENTS, &format!("{run}:1:2:3")), None);
        assert_eq!(Notice::parse(CANCEL, "not-a-uuid"), None);
        assert_eq!(Notice::parse("other", &run.to_string()), None);
    }
}
