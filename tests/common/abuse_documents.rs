//! The abuse corpus of query documents: shapes whose analysis is super-linear unless the
//! server bounds it (shared by `tests/api/document_bounds.rs` and `bench/documents.rs`
//! with `#[path]`).

/// `levels` fragments on `on`, each spreading the next `spreads` times.
pub fn doubling(levels: usize, spreads: usize, on: &str, leaf: &str) -> String {
    let mut q = String::new();
    for i in 0..levels - 1 {
        q += &format!("fragment F{i} on {on} {{ {} }}\n", format!("...F{} ", i + 1).repeat(spreads));
    }
    q + &format!("fragment F{} on {on} {{ {leaf} }}\n", levels - 1)
}

/// The abuse corpus: (name, document, expected reason).
pub fn corpus() -> Vec<(&'static str, String, &'static str)> {
    let frag31 = format!("{{ viewer {{ ...F0 }} }}\n{}", doubling(31, 2, "Account", "id"));
    let three = format!("{{ viewer {{ ...F0 }} }}\n{}", doubling(20, 3, "Account", "id"));
    let list = format!("{{ sandboxes {{ nodes {{ ...F0 }} }} }}\n{}", doubling(31, 2, "Sandbox", "id"));
    let mut inline = String::from("{ viewer { ...F0 } }\n");
    for i in 0..30 {
        inline +=
            &format!("fragment F{i} on Account {{ ... on Account {{ ...F{n} }} ... {{ ...F{n} }} }}\n", n = i + 1);
    }
    inline += "fragment F30 on Account { id }";
    let deep_inline = format!("{{ viewer {{ {} id {} }} }}", "... on Account { ".repeat(200), "} ".repeat(200));
    let many_spreads: String = format!(
        "{{ viewer {{ {} }} }}\n{}",
        (0..100).map(|i| format!("...W{i}")).collect::<Vec<_>>().join(" "),
        (0..100).map(|i| format!("fragment W{i} on Account {{ {} }}\n", "...L ".repeat(100))).collect::<String>()
            + "fragment L on Account { id name }"
    );
    let directives = format!("{{ viewer {{ id {} }} }}", "@skip(if: false) ".repeat(5_000));
    let vars: Vec<String> = (0..5_000).map(|i| format!("$v{i}: Int")).collect();
    let variables = format!("query({}) {{ viewer {{ id }} }}", vars.join(" "));
    let args: Vec<String> = (0..5_000).map(|i| format!("a{i}: {i}")).collect();
    let arguments = format!("{{ viewer {{ id(x: 1, {}) }} }}", args.join(", "));
    let overlapping = format!(
        "{{ viewer {{ {} }} }}",
        (0..6_000).map(|i| format!("id: name{} ", if i % 2 == 0 { "" } else { "(x: 1)" })).collect::<String>()
    );
    let nested_text = "{a".repeat(100_000);
    vec![
        ("31 fragments × 2 spreads", frag31, "DOCUMENT_TOO_LARGE"),
        ("20 fragments × 3 spreads", three, "DOCUMENT_TOO_LARGE"),
        ("doubling on a list field", list, "DOCUMENT_TOO_LARGE"),
        ("doubling through inline fragments", inline, "DOCUMENT_TOO_LARGE"),
        ("200 nested inline fragments", deep_inline, "QUERY_TOO_DEEP"),
        ("100 fragments × 100 spreads", many_spreads, "DOCUMENT_TOO_LARGE"),
        ("5,000 directives", directives, "DOCUMENT_TOO_LARGE"),
        ("5,000 variables", variables, "TOO_MANY_VARIABLES"),
        ("5,000 arguments", arguments, "TOO_MANY_ARGUMENTS"),
        ("6,000 overlapping fields", overlapping, "DOCUMENT_TOO_LARGE"),
        ("100,000 nested braces", nested_text, "QUERY_TOO_DEEP"),
    ]
}
