//! The layering of the library: `src/lib.rs` declares its modules in dependency order, and no
//! module refers to one declared after it. So the import graph has no cycles, the core never
//! reaches into the shells (capture sources, threads, live capture, the command line), and
//! reading `lib.rs` top to bottom follows the pipeline.
//!
//! Read from the sources: every `crate::NAME` path (in `use` lines and inline, grouped or not,
//! `$crate` included) and every `super::` chain that climbs to the crate root, in every file
//! under `src/` (tests included), after comments, strings and character literals are blanked.

use std::path::{Path, PathBuf};

/// One token of a cleaned source: an identifier, `::`, or another single character.
#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Path,
    Punct(char),
}

/// The source with comments, string literals and character literals replaced by spaces
/// (line breaks kept, so line numbers still hold).
fn blank_non_code(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (!prev_ident || (i > 0 && c[i - 1] == 'b' && !(i > 1 && is_ident(c[i - 2]))))
            && matches!(c.get(i + 1), Some('"') | Some('#'))
        {
            // A raw string r"…" or r#"…"# (or an identifier r#name, left alone).
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', j - i - 1))
                .collect();
            out.push_str(&" ".repeat(j + 1 - i));
            i = j + 1;
            while i < c.len() && !c[i..].starts_with(&closing) {
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push_str(&" ".repeat(closing.len()));
            i += closing.len();
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            // An escaped character literal: '\n', '\'', '\u{…}'.
            out.push_str("  ");
            i += 2;
            while i < c.len() && c[i] != '\'' {
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            // A one-character literal ('"', 'a'); anything else after a quote is a lifetime.
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The tokens of cleaned code, each with its 1-based line.
fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push((Tok::Path, line));
            i += 2;
        } else {
            toks.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    toks
}

/// The crate-root names a file refers to, each with its line: `crate::NAME`, `crate::{A, B}`,
/// and `super::…::NAME` chains that climb out of the file's module (`depth` is how deep the
/// file's module sits: 1 for `src/wire/mod.rs` or `src/types.rs`, 2 for `src/wire/ip.rs`).
fn root_references(src: &str, depth: usize) -> Vec<(String, usize)> {
    let toks = tokens(&blank_non_code(src));
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, t: &Tok| toks.get(k).is_some_and(|(x, _)| x == t);
    let mut found = Vec::new();
    // The names a path goes on with after the crate root, from token `k`: one name, or the
    // first name of every item of a group.
    let names_from = |k: usize, found: &mut Vec<(String, usize)>| {
        if let Some(name) = ident(k) {
            found.push((name.to_owned(), toks[k].1));
        } else if is(k, &Tok::Punct('{')) {
            let (mut level, mut item_start, mut j) = (0, true, k);
            while j < toks.len() {
                match &toks[j].0 {
                    Tok::Punct('{') => {
                        level += 1;
                        item_start = level == 1;
                    }
                    Tok::Punct('}') => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    Tok::Punct(',') if level == 1 => item_start = true,
                    Tok::Ident(s) if item_start && level == 1 => {
                        found.push((s.clone(), toks[j].1));
                        item_start = false;
                    }
                    _ => item_start = false,
                }
                j += 1;
            }
        }
    };
    // Inline modules (`mod tests { … }`) open inside the file: the brace depth of each.
    let mut braces = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new();
    for (k, (tok, _)) in toks.iter().enumerate() {
        match tok {
            Tok::Punct('{') => {
                braces += 1;
                if k >= 2 && ident(k - 2) == Some("mod") && ident(k - 1).is_some() {
                    inline_mods.push(braces);
                }
            }
            Tok::Punct('}') => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            Tok::Ident(s) if s == "crate" && is(k + 1, &Tok::Path) => names_from(k + 2, &mut found),
            Tok::Ident(s) if s == "super" && !(k > 0 && is(k - 1, &Tok::Path)) => {
                let mut climbs = 1;
                let mut j = k + 1;
                while is(j, &Tok::Path) && ident(j + 1) == Some("super") {
                    climbs += 1;
                    j += 2;
                }
                if climbs == depth + inline_mods.len() && is(j, &Tok::Path) {
                    names_from(j + 1, &mut found);
                }
            }
            _ => {}
        }
    }
    found
}

/// The modules `src/lib.rs` declares, in order.
fn declared_modules(lib: &str) -> Vec<String> {
    let toks = tokens(&blank_non_code(lib));
    let mut mods = Vec::new();
    for k in 0..toks.len() {
        if let (Tok::Ident(kw), Some((Tok::Ident(name), _)), Some((Tok::Punct(';'), _))) =
            (&toks[k].0, toks.get(k + 1), toks.get(k + 2))
            && kw == "mod"
        {
            mods.push(name.clone());
        }
    }
    mods
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The top-level module a file belongs to and how deep its own module sits, from its path
/// under `src/`; `None` for the crate roots.
fn module_of(rel: &Path) -> Option<(String, usize)> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.last()?.trim_end_matches(".rs").to_owned();
    if parts.len() == 1 && (last == "lib" || last == "main") {
        return None;
    }
    let top = parts[0].trim_end_matches(".rs").to_owned();
    let depth = if last == "mod" {
        parts.len() - 1
    } else {
        parts.len()
    };
    Some((top, depth))
}

/// Every reference in `files` (path under `src/`, text) to a module declared after the
/// referring file's module, as `file:line: message`.
fn violations(order: &[String], files: &[(PathBuf, String)]) -> Vec<String> {
    let rank = |name: &str| order.iter().position(|m| m == name);
    let mut bad = Vec::new();
    for (rel, text) in files {
        let Some((module, depth)) = module_of(rel) else {
            continue;
        };
        let Some(own) = rank(&module) else {
            bad.push(format!(
                "src/{}: belongs to `{module}`, which src/lib.rs does not declare",
                rel.display()
            ));
            continue;
        };
        for (name, line) in root_references(text, depth) {
            if let Some(other) = rank(&name)
                && other > own
            {
                bad.push(format!(
                    "src/{}:{line}: `{module}` refers to `crate::{name}`, declared after it in \
                     src/lib.rs",
                    rel.display()
                ));
            }
        }
    }
    bad
}

fn sources() -> (Vec<String>, Vec<(PathBuf, String)>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    let files = paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable source");
            (p.strip_prefix(&src).expect("under src").to_path_buf(), text)
        })
        .collect();
    (declared_modules(&lib), files)
}

#[test]
fn every_module_refers_only_to_modules_declared_before_it_in_lib_rs() {
    let (order, files) = sources();
    let bad = violations(&order, &files);
    assert!(
        bad.is_empty(),
        "src/lib.rs declares modules in dependency order (see its comments); these references \
         go against it:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_shells_come_after_the_core_and_the_printers() {
    let (order, _) = sources();
    let rank = |name: &str| {
        order
            .iter()
            .position(|m| m == name)
            .unwrap_or_else(|| panic!("src/lib.rs declares `{name}`"))
    };
    let first_shell = ["capture", "threads", "live", "cli"].map(rank);
    let last_inner = ["wire", "findings", "report", "pipeline", "output"].map(rank);
    assert!(
        last_inner.iter().max() < first_shell.iter().min(),
        "the shells (capture, threads, live, cli) are declared after the core, the report and \
         the printers: {order:?}"
    );
}

#[test]
fn the_reading_of_the_sources_finds_what_it_should() {
    let (order, files) = sources();
    // The check above is only as good as this reading: it must see real edges.
    let refs = |file: &str| -> Vec<String> {
        let (rel, text) = files
            .iter()
            .find(|(p, _)| p == Path::new(file))
            .expect("file exists");
        let depth = module_of(rel).expect("a module").1;
        root_references(text, depth)
            .into_iter()
            .map(|r| r.0)
            .collect()
    };
    assert_eq!(order.first().map(String::as_str), Some("types"));
    let pipeline = refs("pipeline.rs");
    for stage in [
        "wire",
        "tcp",
        "http",
        "session",
        "transaction",
        "findings",
        "report",
    ] {
        assert!(pipeline.iter().any(|n| n == stage), "{stage}: {pipeline:?}");
    }
    assert!(refs("cli.rs").iter().any(|n| n == "threads"));
}

#[test]
fn a_reference_to_a_later_module_is_caught_wherever_it_is_written() {
    let order: Vec<String> = ["types", "wire", "capture"].map(String::from).to_vec();
    let check =
        |file: &str, text: &str| violations(&order, &[(PathBuf::from(file), text.to_owned())]);
    // Caught: a plain use, a group, an inline path, a macro's `$crate`, a climb by `super`.
    let caught = [
        "use crate::capture::Frame;",
        "use crate::{\n    types::Nanos,\n    capture::Frame,\n};",
        "fn f() { let _ = crate::capture::InputSpec::Stdin; }",
        "macro_rules! m { () => { $crate::capture::x() } }",
        "mod tests { use super::super::capture::Frame; }",
    ];
    for text in caught {
        let found = check("wire/mod.rs", text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert!(found[0].starts_with("src/wire/mod.rs:"), "{found:?}");
    }
    assert!(
        check(
            "wire/mod.rs",
            "use crate::types::Nanos;\nuse crate::capture::Frame;"
        )[0]
        .starts_with("src/wire/mod.rs:2:")
    );
    assert!(check("wire/ip.rs", "use super::super::capture::Frame;").len() == 1);
    // Not caught: comments, strings, character literals, earlier modules, `super` within
    // the module, the module itself.
    let fine = [
        "// use crate::capture::Frame;\n/// [`crate::capture::Frame`]\nuse crate::types::Nanos;",
        "/* crate::capture /* nested */ crate::capture */",
        "const S: &str = \"crate::capture\"; const R: &str = r#\"crate::capture\"#;",
        "const Q: u8 = b'\"'; const T: &str = \"crate::capture\"; fn f<'a>(x: &'a str) {}",
        "use super::capture::Frame;",
        "use crate::wire::Decoder; pub(crate) fn f() {}",
    ];
    for text in fine {
        assert_eq!(check("wire/ip.rs", text), Vec::<String>::new(), "{text}");
    }
    // A file of no declared module is reported too.
    assert_eq!(check("stray.rs", "").len(), 1);
}
