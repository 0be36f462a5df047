//! Every problem is reported with its place and a message that says what was expected.

use super::*;

#[test]
fn unknown_key_names_the_key_and_its_place() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nintervall = \"5s\"\n",
        4,
        1,
        "unknown field `intervall`",
    );
}

#[test]
fn unknown_key_lists_what_was_expected() {
    let ps = problems("[server]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
    assert!(ps[0].2.contains("expected one of"), "{ps:?}");
    assert!(ps[0].2.contains("`listen`"), "{ps:?}");
}

#[test]
fn wrong_type_is_located() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ninterval = 15\n",
        4,
        12,
        "invalid type",
    );
}

#[test]
fn toml_syntax_error_is_located() {
    let ps = problems("[[targets]]\nname = \"a\nurl = \"https://x.example\"\n");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].0, 2, "{ps:?}");
}

#[test]
fn bad_duration_says_what_a_duration_looks_like() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ninterval = \"15 parsecs\"\n",
        4,
        12,
        "expected a duration such as",
    );
}

#[test]
fn zero_duration_is_rejected() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\nlatency_slo = \"0s\"\n",
        4,
        15,
        "must be longer than zero",
    );
}

#[test]
fn timeout_must_be_shorter_than_interval() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\ninterval = \"5s\"\ntimeout = \"5s\"\n",
        5,
        11,
        "`timeout` (5s) must be shorter than `interval` (5s)",
    );
}

#[test]
fn duplicate_names_point_at_both() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://x.example\"\n\n[[controls]]\nname = \"a\"\nurl = \"tcp://10.0.0.1:53\"\n",
        6,
        8,
        "duplicate target name `a` (first defined on line 1)",
    );
}

#[test]
fn bad_urls_are_explained() {
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"not a url\"\n",
        3,
        7,
        "relative URL without a base",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"ftp://x.example\"\n",
        3,
        7,
        "scheme `ftp` is not supported",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"tcp://x.example\"\n",
        3,
        7,
        "tcp:// needs a port",
    );
    one_problem(
        "[[targets]]\nname = \"a\"\nurl = \"https://u:p@x.example\"\n",
        3,
        7,
        "must not carry credentials",
    );
}

#[test]
fn missing_name_and_url_point_at_the_entry() {
    let ps = problems("[server]\n\n[[targets]]\nprovider = \"p\"\n");
    assert_eq!(ps.len(), 2, "{ps:?}");
    assert!(ps.iter().all(|p| p.0 == 3 || p.0 == 4), "{ps:?}");
    assert!(ps.iter().any(|p| p.2.contains("has no `name`")), "{ps:?}");
    assert!(ps.iter().any(|p| p.2.contains("has no `url`")), "{ps:?}");
}

#[test]
fn bad_names_are_rejected() {
    one_problem(
        "[[targets]]\nname = \"a b\"\nurl = \"https://x.example\"\n",
        2,
        8,
        "expected 1-128 characters",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = r#"[server]
listen = "localhost"

[[targets]]
name = "a"
url = "https://x.example"
interval = "1 fortnight"

[[targets]]
name = "b"
url = "ftp://y.example"
checks = ["nope"]
"#;
    let ps = problems(src);
    let lines: Vec<usize> = ps.iter().map(|p| p.0).collect();
    assert_eq!(lines, vec![2, 7, 11, 12], "{ps:?}");
    let rendered = parse_str(src).unwrap_err().to_string();
    assert!(
        rendered.starts_with("test.toml:2:10: `listen`"),
        "{rendered}"
    );
    assert_eq!(rendered.lines().count(), 4);
}
