//! Architecture invariant: the top-level modules of `weft-peer` and
//! `weft-orderer` form no cycle. A service names what it needs as a trait in
//! its own module; the node implements it and wires the services, so the
//! node depends on the services and never the reverse.
//!
//! Read from the sources as text: a module depends on another when its
//! non-test code names `crate::other`. Test-only modules (`tests.rs`,
//! `#[cfg(test)] mod …` in `lib.rs` or inline) are left out, since tests may
//! reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the modules it names, with one file that names each.
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// Names declared `#[cfg(test)] mod name;` in `lib.rs`.
fn test_only_modules(lib: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = lib.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]")
        .filter_map(|w| w[1].strip_prefix("mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// The code before the first inline `#[cfg(test)] mod … {`.
fn without_inline_tests(src: &str) -> &str {
    for (i, attr) in src.match_indices("#[cfg(test)]") {
        let Some(decl) = src[i + attr.len()..].trim_start().strip_prefix("mod ") else {
            continue;
        };
        let (brace, semi) = (decl.find('{'), decl.find(';'));
        if brace.is_some_and(|b| semi.is_none_or(|s| b < s)) {
            return &src[..i];
        }
    }
    src
}

/// The identifiers `src` names as `crate::x` or inside `crate::{x, y::z}`.
fn crate_references(src: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in src.match_indices("crate::") {
        let rest = &src[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                out.insert(ident(part.trim()));
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

fn graph(src_dir: &Path) -> Graph {
    let lib = std::fs::read_to_string(src_dir.join("lib.rs")).unwrap();
    let skip = test_only_modules(&lib);
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "lib" | "main" | "tests") || skip.contains(&name) {
            continue;
        }
        let files = modules.entry(name).or_default();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, files)| {
            let mut deps = BTreeMap::new();
            for file in files {
                let src = std::fs::read_to_string(file).unwrap();
                for r in crate_references(without_inline_tests(&src)) {
                    if names.contains(&r) && r != *module {
                        deps.entry(r).or_insert_with(|| file.clone());
                    }
                }
            }
            (module.clone(), deps)
        })
        .collect()
}

/// One cycle, as the path of modules around it, if there is any.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        m: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for dep in g.get(m).into_iter().flat_map(|d| d.keys()) {
            if let Some(c) = visit(g, dep, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|m| visit(g, m, &mut Vec::new(), &mut done))
}

fn assert_acyclic(krate: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src");
    let g = graph(&dir);
    assert!(
        g.len() > 5,
        "{krate}: too few modules read from {}",
        dir.display()
    );
    if let Some(cycle) = find_cycle(&g) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} ({})", w[0], w[1], g[&w[0]][&w[1]].display()))
            .collect();
        panic!("{krate} has a module cycle:\n  {}", steps.join("\n  "));
    }
}

#[test]
fn the_peers_modules_form_no_cycle() {
    assert_acyclic("peer");
}

#[test]
fn the_orderers_modules_form_no_cycle() {
    assert_acyclic("orderer");
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut g = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into())
            .or_default()
            .insert(b.into(), PathBuf::from(format!("{a}.rs")));
    };
    edge(&mut g, "node", "gateway");
    edge(&mut g, "gateway", "endorser");
    assert_eq!(find_cycle(&g), None);
    edge(&mut g, "endorser", "node");
    let cycle = find_cycle(&g).unwrap();
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4);
}

#[test]
fn references_are_read_from_paths_and_groups_but_not_inline_tests() {
    let src = "use crate::{a, b::X};\nfn f() { crate::c::g(); }\n#[cfg(test)]\nmod tests {\n use crate::d;\n}\n";
    let refs = crate_references(without_inline_tests(src));
    assert_eq!(refs, ["a", "b", "c"].map(String::from).into());
    assert_eq!(
        test_only_modules("pub mod x;\n#[cfg(test)]\nmod fake;\n"),
        ["fake".to_string()].into()
    );
}
