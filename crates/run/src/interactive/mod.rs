//! Interactive and ASK runs in one place: the conversation with Claude as a state machine
//! without I/O ([`protocol`]), the supervisor's driver that feeds it and acts on what it
//! says ([`driver`]), and the database queue of follow-ups, interrupts and permission
//! answers between users and the run ([`inputs`]).

pub mod driver;
pub mod inputs;
pub mod protocol;
