//! What a caller may run, decided on the parsed document before validation: a read-only
//! token no mutations, a GET request queries only, a caller without credentials only
//! introspection (so GraphQL tools can read the schema, and nothing else answers
//! without a token).

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};

use crate::error::{AppError, reasons};

/// The operations a request may run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowed {
    /// The token may only read: no mutations (FORBIDDEN).
    pub read_only: bool,
    /// The request came by GET: queries only (BAD_USER_INPUT, answered 405).
    pub queries_only: bool,
    /// No credentials were sent: introspection only (UNAUTHENTICATED, answered 401).
    pub anonymous: bool,
}

/// Whether every root field of every operation is introspection (`__schema`, `__type`,
/// `__typename`), fragments at the root included.
fn introspection_only(doc: &ExecutableDocument) -> bool {
    let mut seen = HashSet::new();
    let mut stack: Vec<&async_graphql::parser::types::SelectionSet> =
        doc.operations.iter().map(|(_, op)| &op.node.selection_set.node).collect();
    while let Some(set) = stack.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    if !matches!(f.node.name.node.as_str(), "__schema" | "__type" | "__typename") {
                        return false;
                    }
                }
                Selection::InlineFragment(i) => stack.push(&i.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if let Some(f) = doc.fragments.get(name)
                        && seen.insert(name)
                    {
                        stack.push(&f.node.selection_set.node);
                    }
                }
            }
        }
    }
    true
}

impl Allowed {
    /// What a caller may run given its credentials: `None` when it sent none,
    /// `Some(read_only)` for a token that may or may not write.
    pub fn for_caller(read_only: Option<bool>) -> Self {
        match read_only {
            None => Allowed { anonymous: true, ..Allowed::default() },
            Some(read_only) => Allowed { read_only, ..Allowed::default() },
        }
    }

    /// Why `doc` may not run, if it may not.
    pub fn refusal(&self, doc: &ExecutableDocument) -> Option<AppError> {
        let types = || doc.operations.iter().map(|(_, op)| op.node.ty);
        if self.anonymous && !introspection_only(doc) {
            return Some(AppError::Unauthenticated(
                "send `Authorization: Bearer <token>` (without one, only introspection answers)",
            ));
        }
        if self.queries_only && types().any(|t| t != OperationType::Query) {
            return Some(AppError::bad_input_because(
                reasons::MUTATION_OVER_GET,
                "GET may only carry queries; send mutations with POST",
            ));
        }
        if self.read_only && types().any(|t| t == OperationType::Mutation) {
            return Some(AppError::Forbidden(
                "this token is read-only: it may run queries and subscriptions only".into(),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn refused(allowed: Allowed, q: &str) -> Option<&'static str> {
        allowed.refusal(&parse_query(q).unwrap()).map(|e| e.code())
    }

    #[test]
    fn each_kind_of_caller_runs_what_it_may() {
        let anon = Allowed { anonymous: true, ..Allowed::default() };
        assert_eq!(refused(anon, "{ __schema { queryType { name } } __typename }"), None);
        assert_eq!(refused(anon, "query { ...I } fragment I on Query { __type(name: \"X\") { name } }"), None);
        assert_eq!(refused(anon, "{ __typename viewer { id } }"), Some("UNAUTHENTICATED"));
        assert_eq!(
            refused(anon, "{ ... on Query { ...V } } fragment V on Query { viewer { id } }"),
            Some("UNAUTHENTICATED")
        );
        let get = Allowed { queries_only: true, ..Allowed::default() };
        assert_eq!(refused(get, "mutation { x }"), Some("BAD_USER_INPUT"));
        assert_eq!(refused(get, "subscription { x }"), Some("BAD_USER_INPUT"));
        assert_eq!(refused(get, "{ x }"), None);
        let ro = Allowed { read_only: true, ..Allowed::default() };
        assert_eq!(refused(ro, "mutation { x }"), Some("FORBIDDEN"));
        assert_eq!(refused(ro, "subscription { x }"), None);
        assert_eq!(refused(Allowed::default(), "mutation { x }"), None);
    }
}
