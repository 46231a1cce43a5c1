//! The import graph, read from the code (every `use` tree and every `crate::`/`super::`
//! path in `src/`, the binary's `main.rs` and `cmd/` aside): no file imports a room above
//! its own, and no files import each other in a circle. The rooms and their order are
//! ARCHITECTURE.md's; a new import that breaks either rule fails here, naming the files.
//!
//! Imports not yet moved to where they belong are listed in `KNOWN` with what they wait
//! for; the test also fails when one of them is gone, so the list stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module as its path below the crate: `["lake", "object"]` is `src/lake/object.rs`.
type Module = Vec<String>;

/// The rooms from the bottom up: a file may import its own room and the rooms below it.
/// Rooms on one line are side by side: neither imports the other (but the bottom line is
/// a toolbox whose files may use each other).
const ROOMS: &[&[&str]] = &[
    &[
        "util",
        "china_time",
        "exit",
        "gzip",
        "progress",
        "table",
        "generator",
    ],
    &["lake", "sources"],
    &["cdnlog", "report", "query"],
    &["config"],
    &["pipeline"],
    &["platforms"],
];

/// Imports that break the rules today, each with the issue that moves it.
const KNOWN: &[(&str, &str, &str)] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library file, by module.
fn modules() -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .to_string();
            if !rel.ends_with(".rs") || rel == "main.rs" || rel.starts_with("cmd/") {
                continue;
            }
            let mut module: Module = rel[..rel.len() - 3].split('/').map(String::from).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            out.insert(module, path);
        }
    }
    out
}

/// The code with comments, strings and characters blanked out (a doc comment's
/// `crate::` link or a glob in a string is not an import).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            let mut depth = 0;
            while i < b.len() {
                if text[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if text[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(rest) {
            let end = format!("\"{}", "#".repeat(hashes));
            let body = hashes + 2;
            i += body
                + rest[body..]
                    .find(&end)
                    .map_or(rest.len() - body, |e| e + end.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && is_char_literal(rest) {
            i += 1;
            while b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `br##"` …: the number of `#`.
fn raw_string_start(rest: &str) -> Option<usize> {
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    let rest = rest.strip_prefix('r')?;
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    rest[hashes..].starts_with('"').then_some(hashes)
}

/// `'x'`, `'\n'`, `'\u{1F600}'`, not a lifetime `'a`.
fn is_char_literal(rest: &str) -> bool {
    let mut chars = rest.chars().skip(1);
    match chars.next() {
        Some('\\') => true,
        Some(_) => chars.next() == Some('\''),
        None => false,
    }
}

/// A `use` tree as the paths it names: `a::{b, c::{d as e}}` → `a::b`, `a::c::d`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.split_whitespace().collect()];
    };
    let prefix: String = tree[..open].split_whitespace().collect();
    let body = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p).into_iter().map(|q| format!("{prefix}{q}")))
        .collect()
}

struct Graph {
    modules: BTreeMap<Module, PathBuf>,
    /// `pub use` re-exports: (module, name) → the path it names, as written there.
    reexports: BTreeMap<(Module, String), String>,
    code: BTreeMap<Module, String>,
}

impl Graph {
    fn read() -> Graph {
        let modules = modules();
        let code: BTreeMap<Module, String> = modules
            .iter()
            .map(|(m, p)| (m.clone(), code_only(&std::fs::read_to_string(p).unwrap())))
            .collect();
        let mut reexports = BTreeMap::new();
        for (module, text) in &code {
            for tree in use_trees(text, true) {
                for path in expand(&tree) {
                    let name = path.rsplit("::").next().unwrap().to_string();
                    reexports.insert((module.clone(), name), path);
                }
            }
        }
        Graph {
            modules,
            reexports,
            code,
        }
    }

    /// The file that `path` (as written in `from`) names: the longest module prefix,
    /// followed through that module's re-exports.
    fn resolve(&self, from: &Module, path: &str, depth: usize) -> Option<Module> {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut full: Module = match segments[0] {
            "crate" => Vec::new(),
            "self" => from.clone(),
            "super" => {
                let mut base = from.clone();
                while segments.first() == Some(&"super") {
                    base.pop();
                    segments.remove(0);
                }
                segments.insert(0, "self");
                base
            }
            // A child module named without `self::` (`use columns::X;` in a mod.rs).
            first if self.modules.contains_key(&child(from, first)) => {
                segments.insert(0, "self");
                from.clone()
            }
            _ => return None,
        };
        full.extend(segments[1..].iter().map(|s| s.to_string()));
        let k = (0..=full.len())
            .rev()
            .find(|&k| self.modules.contains_key(&full[..k]))?;
        let target = full[..k].to_vec();
        if let (Some(name), true) = (full.get(k), depth < 8) {
            if let Some(reexport) = self.reexports.get(&(target.clone(), name.clone())) {
                if let Some(found) = self.resolve(&target, reexport, depth + 1) {
                    return Some(found);
                }
            }
        }
        Some(target)
    }

    /// file → the files it imports.
    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (module, text) in &self.code {
            let mut paths: Vec<String> = use_trees(text, false)
                .iter()
                .flat_map(|t| expand(t))
                .collect();
            paths.extend(inline_paths(text));
            for path in paths {
                if let Some(target) = self.resolve(module, &path, 0) {
                    if &target != module && !target.is_empty() {
                        out.entry(module.clone()).or_default().insert(target);
                    }
                }
            }
        }
        out
    }
}

fn child(module: &Module, name: &str) -> Module {
    let mut c = module.clone();
    c.push(name.to_string());
    c
}

/// The trees of every `use …;` (only `pub use` ones when `public`).
fn use_trees(code: &str, public: bool) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let at = from + found;
        from = at + 4;
        let word_start =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !word_start {
            continue;
        }
        let before = code[..at].trim_end();
        let is_pub = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        if public && !is_pub {
            continue;
        }
        if let Some(end) = code[from..].find(';') {
            out.push(code[from..from + end].to_string());
        }
    }
    out
}

/// `crate::a::b` and `super::a` paths written in the code itself.
fn inline_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            let prev = code[..at].chars().next_back();
            if prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let len = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - at);
            out.push(code[at..at + len].trim_end_matches(':').to_string());
        }
    }
    out
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "lib".into()
    } else {
        module.join("/")
    }
}

fn rank(module: &Module) -> (usize, &str) {
    let room = module.first().map(String::as_str).unwrap_or("lib");
    let level = ROOMS
        .iter()
        .position(|rooms| rooms.contains(&room))
        .unwrap_or_else(|| panic!("src/{room} is in no room of ARCHITECTURE.md: add it to ROOMS"));
    (level, room)
}

fn known(from: &Module, to: &Module) -> bool {
    KNOWN
        .iter()
        .any(|(a, b, _)| *a == name(from) && *b == name(to))
}

/// Imports that run to a room above, or across to a room beside.
fn room_breaks(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<(Module, Module)> {
    let mut out = Vec::new();
    for (from, targets) in edges {
        if from.is_empty() {
            continue; // lib.rs declares the rooms
        }
        for to in targets {
            let ((a, room_a), (b, room_b)) = (rank(from), rank(to));
            if b > a || (a == b && a > 0 && room_a != room_b) {
                out.push((from.clone(), to.clone()));
            }
        }
    }
    out
}

/// Files that import each other, directly or through others. A room's `mod.rs` is its
/// front door (it declares the files and re-exports from them; names it defines itself
/// are imported by its files), so it is left out; every other file counts.
fn circles(
    edges: &BTreeMap<Module, BTreeSet<Module>>,
    modules: &BTreeMap<Module, PathBuf>,
) -> Vec<(Module, Module)> {
    let front = |m: &Module| {
        let file = modules[m].to_string_lossy();
        file.ends_with("mod.rs") || file.ends_with("lib.rs")
    };
    let reach = |from: &Module| -> BTreeSet<Module> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if !front(next) && seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut out = Vec::new();
    for (from, targets) in edges {
        if front(from) {
            continue;
        }
        for to in targets {
            if !front(to) && reach(to).contains(from) {
                out.push((from.clone(), to.clone()));
            }
        }
    }
    out
}

fn report(found: Vec<(Module, Module)>, what: &str) -> Vec<(Module, Module)> {
    let new: Vec<String> = found
        .iter()
        .filter(|(a, b)| !known(a, b))
        .map(|(a, b)| format!("src/{} → src/{}", name(a), name(b)))
        .collect();
    assert!(new.is_empty(), "{what}:\n  {}", new.join("\n  "));
    found
}

#[test]
fn no_room_imports_a_room_above_or_beside_it() {
    let graph = Graph::read();
    let edges = graph.edges();
    // The graph is read at all: the pipeline imports the lake, the report does not import
    // the pipeline.
    assert!(edges[&vec!["pipeline".to_string(), "ingest".to_string()]]
        .iter()
        .any(|m| m.first().map(String::as_str) == Some("lake")));
    let found = report(
        room_breaks(&edges),
        "imports from a lower room to a higher one",
    );
    // The room graph, for whoever reads the test's output (`--nocapture`): each room's
    // imports of the others, counted by file pairs.
    let mut rooms: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (from, tos) in &edges {
        for to in tos {
            if from[0] != to[0] {
                *rooms.entry((from[0].clone(), to[0].clone())).or_default() += 1;
            }
        }
    }
    for ((from, to), files) in &rooms {
        eprintln!("{from} → {to}: {files}");
    }
    let circles = circles(&edges, &graph.modules);
    let found_circles = report(circles, "files that import each other in a circle");
    // Every known break is still there (else it is fixed: take it off the list).
    for (a, b, why) in KNOWN {
        assert!(
            found
                .iter()
                .chain(&found_circles)
                .any(|(x, y)| name(x) == *a && name(y) == *b),
            "src/{a} → src/{b} is gone ({why}): take it off KNOWN"
        );
    }
}

#[test]
fn the_reader_sees_imports_as_written() {
    assert_eq!(
        expand("crate::lake::{columns::{Push, Strings as S}, Lake}"),
        [
            "crate::lake::columns::Push",
            "crate::lake::columns::Strings",
            "crate::lake::Lake"
        ]
    );
    let code = code_only(
        "use a; // use crate::x;\nlet s = \"crate::y\"; let c = '\"'; f::<'a>(crate::z::W);",
    );
    assert_eq!(inline_paths(&code), ["crate::z::W"]);
    assert_eq!(use_trees(&code, false), ["a"]);
    assert_eq!(code_only("r#\"crate::q\"# x"), "\"\" x");
}

/// The generator, below the lake, spells the lake's label of untagged traffic itself.
#[test]
fn the_generator_labels_untagged_traffic_as_the_lake_does() {
    assert_eq!(cdncost::generator::UNTAGGED, cdncost::lake::UNTAGGED);
}

/// Files outside a platform's own folder (`src/platforms/<name>/`) whose code, strings
/// included, names WeChat or Polyv, each with why it may: the registry, the commands'
/// help and the demo (and its sample data), and the lake's names from before accounts.
/// A new one fails here (a platform fact leaking into a shared room), and so does one
/// that no longer names them (the list stays true). Comments may name them.
const NAMING_PLATFORMS: &[(&str, &str)] = &[
    (
        "platforms/mod.rs",
        "the registry: the one list of platforms",
    ),
    (
        "platforms/loopback.rs",
        "starts every platform's loopback server together",
    ),
    ("cmd/mod.rs", "the help says what cdncost is for"),
    ("cmd/fetch.rs", "one subcommand per source, with its help"),
    ("cmd/demo.rs", "the demo starts both loopback servers"),
    (
        "cmd/generate.rs",
        "the sample data has both platforms' files",
    ),
    (
        "generator/mod.rs",
        "the sample data has both platforms' files",
    ),
    (
        "cdnlog/line.rs",
        "its tests parse real lines, whose referer is servicewechat.com",
    ),
    (
        "lake/scope.rs",
        "files from before accounts are the first platforms' default accounts",
    ),
    (
        "lake/catalogue.rs",
        "the tables and manifests from before accounts keep their owners' names",
    ),
];

/// `text` with its `//` comments (and doc comments) removed, strings kept.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut in_string = false;
            let bytes = line.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if in_string => i += 1,
                    b'"' => in_string = !in_string,
                    b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
                    _ => {}
                }
                i += 1;
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn platform_names_stay_in_their_folders() {
    let mut naming = BTreeSet::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .to_string();
            if path.is_dir() {
                // A platform's own folder may name itself.
                if !(rel.starts_with("platforms/") && rel.matches('/').count() == 1) {
                    dirs.push(path);
                }
                continue;
            }
            if !rel.ends_with(".rs") {
                continue;
            }
            let code = without_comments(&std::fs::read_to_string(&path).unwrap()).to_lowercase();
            if code.contains("wechat") || code.contains("polyv") {
                naming.insert(rel);
            }
        }
    }
    let allowed: BTreeSet<String> = NAMING_PLATFORMS
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    let new: Vec<&String> = naming.difference(&allowed).collect();
    let gone: Vec<&String> = allowed.difference(&naming).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "files naming a platform outside its folder: new {new:?}, no longer {gone:?}"
    );
    assert!(naming.len() <= 10, "{} files name a platform", naming.len());
}
