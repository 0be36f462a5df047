//! The guides stay true to the code: docs/metrics.md lists every metric family payprobe
//! exports and no other, docs/configuration.md lists every config key the parser accepts
//! and no other, the README's config is valid, and links between the docs resolve.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().and_then(|x| x.to_str()) == Some("rs") {
            out.push(p);
        }
    }
}

/// A histogram's `_bucket`/`_sum`/`_count` series name its family.
fn family(name: &str, families: &BTreeSet<String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            if families.contains(stem) {
                return stem.to_string();
            }
        }
    }
    name.to_string()
}

/// The families payprobe exports: those `/metrics` declares (`# TYPE`) after a full round,
/// plus every `"payprobe_…"` name the source writes (families that appear only once an
/// incident opens, a sink delivers, a window starts, a channel reports, or on `/probe`).
fn exported_families() -> BTreeSet<String> {
    let mut out: BTreeSet<String> = crate::assets::full_round_exposition()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect();
    assert!(
        out.contains("payprobe_probe_success") && out.contains("process_open_fds"),
        "the exposition lacks families it always has: {out:?}"
    );
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let mut written = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, _) in text.match_indices("\"payprobe_") {
            let name: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            written.insert(name);
        }
    }
    out.extend(written);
    let snapshot = out.clone();
    out.into_iter().map(|n| family(&n, &snapshot)).collect()
}

#[test]
fn the_metrics_doc_lists_every_exported_family_and_no_other() {
    let exported = exported_families();
    let doc = read("docs/metrics.md");
    let documented: BTreeSet<String> = crate::assets::referenced(&doc)
        .iter()
        .filter(|n| !matches!(n.as_str(), "payprobe_" | "process_"))
        .map(|n| family(n, &exported))
        .collect();
    let mut problems = Vec::new();
    for m in exported.difference(&documented) {
        problems.push(format!(
            "docs/metrics.md does not document `{m}`, which payprobe exports"
        ));
    }
    for m in documented.difference(&exported) {
        problems.push(format!(
            "docs/metrics.md documents `{m}`, which payprobe does not export"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The tables of the config reference (a `### ` heading each), and the TOML that puts an
/// unknown key into each: the parser's "unknown field" error lists the keys it accepts.
const SECTIONS: &[(&str, &[&str])] = &[
    ("Top level", &[""]),
    ("[server]", &["[server]"]),
    (
        "[[targets]]",
        &["[[targets]]", "[defaults]", "[[controls]]"],
    ),
    ("[targets.http]", &["[[targets]]\n[targets.http]"]),
    ("[targets.dns]", &["[[targets]]\n[targets.dns]"]),
    ("[targets.ping]", &["[[targets]]\n[targets.ping]"]),
    (
        "[targets.api_version]",
        &["[[targets]]\n[targets.api_version]"],
    ),
    ("[targets.rpc]", &["[[targets]]\n[targets.rpc]"]),
    ("[targets.sign]", &["[[targets]]\n[targets.sign]"]),
    ("[alerts]", &["[alerts]"]),
    ("[[alerts.sinks]]", &["[alerts]\n[[alerts.sinks]]"]),
    ("[[notifications]]", &["[[notifications]]"]),
    ("[[maintenance]]", &["[[maintenance]]"]),
];

const UNKNOWN: &str = "zz_not_a_key";

/// The keys the parser accepts in the table `prefix` opens.
fn accepted(prefix: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let src = format!("{prefix}\n{UNKNOWN} = 1\n");
    let err = match payprobe::config::parse(Path::new("docs.toml"), &src, dir.path()) {
        Ok(_) => panic!("{src:?}: the parser accepted an unknown key"),
        Err(e) => e,
    };
    let msg = err
        .problems()
        .iter()
        .map(|p| p.message.as_str())
        .find(|m| m.contains(UNKNOWN))
        .unwrap_or_else(|| panic!("{src:?}: no problem names {UNKNOWN}: {err}"))
        .to_string();
    let expected = msg
        .split_once("expected")
        .unwrap_or_else(|| panic!("{src:?}: no list of expected keys in {msg:?}"))
        .1;
    let keys: BTreeSet<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(!keys.is_empty(), "{src:?}: no keys in {msg:?}");
    keys
}

/// The reference's tables: heading (backticks removed) → the keys in its rows' first column.
fn reference_tables(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let reference = doc
        .split_once("## Reference: every key")
        .expect("docs/configuration.md has no \"## Reference: every key\"")
        .1;
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = None;
    for line in reference.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            let h = h.replace('`', "");
            tables.entry(h.clone()).or_default();
            current = Some(h);
        } else if let (Some(h), Some(row)) = (&current, line.strip_prefix("| `")) {
            let key = row.split('`').next().unwrap_or_default();
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                tables.get_mut(h).unwrap().insert(key.to_string());
            }
        }
    }
    tables
}

#[test]
fn the_config_reference_lists_every_accepted_key_and_no_other() {
    let tables = reference_tables(&read("docs/configuration.md"));
    let mut problems = Vec::new();
    for (heading, prefixes) in SECTIONS {
        let Some(documented) = tables.get(*heading) else {
            problems.push(format!(
                "docs/configuration.md has no table `### {heading}`"
            ));
            continue;
        };
        for prefix in *prefixes {
            let accepted = accepted(prefix);
            let table = prefix.lines().last().unwrap_or("the top level");
            for k in accepted.difference(documented) {
                problems.push(format!(
                    "docs/configuration.md, {heading}: `{k}` is accepted in {table} but not documented"
                ));
            }
            for k in documented.difference(&accepted) {
                problems.push(format!(
                    "docs/configuration.md, {heading}: documents `{k}`, which {table} does not accept"
                ));
            }
        }
    }
    for heading in tables.keys() {
        if !SECTIONS.iter().any(|(h, _)| h == heading) {
            problems.push(format!(
                "docs/configuration.md: table `### {heading}` is not checked by tests/it/docs.rs"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_is_short_and_its_config_is_valid() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; the guides in docs/ take the rest"
    );
    let toml = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("README.md has no ```toml block");
    let dir = tempfile::tempdir().unwrap();
    let plan = payprobe::config::parse(Path::new("README.md"), toml, dir.path())
        .unwrap_or_else(|e| panic!("the README's config is not valid:\n{e}"));
    assert_eq!(
        plan.targets.len(),
        1,
        "the README's config is for one target"
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            code = !code;
        } else if !code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn links_between_the_docs_resolve() {
    let mut files = vec![
        PathBuf::from("README.md"),
        PathBuf::from("SECURITY.md"),
        PathBuf::from("CONTRIBUTING.md"),
    ];
    for e in std::fs::read_dir(Path::new(ROOT).join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) == Some("md") {
            files.push(Path::new("docs").join(p.file_name().unwrap()));
        }
    }
    let mut problems = Vec::new();
    for f in &files {
        let text = read(f.to_str().unwrap());
        for (i, _) in text.match_indices("](") {
            let link: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
            if link.starts_with("http://") || link.starts_with("https://") {
                continue;
            }
            let (path, frag) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                Path::new(ROOT).join(f)
            } else {
                Path::new(ROOT).join(f.parent().unwrap()).join(path)
            };
            if !target.exists() {
                problems.push(format!("{}: link to {link}: no such file", f.display()));
            } else if !frag.is_empty() {
                let text = std::fs::read_to_string(&target).unwrap();
                if !anchors(&text).contains(frag) {
                    problems.push(format!("{}: link to {link}: no such heading", f.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
