//! No import cycle between the modules of `ledger` and `server` (issue "one home"): each crate
//! reads bottom-up. The check parses the sources: a module is a file (`a/b.rs` or `a/b/mod.rs`
//! is `a::b`); it depends on every module it names with a `crate::…` or `super::…` path (the
//! longest prefix that is a module), except that a `mod.rs` naming its own submodules (to
//! declare or re-export them) is containment, not a dependency. Any strongly connected set of
//! two or more modules is a cycle and fails the test, printed with the lines that make it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One crate root: its `src` directory and the files that root a crate (lib.rs, main.rs).
struct Crate {
    name: &'static str,
    src: PathBuf,
    root: &'static str,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b.rs` → `a::b`; `a/mod.rs` → `a`; the crate root → "" (crate).
fn module_of(src: &Path, file: &Path, root: &str) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let parts: Vec<String> = match parts.last().map(String::as_str) {
        Some("mod") => parts[..parts.len() - 1].to_vec(),
        Some(r) if r == root && parts.len() == 1 => Vec::new(),
        _ => parts,
    };
    parts.join("::")
}

/// The module paths a line names: `crate::a::b::c` and `super::x::y` (resolved against `me`).
fn named(line: &str, me: &str) -> Vec<String> {
    let mut out = Vec::new();
    let code = line.split("//").next().unwrap_or("");
    for (prefix, base) in [("crate::", String::new()), ("super::", parent(me))] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `evl_sdk::crate::` never occurs, but `xsuper::` is not ours
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let full = if base.is_empty() {
                segs.join("::")
            } else if segs.is_empty() {
                base.clone()
            } else {
                format!("{base}::{}", segs.join("::"))
            };
            out.push(full.clone());
            // `use crate::{a, b::c}` names several modules.
            if rest.starts_with('{') || path.ends_with("::") {
                let inner: String = rest
                    .trim_start_matches(':')
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| *c != '}')
                    .collect();
                for item in inner.split(',') {
                    let item: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    if !item.is_empty() {
                        out.push(if full.is_empty() {
                            item
                        } else {
                            format!("{full}::{item}")
                        });
                    }
                }
            }
        }
    }
    out
}

/// The module `super` names from `me` (the parent, whether `me` is a file or a directory).
fn parent(me: &str) -> String {
    match me.rfind("::") {
        Some(i) => me[..i].to_owned(),
        None => String::new(),
    }
}

/// The longest prefix of `path` that is a known module.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segs: Vec<&str> = path.split("::").collect();
    (1..=segs.len())
        .rev()
        .map(|n| segs[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.g.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let l = t.low[v].min(t.low[w]);
                    t.low.insert(v, l);
                } else if t.on.contains(w) {
                    let l = t.low[v].min(t.index[w]);
                    t.low.insert(v, l);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The module graph of one crate: each module's dependencies, and a source line for each edge.
struct ModuleGraph {
    edges: BTreeMap<String, BTreeSet<String>>,
    why: BTreeMap<(String, String), String>,
}

/// The module graph of one crate.
fn graph(c: &Crate) -> ModuleGraph {
    let mut files = Vec::new();
    rust_files(&c.src, &mut files);
    let mods: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|f| (module_of(&c.src, f, c.root), f.clone()))
        .collect();
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why = BTreeMap::new();
    for (me, file) in &mods {
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs") || me.is_empty();
        g.entry(me.clone()).or_default();
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for p in named(line, me) {
                let Some(target) = resolve(&p, &known) else {
                    continue;
                };
                let contained = is_mod_rs && (me.is_empty() || target.starts_with(&format!("{me}::")));
                if target == *me || target.is_empty() || contained {
                    continue;
                }
                why.entry((me.clone(), target.clone()))
                    .or_insert_with(|| format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                g.get_mut(me).unwrap().insert(target);
            }
        }
    }
    ModuleGraph { edges: g, why }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn ledger_and_server_have_no_import_cycle() {
    let crates = [
        Crate {
            name: "evl-ledger",
            src: workspace().join("ledger/src"),
            root: "lib",
        },
        Crate {
            name: "evl-server (lib)",
            src: workspace().join("server/src"),
            root: "lib",
        },
    ];
    let mut report = String::new();
    for c in &crates {
        let ModuleGraph { edges: g, why } = graph(c);
        // The server's binary modules (main.rs, cli, cmd, output) are a second crate in the same
        // directory; both crates are checked together (their module names do not collide).
        for cycle in cycles(&g) {
            report.push_str(&format!("{}: import cycle among {}\n", c.name, cycle.join(", ")));
            for a in &cycle {
                for b in &cycle {
                    if let Some(w) = why.get(&(a.clone(), b.clone())) {
                        report.push_str(&format!("  {a} -> {b}: {w}\n"));
                    }
                }
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

/// The checker finds a cycle it is shown (so an empty report means something).
#[test]
fn the_checker_finds_a_planted_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod d;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::X;\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{c::Y, a};\n").unwrap();
    std::fs::write(src.join("c.rs"), "").unwrap();
    std::fs::write(src.join("d/mod.rs"), "mod e;\npub use e::Z;\n").unwrap();
    std::fs::write(src.join("d/e.rs"), "use super::W;\n").unwrap();
    let g = graph(&Crate {
        name: "t",
        src,
        root: "lib",
    })
    .edges;
    assert_eq!(cycles(&g), vec![vec!["a".to_owned(), "b".to_owned()]]);
}
