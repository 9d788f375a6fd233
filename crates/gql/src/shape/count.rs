//! Counting the nodes of arguments, directives and values (with stacks, never recursion),
//! and refusing a field or directive with too many arguments.

use async_graphql::{Positioned, parser::types::Directive};
use async_graphql_value::{ConstValue, Value};

use super::Bounds;
use crate::error::{AppError, reasons};

/// Value nodes of an argument or default value (a list or object counts 1 plus its
/// members), counted with a stack.
pub fn value_nodes(value: &Value) -> u64 {
    let mut stack = vec![value];
    let mut n = 0u64;
    while let Some(v) = stack.pop() {
        n = n.saturating_add(1);
        match v {
            Value::List(items) => stack.extend(items.iter()),
            Value::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    n
}

pub fn const_value_nodes(value: &ConstValue) -> u64 {
    let mut stack = vec![value];
    let mut n = 0u64;
    while let Some(v) = stack.pop() {
        n = n.saturating_add(1);
        match v {
            ConstValue::List(items) => stack.extend(items.iter()),
            ConstValue::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    n
}

/// Why a document is refused.
pub fn refuse(reason: &'static str, message: String) -> AppError {
    AppError::bad_input_because(reason, message)
}

pub fn arguments_nodes<'a>(
    args: impl ExactSizeIterator<Item = &'a Positioned<Value>>,
    bounds: &Bounds,
    at: &str,
) -> Result<u64, AppError> {
    if args.len() > bounds.max_arguments {
        let max = bounds.max_arguments;
        return Err(refuse(
            reasons::TOO_MANY_ARGUMENTS,
            format!("{at} has more than {max} arguments (limits.maxArguments)"),
        ));
    }
    Ok(args.fold(0u64, |n, v| n.saturating_add(1).saturating_add(value_nodes(&v.node))))
}

pub fn directives_nodes(directives: &[Positioned<Directive>], bounds: &Bounds) -> Result<u64, AppError> {
    let mut n = 0u64;
    for d in directives {
        let at = format!("directive @{}", d.node.name.node);
        let args = arguments_nodes(d.node.arguments.iter().map(|(_, v)| v), bounds, &at)?;
        n = n.saturating_add(1).saturating_add(args);
    }
    Ok(n)
}
