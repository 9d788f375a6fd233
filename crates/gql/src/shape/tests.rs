use std::time::{Duration, Instant};

use async_graphql::parser::parse_query;

use super::*;

const BOUNDS: Bounds =
    Bounds { max_nodes: 10_000, max_depth: 12, max_nesting: 64, max_arguments: 32, max_variables: 100 };

fn shape_of(q: &str) -> Result<Shape, AppError> {
    measure(&parse_query(q).expect("parses"), &BOUNDS)
}

fn reason_of(q: &str) -> &'static str {
    let started = Instant::now();
    let e = shape_of(q).expect_err("refused");
    assert!(started.elapsed() < Duration::from_secs(1), "refused in {:?}", started.elapsed());
    e.reason().expect("a reason")
}

/// `levels` fragments on `on`, each spreading the next `spreads` times; the last selects
/// `leaf`.
fn doubling(levels: usize, spreads: usize, on: &str, leaf: &str) -> String {
    let mut q = String::new();
    for i in 0..levels - 1 {
        q += &format!("fragment F{i} on {on} {{ {} }}\n", format!("...F{} ", i + 1).repeat(spreads));
    }
    q + &format!("fragment F{} on {on} {{ {leaf} }}\n", levels - 1)
}

#[test]
fn an_ordinary_query_is_measured() {
    let s = shape_of("query($id: ID!) { sandbox(id: $id) { id files(first: 10) { entries { name } } } }").unwrap();
    // variable 1; sandbox 1 + arg 2; id 1; files 1 + arg 2; entries 1; name 1
    assert_eq!(s, Shape { nodes: 10, depth: 4, nesting: 4 });
    let s = shape_of("query { viewer { ...A ...A } } fragment A on Account { id name }").unwrap();
    assert_eq!(s, Shape { nodes: 1 + 2 * 3, depth: 2, nesting: 3 });
}

#[test]
fn fragments_that_double_at_every_level_are_refused_at_once() {
    for (levels, spreads) in [(26, 2), (31, 2), (64, 2), (20, 3), (500, 2)] {
        let q = format!("{{ viewer {{ ...F0 }} }}\n{}", doubling(levels, spreads, "Account", "id"));
        assert_eq!(reason_of(&q), reasons::DOCUMENT_TOO_LARGE, "{levels} levels × {spreads}");
    }
    let on_list = format!("{{ sandboxes {{ nodes {{ ...F0 }} }} }}\n{}", doubling(31, 2, "Sandbox", "id name"));
    assert_eq!(reason_of(&on_list), reasons::DOCUMENT_TOO_LARGE);
    // The same doubling through inline fragments inside each fragment.
    let mut inline = String::from("{ viewer { ...F0 } }\n");
    for i in 0..30 {
        inline +=
            &format!("fragment F{i} on Account {{ ... on Account {{ ...F{n} }} ... {{ ...F{n} }} }}\n", n = i + 1);
    }
    inline += "fragment F30 on Account { id }";
    assert_eq!(reason_of(&inline), reasons::DOCUMENT_TOO_LARGE);
}

#[test]
fn a_document_just_within_the_bounds_passes() {
    // 2^11 = 2048 leaves and 4094 spreads: under 10,000 nodes in all.
    let q = format!("{{ viewer {{ ...F0 }} }}\n{}", doubling(12, 2, "Account", "id"));
    let s = shape_of(&q).unwrap();
    assert_eq!(s.nodes, 1 + 1 + 4094 + 2048, "{s:?}");
}

#[test]
fn unused_fragments_count_too() {
    let q = format!("{{ viewer {{ id }} }}\n{}", doubling(31, 2, "Account", "id"));
    assert_eq!(reason_of(&q), reasons::DOCUMENT_TOO_LARGE, "validation walks unused fragments as well");
}

#[test]
fn cycles_are_refused_without_recursing() {
    assert_eq!(reason_of("{ viewer { ...A } } fragment A on Account { ...A }"), reasons::FRAGMENT_CYCLE);
    assert_eq!(
        reason_of("{ viewer { ...A } } fragment A on Account { id ...B } fragment B on Account { ... { ...A } }"),
        reasons::FRAGMENT_CYCLE
    );
    // A chain of 5,000 fragments: measured without recursion, refused for its nesting.
    let mut chain = String::from("{ viewer { ...F0 } }\n");
    for i in 0..5_000 {
        chain += &format!("fragment F{i} on Account {{ ...F{} }}\n", i + 1);
    }
    chain += "fragment F5000 on Account { id }";
    assert_eq!(reason_of(&chain), reasons::QUERY_TOO_DEEP);
}

#[test]
fn introspection_does_not_count_towards_depth() {
    let q = include_str!("../../../../tests/fixtures/introspection-all-options.graphql");
    let s = shape_of(q).expect("the standard introspection query passes");
    assert!(s.depth <= 2, "{s:?}");
    assert!(s.nesting < 40 && s.nodes < 2_000, "{s:?}");
    let deep = format!("{{ viewer {} id {} }}", "sandboxes { nodes { ".repeat(6), "} } ".repeat(6));
    assert_eq!(reason_of(&deep), reasons::QUERY_TOO_DEEP);
}

#[test]
fn wide_arguments_variables_and_values_are_bounded() {
    let args: Vec<String> = (0..33).map(|i| format!("a{i}: 1")).collect();
    assert_eq!(reason_of(&format!("{{ viewer({}) {{ id }} }}", args.join(", "))), reasons::TOO_MANY_ARGUMENTS);
    let on_directive = format!("{{ viewer @include({}) {{ id }} }}", args.join(", "));
    assert_eq!(reason_of(&on_directive), reasons::TOO_MANY_ARGUMENTS);
    let vars: Vec<String> = (0..101).map(|i| format!("$v{i}: Int")).collect();
    assert_eq!(reason_of(&format!("query({}) {{ viewer {{ id }} }}", vars.join(" "))), reasons::TOO_MANY_VARIABLES);
    let list = vec!["1"; 2_000].join(",");
    let values = format!("{{ viewer {{ ...A ...A ...A ...A ...A }} }} fragment A on Account {{ x(v: [{list}]) }}");
    assert_eq!(reason_of(&values), reasons::DOCUMENT_TOO_LARGE, "list values count, fragments expanded");
    let directives = format!("{{ viewer {{ id {} }} }}", "@skip(if: false) ".repeat(5_000));
    assert_eq!(reason_of(&directives), reasons::DOCUMENT_TOO_LARGE);
    let ops: String = (0..3_000).map(|i| format!("query Q{i} {{ viewer {{ ...A }} }}\n")).collect();
    let many_ops = ops + "fragment A on Account { id name }";
    assert_eq!(reason_of(&many_ops), reasons::DOCUMENT_TOO_LARGE, "operations add up");
}

#[test]
fn measuring_is_linear_in_the_document() {
    // 3,000 fragments, each spread once: fine, and measured quickly.
    let mut q = String::from("{ viewer { ...F0 } }\n");
    for i in 0..3_000 {
        q += &format!("fragment F{i} on Account {{ id ...F{} }}\n", i + 1);
    }
    q += "fragment F3000 on Account { id }";
    let doc = parse_query(&q).unwrap();
    let wide = Bounds { max_nesting: 10_000, ..BOUNDS };
    let started = Instant::now();
    let s = measure(&doc, &wide).unwrap();
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(s.nodes, 1 + 3_001 * 2 - 1 + 1, "{s:?}");
}
