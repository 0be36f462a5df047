//! The module graph drawn from the code (docs/architecture.md, "Layers"): which top-level
//! module of `src/` names which (`crate::x` outside comments and tests). The bottom layers
//! import nothing above them, and no import circle exists but the ones listed here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() && name != "tests" {
            sources(&p, out);
        } else if name.ends_with(".rs") && !name.starts_with("tests") {
            out.push(p);
        }
    }
}

fn graph() -> Graph {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        let from = rel.split(['/', '.']).next().unwrap().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let to: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !to.is_empty() && to != from {
                    g.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    g
}

/// Whether `to` can be reached from `from`.
fn reaches(g: &Graph, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for n in g.get(&m).into_iter().flatten() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.push(n.clone());
            }
        }
    }
    false
}

#[test]
fn the_bottom_layers_import_nothing_above_them() {
    let g = graph();
    // Each module, and what it may name: only modules listed before it.
    let bottom: [(&str, &[&str]); 9] = [
        ("vocab", &[]),
        ("limits", &[]),
        ("sync", &[]),
        ("timefmt", &[]),
        ("durable", &["limits"]),
        ("lang", &["vocab"]),
        ("webauth", &["limits", "sync"]),
        ("notify", &["limits", "sync", "timefmt"]),
        ("maintenance", &["limits", "sync", "timefmt", "vocab"]),
    ];
    let mut wrong = Vec::new();
    for (m, allowed) in bottom {
        for n in g.get(m).into_iter().flatten() {
            if !allowed.contains(&n.as_str()) {
                wrong.push(format!("{m} imports {n}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[test]
fn no_import_circle() {
    let g = graph();
    let mut circles = Vec::new();
    let names: Vec<&String> = g.keys().collect();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            if reaches(&g, a, b) && reaches(&g, b, a) {
                circles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:?}");
}
