//! Keyset paging shared by every list: opaque cursors, a bounded page size.

use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Largest page any list returns; larger requests are refused, not silently cut.
pub const MAX_PAGE_SIZE: i64 = 100;

/// A validated page request: `first` in 0..=100 and the id after which to continue.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// How many items.
    pub first: u64,
    /// Continue after this id (exclusive), in newest-first order.
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// Checks `first` and decodes `after`; both mistakes are BAD_USER_INPUT.
    pub fn new(first: i64, after: Option<&str>) -> AppResult<Self> {
        if !(0..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::bad_input(format!("`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}")));
        }
        let after = after.map(decode_cursor).transpose()?;
        Ok(Self { first: first as u64, after })
    }
}

/// One page of a list, newest first.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether more items follow the last one.
    pub has_next_page: bool,
}

/// The opaque cursor of an item.
pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(s: &str) -> AppResult<Uuid> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| AppError::bad_input("`after` is not a cursor returned by this API"))
}

/// Splits a fetched `first + 1` rows into a page.
pub fn into_page<T>(mut rows: Vec<T>, first: u64) -> Page<T> {
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Page { items: rows, has_next_page }
}
