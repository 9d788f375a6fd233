//! Relay paging pieces shared by every connection.

use async_graphql::SimpleObject;

use crate::service::paging::{Page, encode_cursor};

/// Where a page sits in its list.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// More items follow `endCursor`.
    pub has_next_page: bool,
    /// The page was fetched with `after` (forward-only paging).
    pub has_previous_page: bool,
    /// Cursor of the first item.
    pub start_cursor: Option<String>,
    /// Cursor of the last item; pass as `after` for the next page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// Page info of a page whose items have the given ids.
    pub fn of<T>(page: &Page<T>, had_after: bool, id: impl Fn(&T) -> uuid::Uuid) -> Self {
        Self {
            has_next_page: page.has_next_page,
            has_previous_page: had_after,
            start_cursor: page.items.first().map(|t| encode_cursor(id(t))),
            end_cursor: page.items.last().map(|t| encode_cursor(id(t))),
        }
    }
}
