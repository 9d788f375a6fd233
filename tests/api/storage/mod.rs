//! Stored data bounded by policy and verified: snapshot retention with the reclaim, a
//! flipped byte found and named, a partial restore, the storage quota and accounting.

mod erase;
mod erase_modal;
mod events;
mod purge;
mod retention;
mod verify;
