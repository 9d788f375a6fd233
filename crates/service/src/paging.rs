//! Keyset paging shared by every list: opaque cursors, a bounded page size.

use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A validated page request: `first` within the limit and the id after which to continue.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// How many items.
    pub first: u64,
    /// Continue after this id (exclusive), in newest-first order.
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// Checks `first` against `max` (larger requests are refused, not silently cut) and
    /// decodes `after`; both mistakes are BAD_USER_INPUT.
    pub fn new(first: i64, after: Option<&str>, max: u64) -> AppResult<Self> {
        if first < 0 || first as u64 > max {
            return Err(AppError::bad_input(format!("`first` must be between 0 and {max}, got {first}")));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let id = Uuid::now_v7();
        let page = PageRequest::new(5, Some(&encode_cursor(id)), 100).unwrap();
        assert_eq!((page.first, page.after), (5, Some(id)));
    }

    #[test]
    fn first_outside_the_limit_is_refused() {
        assert!(PageRequest::new(-1, None, 100).is_err());
        assert!(PageRequest::new(101, None, 100).is_err());
        assert!(PageRequest::new(100, None, 100).is_ok());
        assert!(PageRequest::new(0, None, 100).is_ok());
    }

    #[test]
    fn a_forged_cursor_is_bad_input() {
        for bad in ["", "not base64!", "AAAA", &encode_cursor(Uuid::nil())[..10]] {
            let e = PageRequest::new(1, Some(bad), 100).unwrap_err();
            assert_eq!(e.code(), crate::error::codes::BAD_USER_INPUT, "{bad:?}");
        }
    }

    #[test]
    fn a_page_knows_whether_more_follow() {
        let p = into_page(vec![1, 2, 3], 2);
        assert_eq!((p.items, p.has_next_page), (vec![1, 2], true));
        let p = into_page(vec![1, 2], 2);
        assert_eq!((p.items, p.has_next_page), (vec![1, 2], false));
    }
}
