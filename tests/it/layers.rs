//! The module graph drawn from the code (docs/architecture.md, "Layers"): which top-level
//! module of `src/` names which (`crate::x` outside comments and tests). The bottom layers
//! import nothing above them, each module imports only the layers below it as
//! docs/architecture.md's table says, and no import circle exists.

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
        let code: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        for to in named(&code.join("\n")) {
            if to != from {
                g.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    g
}

/// The top-level modules `code` names: `crate::x` and each item of `crate::{x, y::Z}`.
fn named(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        let Some(group) = rest.strip_prefix('{') else {
            out.insert(ident(rest));
            continue;
        };
        // The items at depth 0 of the group, up to its closing brace.
        let (mut depth, mut start) = (0usize, 0usize);
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.insert(ident(&group[start..j]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.insert(ident(&group[start..j]));
                    start = j + 1;
                }
                _ => {}
            }
        }
    }
    out.remove("");
    out
}

#[test]
fn grouped_imports_are_read_too() {
    let code = "use crate::{\n    judge::Judge,\n    probe::{Evidence, Phase},\n    vocab,\n};\nlet x = crate::limits::A;";
    let want = ["judge", "limits", "probe", "vocab"].map(String::from);
    assert_eq!(named(code), BTreeSet::from(want));
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

/// The layer table of docs/architecture.md ("Layers"): each top-level module and its layer.
fn documented_layers() -> BTreeMap<String, u32> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/architecture.md")).unwrap();
    let section = doc.split("## Layers").nth(1).expect("a Layers section");
    let table = section.split("```").nth(1).expect("its table, fenced");
    let modules = top_level_modules();
    let mut out = BTreeMap::new();
    let mut layer = None;
    for line in table.lines() {
        let mut words = line.split_whitespace().peekable();
        if let Some(n) = words.peek().and_then(|w| w.parse::<u32>().ok()) {
            layer = Some(n);
            words.next();
        }
        // The module names come first; the description starts at the first other word.
        for w in words.take_while(|w| modules.contains(*w)) {
            let at = layer.expect("a layer number before its modules");
            assert!(
                out.insert(w.to_string(), at).is_none(),
                "{w} is listed twice"
            );
        }
    }
    out
}

/// `src/`'s top-level modules: its directories and its files but lib.rs and main.rs.
fn top_level_modules() -> BTreeSet<String> {
    std::fs::read_dir(Path::new(ROOT).join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().to_string()))
        .filter(|m| m != "lib" && m != "main")
        .collect()
}

/// docs/architecture.md's layer table is the code's: every module is in it once, and each
/// imports only modules of lower layers (the bottom ones, nothing above them).
#[test]
fn every_module_imports_only_the_layers_below_it_as_documented() {
    let layers = documented_layers();
    let modules = top_level_modules();
    let missing: Vec<&String> = modules
        .iter()
        .filter(|m| !layers.contains_key(*m))
        .collect();
    assert!(missing.is_empty(), "not in the layer table: {missing:?}");
    let mut wrong = Vec::new();
    for (m, imports) in graph() {
        for n in imports.iter().filter(|n| modules.contains(*n)) {
            if layers[n] >= layers[&m] {
                wrong.push(format!(
                    "{m} (layer {}) imports {n} (layer {})",
                    layers[&m], layers[n]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The table is read, not assumed: the bottom is the bottom.
    assert_eq!((layers["vocab"], layers["app"] > layers["http"]), (0, true));
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
