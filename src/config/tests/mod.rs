//! Unit tests, compiled only with #[cfg(test)] (declared at the bottom of mod.rs).

use super::*;

mod defaults;
mod options;
mod places;

fn parse_str(s: &str) -> Result<Plan, ConfigError> {
    parse(Path::new("test.toml"), s, Path::new("."))
}

/// The problems of a config that must fail, as (line, column, message).
fn problems(s: &str) -> Vec<(usize, usize, String)> {
    match parse_str(s) {
        Ok(_) => panic!("config should have been rejected:\n{s}"),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.line, p.column, p.message.clone()))
            .collect(),
    }
}

/// Asserts exactly one problem, at `line:col`, whose message contains `needle`.
fn one_problem(s: &str, line: usize, col: usize, needle: &str) {
    let ps = problems(s);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:?}");
    let (l, c, m) = &ps[0];
    assert_eq!((*l, *c), (line, col), "wrong place for {m:?}");
    assert!(m.contains(needle), "{m:?} does not contain {needle:?}");
}

const OK: &str = r#"
[[targets]]
name = "a"
url = "https://api.example.com/v1/status"
"#;
