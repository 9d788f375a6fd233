//! The shape of a query document, measured before anything else looks at it: how many
//! nodes it has with every fragment expanded where it is spread, how deep its fields go,
//! how deeply its selections nest, how many arguments and variables it carries.
//!
//! Validation and cost analysis (async-graphql's) walk the document with fragments
//! expanded, so a few hundred bytes of fragments that each spread the next one twice
//! make them walk 2^n nodes. This pass is linear in the document instead: each fragment
//! is measured once, in dependency order, and its figures are reused wherever it is
//! spread. Only a document within the bounds goes on to validation, whose walks are then
//! bounded by `maxExpandedNodes` too. Nothing here recurses: selection sets and values
//! are walked with explicit stacks, fragments in topological order.
//!
//! Introspection (`__schema`, `__type`) is bounded by the schema, not by data: its
//! fields count as nodes but not towards the query depth, so GraphQL tools' standard
//! introspection query passes.

use std::collections::HashMap;

use self::count::{const_value_nodes, directives_nodes, refuse};
use crate::error::{AppError, reasons};
use async_graphql::{
    Name, Positioned,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

mod count;

/// The bounds a document must stay within (from `Limits`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Nodes with fragments expanded, over all operations and unused fragments.
    pub max_nodes: u64,
    /// Fields below fields (introspection not counted).
    pub max_depth: u32,
    /// Selections below selections, fragment spreads and inline fragments included.
    pub max_nesting: u32,
    /// Arguments on one field or directive.
    pub max_arguments: usize,
    /// Variables one operation declares.
    pub max_variables: usize,
}

/// What [`measure`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Fields, spreads, inline fragments, directives, arguments and value nodes, with
    /// every fragment expanded where it is spread.
    pub nodes: u64,
    /// Deepest field (a root field is at depth 1).
    pub depth: u32,
    /// Deepest selection, counting spreads and inline fragments as levels.
    pub nesting: u32,
}

impl Shape {
    /// This shape nested one level below a field or fragment at `depth`/`nesting`.
    fn below(self, depth: u32, nesting: u32) -> Shape {
        Shape {
            nodes: self.nodes,
            depth: if self.depth == 0 { 0 } else { depth.saturating_add(self.depth) },
            nesting: nesting.saturating_add(self.nesting),
        }
    }
}

/// Fields whose subtree is bounded by the schema, so its depth is not the query's.
fn is_introspection(name: &str) -> bool {
    name == "__schema" || name == "__type"
}

/// Measures one selection set, using the figures of fragments already measured.
/// Spreads of unknown fragments count one node (validation reports them).
fn measure_set(
    set: &SelectionSet,
    done: &HashMap<&str, Shape>,
    bounds: &Bounds,
    counted_depth: bool,
) -> Result<Shape, AppError> {
    let mut shape = Shape::default();
    // (selections, depth of the field above, nesting level, whether depth counts here)
    let mut stack: Vec<(&SelectionSet, u32, u32, bool)> = vec![(set, 0, 0, counted_depth)];
    while let Some((set, depth, nesting, counts)) = stack.pop() {
        let nesting = nesting.saturating_add(1);
        shape.nesting = shape.nesting.max(nesting);
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    let at = format!("field `{}`", f.name.node);
                    let args = count::arguments_nodes(f.arguments.iter().map(|(_, v)| v), bounds, &at)?;
                    let dirs = directives_nodes(&f.directives, bounds)?;
                    shape.nodes = shape.nodes.saturating_add(1).saturating_add(args).saturating_add(dirs);
                    let field_depth = depth.saturating_add(1);
                    if counts {
                        shape.depth = shape.depth.max(field_depth);
                    }
                    if !f.selection_set.node.items.is_empty() {
                        let below_counts = counts && !is_introspection(f.name.node.as_str());
                        stack.push((&f.selection_set.node, field_depth, nesting, below_counts));
                    }
                }
                Selection::InlineFragment(i) => {
                    let dirs = directives_nodes(&i.node.directives, bounds)?;
                    shape.nodes = shape.nodes.saturating_add(1).saturating_add(dirs);
                    stack.push((&i.node.selection_set.node, depth, nesting, counts));
                }
                Selection::FragmentSpread(s) => {
                    let dirs = directives_nodes(&s.node.directives, bounds)?;
                    shape.nodes = shape.nodes.saturating_add(1).saturating_add(dirs);
                    if let Some(inner) = done.get(s.node.fragment_name.node.as_str()) {
                        let inner = if counts { *inner } else { Shape { depth: 0, ..*inner } };
                        let placed = inner.below(depth, nesting);
                        shape.nodes = shape.nodes.saturating_add(placed.nodes);
                        shape.depth = shape.depth.max(placed.depth);
                        shape.nesting = shape.nesting.max(placed.nesting);
                    }
                }
            }
        }
    }
    Ok(shape)
}

/// The fragments a selection set spreads directly (not through other fragments).
fn spreads(set: &SelectionSet) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack = vec![set];
    while let Some(set) = stack.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => stack.push(&f.node.selection_set.node),
                Selection::InlineFragment(i) => stack.push(&i.node.selection_set.node),
                Selection::FragmentSpread(s) => out.push(s.node.fragment_name.node.as_str()),
            }
        }
    }
    out
}

/// Fragments in an order where each comes after every fragment it spreads (Kahn's
/// algorithm); a fragment left over is part of a cycle.
fn dependency_order(fragments: &HashMap<Name, Positioned<FragmentDefinition>>) -> Result<Vec<&str>, AppError> {
    let mut waiting: HashMap<&str, usize> = HashMap::new();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, def) in fragments {
        let known: Vec<&str> =
            spreads(&def.node.selection_set.node).into_iter().filter(|s| fragments.contains_key(*s)).collect();
        waiting.insert(name.as_str(), known.len());
        for s in known {
            dependents.entry(s).or_default().push(name.as_str());
        }
    }
    let mut ready: Vec<&str> = waiting.iter().filter(|(_, n)| **n == 0).map(|(k, _)| *k).collect();
    let mut order = Vec::with_capacity(fragments.len());
    while let Some(name) = ready.pop() {
        order.push(name);
        for d in dependents.get(name).map(Vec::as_slice).unwrap_or_default() {
            if let Some(n) = waiting.get_mut(d) {
                *n -= 1;
                if *n == 0 {
                    ready.push(d);
                }
            }
        }
    }
    if order.len() < fragments.len() {
        let mut cyclic: Vec<&str> = waiting.iter().filter(|(_, n)| **n > 0).map(|(k, _)| *k).collect();
        cyclic.sort_unstable();
        return Err(refuse(
            reasons::FRAGMENT_CYCLE,
            format!("fragments spread themselves (a cycle through `{}`)", cyclic.first().copied().unwrap_or("?")),
        ));
    }
    Ok(order)
}

/// Measures `doc` and refuses it when it is outside `bounds`, in time linear in its size.
pub fn measure(doc: &ExecutableDocument, bounds: &Bounds) -> Result<Shape, AppError> {
    let order = dependency_order(&doc.fragments)?;
    let mut done: HashMap<&str, Shape> = HashMap::with_capacity(order.len());
    for name in order {
        let Some(def) = doc.fragments.get(name) else { continue };
        let mut shape = measure_set(&def.node.selection_set.node, &done, bounds, true)?;
        shape.nodes = shape.nodes.saturating_add(directives_nodes(&def.node.directives, bounds)?);
        done.insert(name, shape);
    }
    let mut total = Shape::default();
    let mut used: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (_, op) in doc.operations.iter() {
        let op = &op.node;
        if op.variable_definitions.len() > bounds.max_variables {
            let max = bounds.max_variables;
            return Err(refuse(
                reasons::TOO_MANY_VARIABLES,
                format!("an operation declares more than {max} variables (limits.maxVariables)"),
            ));
        }
        let mut nodes = directives_nodes(&op.directives, bounds)?;
        for v in &op.variable_definitions {
            let default = v.node.default_value.as_ref().map_or(0, |d| const_value_nodes(&d.node));
            nodes = nodes.saturating_add(1).saturating_add(default);
            nodes = nodes.saturating_add(directives_nodes(&v.node.directives, bounds)?);
        }
        let shape = measure_set(&op.selection_set.node, &done, bounds, true)?;
        total.nodes = total.nodes.saturating_add(nodes).saturating_add(shape.nodes);
        total.depth = total.depth.max(shape.depth);
        total.nesting = total.nesting.max(shape.nesting);
        used.extend(spreads(&op.selection_set.node));
    }
    // A fragment no operation reaches is still walked by validation: count it too.
    let mut reached: Vec<&str> = used.iter().copied().collect();
    while let Some(name) = reached.pop() {
        if let Some(def) = doc.fragments.get(name) {
            for s in spreads(&def.node.selection_set.node) {
                if used.insert(s) {
                    reached.push(s);
                }
            }
        }
    }
    for (name, shape) in &done {
        if !used.contains(name) {
            total.nodes = total.nodes.saturating_add(shape.nodes);
            total.nesting = total.nesting.max(shape.nesting);
        }
    }
    check(total, bounds)?;
    Ok(total)
}

fn check(shape: Shape, bounds: &Bounds) -> Result<(), AppError> {
    if shape.nodes > bounds.max_nodes {
        let max = bounds.max_nodes;
        return Err(refuse(
            reasons::DOCUMENT_TOO_LARGE,
            format!(
                "the document has more than {max} nodes with its fragments expanded (limits.maxExpandedNodes); \
                 spread fewer fragments or select fewer fields"
            ),
        ));
    }
    if shape.depth > bounds.max_depth {
        let max = bounds.max_depth;
        return Err(refuse(
            reasons::QUERY_TOO_DEEP,
            format!("the query is nested deeper than `limits.maxQueryDepth` ({max}) allows"),
        ));
    }
    if shape.nesting > bounds.max_nesting {
        let max = bounds.max_nesting;
        return Err(refuse(
            reasons::QUERY_TOO_DEEP,
            format!("selections and fragment spreads nest deeper than `limits.maxRecursiveDepth` ({max}) allows"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
