//! Checkpoints: at every turn, rewind and fork with the real Claude Code CLI, another
//! account's view, retention and the reclaim racing syncs.

mod browser;
mod modal;
mod real_claude;
mod retention;
