//! Just enough reading of Rust source to find what a function needs from its environment.
//!
//! Three facts are read from text: the environment variables a function declares (its
//! `pub const NAME_ENV: &str = "NAME";` constants in `functions/<name>/src/config.rs`),
//! the AWS SDK operations it calls (fluent chains ending in `.send()`), and which files of
//! an adapter crate it uses (the items it names through `jcwatch_aws::` and what those
//! files name through `crate::` and `super::`). Comments, string contents and
//! `#[cfg(test)]` items are blanked first, keeping byte offsets so lines stay right.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// One source file with its test-only items blanked, in two forms: with comments blanked
/// (`without_comments`, for string literals) and with comments and string contents
/// blanked (`code`, for structure).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Path relative to the repository root, with `/` separators, for messages.
    pub shown: String,
    pub without_comments: String,
    pub code: String,
}

impl SourceFile {
    pub fn read(path: &Path, repo: &Path) -> Result<SourceFile, String> {
        let raw =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(SourceFile::from_text(path, repo, &raw))
    }

    pub fn from_text(path: &Path, repo: &Path, raw: &str) -> SourceFile {
        let shown = path
            .strip_prefix(repo)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let no_strings = blank(raw, true);
        let test_items = test_item_ranges(&no_strings);
        let without_comments = blank_ranges(&blank(raw, false), &test_items);
        let code = blank_ranges(&no_strings, &test_items);
        SourceFile {
            path: path.to_path_buf(),
            shown,
            without_comments,
            code,
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.code[..offset.min(self.code.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }
}

/// Every `.rs` file under `dir`, sorted.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Replaces comments (and, with `strings`, the contents of string and char literals) by
/// spaces, keeping newlines and byte offsets.
pub fn blank(src: &str, strings: bool) -> String {
    let bytes = src.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank_range = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |p| i + p);
                blank_range(&mut out, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                let start = i;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                blank_range(&mut out, start, i.min(bytes.len()));
            }
            b'r' if is_raw_string_start(bytes, i) => {
                let mut j = i + 1;
                let mut hashes = 0;
                while bytes.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                let content_start = j + 1;
                let mut k = content_start;
                let end = loop {
                    if k >= bytes.len() {
                        break bytes.len();
                    }
                    if bytes[k] == b'"'
                        && bytes[k + 1..].iter().take(hashes).all(|b| *b == b'#')
                        && bytes.len() >= k + 1 + hashes
                    {
                        break k;
                    }
                    k += 1;
                };
                if strings {
                    blank_range(&mut out, content_start, end);
                }
                i = (end + 1 + hashes).min(bytes.len());
            }
            b'"' => {
                let content_start = i + 1;
                let mut k = content_start;
                while k < bytes.len() && bytes[k] != b'"' {
                    k += if bytes[k] == b'\\' { 2 } else { 1 };
                }
                let end = k.min(bytes.len());
                if strings {
                    blank_range(&mut out, content_start, end);
                }
                i = end + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
                if bytes.get(i + 1) == Some(&b'\\') {
                    let end = bytes[i + 2..]
                        .iter()
                        .position(|b| *b == b'\'')
                        .map_or(bytes.len(), |p| i + 2 + p);
                    if strings {
                        blank_range(&mut out, i + 1, end);
                    }
                    i = end + 1;
                } else if let Some(len) = char_literal_len(&src[i + 1..]) {
                    if strings {
                        blank_range(&mut out, i + 1, i + 1 + len);
                    }
                    i += len + 2;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| src.to_owned())
}

fn is_raw_string_start(bytes: &[u8], i: usize) -> bool {
    let preceded_by_ident = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
    if preceded_by_ident {
        return false;
    }
    let mut j = i + 1;
    while bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    bytes.get(j) == Some(&b'"')
}

/// Length in bytes of the character of a char literal `'x'` starting at `rest`, if the
/// text there is one (and not a lifetime).
fn char_literal_len(rest: &str) -> Option<usize> {
    let c = rest.chars().next()?;
    let len = c.len_utf8();
    (rest.as_bytes().get(len) == Some(&b'\'')).then_some(len)
}

/// The byte ranges of the items annotated `#[cfg(test)]` (a test module, function or
/// impl), found in text whose comments and strings are already blank.
pub fn test_item_ranges(code: &str) -> Vec<std::ops::Range<usize>> {
    static CFG_TEST: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]").expect("regex"));
    let bytes = code.as_bytes();
    let mut ranges = Vec::new();
    for found in CFG_TEST.find_iter(code) {
        let mut i = found.end();
        // The item ends at the first `;` outside braces or at the brace closing its body.
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        ranges.push(found.start()..i.min(bytes.len()));
    }
    ranges
}

/// `text` with the given byte ranges replaced by spaces (newlines kept).
pub fn blank_ranges(text: &str, ranges: &[std::ops::Range<usize>]) -> String {
    let mut out = text.as_bytes().to_vec();
    for range in ranges {
        for byte in &mut out[range.clone()] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// An environment-variable constant: `pub const CURSOR_TABLE_ENV: &str = "CURSOR_TABLE";`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConstant {
    pub constant: String,
    pub variable: String,
    pub line: usize,
}

/// The `..._ENV` string constants of a file (the convention of `functions/*/src/config.rs`).
pub fn env_constants(file: &SourceFile) -> Vec<EnvConstant> {
    static ENV_CONST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?m)\bconst\s+([A-Z][A-Z0-9_]*_ENV)\s*:\s*&\s*(?:'static\s+)?str\s*=\s*"([^"]*)"\s*;"#,
        )
        .expect("regex")
    });
    ENV_CONST
        .captures_iter(&file.without_comments)
        .map(|caps| EnvConstant {
            constant: caps[1].to_owned(),
            variable: caps[2].to_owned(),
            line: file.line_of(caps.get(0).map_or(0, |m| m.start())),
        })
        .collect()
}

/// Environment variables read with a string literal (`env::var("X")`), which bypasses
/// the config.rs constants: `(variable, line)`.
pub fn literal_env_reads(file: &SourceFile) -> Vec<(String, usize)> {
    static LITERAL_READ: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"\benv::var(?:_os)?\s*\(\s*"([^"]*)""#).expect("regex"));
    LITERAL_READ
        .captures_iter(&file.without_comments)
        .map(|caps| {
            let offset = caps.get(0).map_or(0, |m| m.start());
            (caps[1].to_owned(), file.line_of(offset))
        })
        .collect()
}

/// A method call in a chain: `.name(args)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodCall {
    pub name: String,
    pub empty_args: bool,
    pub offset: usize,
}

/// Every chain of method calls `a.b().c(x).d()` in `code` (comments and strings blank),
/// including the chains inside call arguments and closures.
pub fn method_chains(code: &str) -> Vec<Vec<MethodCall>> {
    let mut chains = Vec::new();
    scan_chains(code.as_bytes(), 0, code.len(), &mut chains);
    chains
}

fn scan_chains(bytes: &[u8], from: usize, to: usize, chains: &mut Vec<Vec<MethodCall>>) {
    let mut i = from;
    let mut current: Vec<MethodCall> = Vec::new();
    while i < to {
        if bytes[i] == b'.' && i + 1 < to && is_ident_start(bytes[i + 1]) {
            let name_start = i + 1;
            let mut j = name_start;
            while j < to && is_ident_char(bytes[j]) {
                j += 1;
            }
            let name = String::from_utf8_lossy(&bytes[name_start..j]).into_owned();
            let mut k = skip_turbofish(bytes, skip_ws(bytes, j, to), to);
            if k < to && bytes[k] == b'(' {
                let close = matching_paren(bytes, k, to);
                let args = &bytes[k + 1..close];
                current.push(MethodCall {
                    name,
                    empty_args: args.iter().all(u8::is_ascii_whitespace),
                    offset: name_start,
                });
                scan_chains(bytes, k + 1, close, chains);
                k = skip_ws(bytes, close + 1, to);
                if k < to && bytes[k] == b'.' {
                    i = k;
                    continue;
                }
                chains.push(std::mem::take(&mut current));
                i = k;
                continue;
            }
            // A field access (`.client`, `.await`, `.0`) ends a chain.
            if !current.is_empty() {
                chains.push(std::mem::take(&mut current));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    if !current.is_empty() {
        chains.push(current);
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_ws(bytes: &[u8], mut i: usize, to: usize) -> usize {
    while i < to && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn skip_turbofish(bytes: &[u8], i: usize, to: usize) -> usize {
    if i + 2 < to && bytes[i] == b':' && bytes[i + 1] == b':' && bytes[i + 2] == b'<' {
        let mut depth = 0usize;
        let mut j = i + 2;
        while j < to {
            match bytes[j] {
                b'<' => depth += 1,
                b'>' => {
                    depth -= 1;
                    if depth == 0 {
                        return skip_ws(bytes, j + 1, to);
                    }
                }
                _ => {}
            }
            j += 1;
        }
    }
    i
}

fn matching_paren(bytes: &[u8], open: usize, to: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < to {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    to.saturating_sub(1).max(open)
}

/// Every path that starts with `prefix::` in `code`, as its segments after the prefix:
/// `use jcwatch_aws::{dynamo::Store, Invoker};` gives `[dynamo, Store]` and `[Invoker]`,
/// and `jcwatch_aws::Store::new(..)` gives `[Store, new]`. A glob gives `[*]`.
pub fn paths_after(code: &str, prefix: &str) -> BTreeSet<Vec<String>> {
    let mut paths = BTreeSet::new();
    let pattern = Regex::new(&format!(
        r"(?:^|[^A-Za-z0-9_]){}\s*::",
        regex::escape(prefix)
    ))
    .expect("regex");
    for found in pattern.find_iter(code) {
        let rest = &code[found.end()..];
        collect_paths(use_tree_text(rest), &mut paths);
    }
    paths
}

/// The text of a path or use tree at the start of `rest`: `a::b::C`, `{A, b::{C, D}}`.
fn use_tree_text(rest: &str) -> &str {
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'{' => depth += 1,
            b'}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if depth == 0 {
                    i += 1;
                    break;
                }
            }
            _ if depth > 0 => {}
            b':' | b'*' => {}
            _ if is_ident_char(b) || b.is_ascii_whitespace() => {
                // Whitespace only continues the path before `::` or inside braces.
                if b.is_ascii_whitespace() {
                    let next = skip_ws(bytes, i, bytes.len());
                    if !(bytes.get(next) == Some(&b':') || bytes.get(next) == Some(&b'{')) {
                        break;
                    }
                }
            }
            _ => break,
        }
        i += 1;
    }
    &rest[..i]
}

fn collect_paths(tree: &str, paths: &mut BTreeSet<Vec<String>>) {
    let mut prefix: Vec<Vec<String>> = vec![Vec::new()];
    let mut current: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut skip_alias = false;
    let flush_token = |token: &mut String, current: &mut Vec<String>, skip_alias: &mut bool| {
        if !token.is_empty() {
            if *skip_alias {
                *skip_alias = false;
            } else if token == "as" {
                *skip_alias = true;
            } else {
                current.push(std::mem::take(token));
            }
            token.clear();
        }
    };
    let finish =
        |current: &mut Vec<String>, prefix: &[Vec<String>], paths: &mut BTreeSet<Vec<String>>| {
            if !current.is_empty() {
                let mut path = prefix.last().cloned().unwrap_or_default();
                path.append(current);
                path.retain(|segment| segment != "self");
                if !path.is_empty() {
                    paths.insert(path);
                }
            }
        };
    for c in tree.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | '*' => token.push(c),
            '{' => {
                flush_token(&mut token, &mut current, &mut skip_alias);
                let mut nested = prefix.last().cloned().unwrap_or_default();
                nested.append(&mut current);
                prefix.push(nested);
            }
            '}' => {
                flush_token(&mut token, &mut current, &mut skip_alias);
                finish(&mut current, &prefix, paths);
                prefix.pop();
            }
            ',' => {
                flush_token(&mut token, &mut current, &mut skip_alias);
                finish(&mut current, &prefix, paths);
            }
            _ => flush_token(&mut token, &mut current, &mut skip_alias),
        }
    }
    flush_token(&mut token, &mut current, &mut skip_alias);
    finish(&mut current, &prefix, paths);
}

/// Names a crate is imported under in `code`: the crate name itself plus every
/// `use crate_name as alias;`.
pub fn crate_aliases(code: &str, crate_ident: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::from([crate_ident.to_owned()]);
    let pattern = Regex::new(&format!(
        r"\buse\s+{}\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*;",
        regex::escape(crate_ident)
    ))
    .expect("regex");
    for caps in pattern.captures_iter(code) {
        names.insert(caps[1].to_owned());
    }
    names
}

/// A library crate of the workspace read as files, to find which of them a caller uses.
#[derive(Debug)]
pub struct CrateSources {
    pub ident: String,
    pub src: PathBuf,
    pub files: Vec<SourceFile>,
}

impl CrateSources {
    pub fn read(ident: &str, crate_dir: &Path, repo: &Path) -> Result<CrateSources, String> {
        let src = crate_dir.join("src");
        let files = rust_files(&src)
            .iter()
            .map(|path| SourceFile::read(path, repo))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CrateSources {
            ident: ident.to_owned(),
            src,
            files,
        })
    }

    /// Indexes of the files that define `name` (an item, the self type or trait of an
    /// `impl`, or a module), or every file for `*`.
    pub fn files_defining(&self, name: &str) -> BTreeSet<usize> {
        if name == "*" {
            return (0..self.files.len()).collect();
        }
        let escaped = regex::escape(name);
        let item = Regex::new(&format!(
            r"\b(?:struct|enum|trait|type|fn|const|static|union|macro_rules!)\s+{escaped}\b"
        ))
        .expect("regex");
        let implementation =
            Regex::new(&format!(r"\bimpl\b[^{{;]*\b{escaped}\b[^{{;]*\{{")).expect("regex");
        let is_module_file = |path: &Path| {
            let Ok(relative) = path.strip_prefix(&self.src) else {
                return false;
            };
            relative.components().any(|component| {
                let part = component.as_os_str().to_string_lossy();
                part == name || part == format!("{name}.rs")
            })
        };

        self.files
            .iter()
            .enumerate()
            .filter(|(_, file)| {
                item.is_match(&file.code)
                    || implementation.is_match(&file.code)
                    || is_module_file(&file.path)
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The item a path of this crate names: its first segment that is not a module of
    /// the crate (`client::sdk_config` -> `sdk_config`, `Store::new` -> `Store`), or the
    /// last module when the path names a module.
    pub fn item_of(&self, path: &[String]) -> Option<String> {
        let modules = self.module_names();
        path.iter()
            .find(|segment| !modules.contains(segment.as_str()))
            .or_else(|| path.last())
            .cloned()
    }

    /// The files a caller uses when it names `paths` of this crate, closed over the files
    /// those name through `crate::` and `super::`. Names the caller uses that no file
    /// defines come back in the map (name -> who wanted it), so code is never skipped
    /// silently.
    pub fn files_used_by(
        &self,
        paths: &BTreeSet<Vec<String>>,
    ) -> (BTreeSet<usize>, BTreeMap<String, Vec<String>>) {
        let mut used = BTreeSet::new();
        let mut unresolved = BTreeMap::new();
        let mut pending: Vec<(String, Option<String>)> = paths
            .iter()
            .filter_map(|path| self.item_of(path))
            .map(|item| (item, None))
            .collect();
        let mut seen = BTreeSet::new();

        while let Some((item, wanted_by)) = pending.pop() {
            if !seen.insert(item.clone()) {
                continue;
            }
            let files = self.files_defining(&item);
            if files.is_empty() {
                match (self.reexport(&item), &wanted_by) {
                    (Some(ReExport::External), _) => {}
                    (Some(ReExport::Renamed(original)), _) => pending.push((original, wanted_by)),
                    // Only names the caller itself uses must be found; a `crate::` path
                    // that matches nothing in the crate holds no SDK call either.
                    (None, None) => {
                        unresolved
                            .entry(item)
                            .or_insert_with(Vec::new)
                            .push("the function".to_owned());
                    }
                    (None, Some(_)) => {}
                }
                continue;
            }
            for index in files {
                if used.insert(index) {
                    let file = &self.files[index];
                    for prefix in ["crate", "super"] {
                        for path in paths_after(&file.code, prefix) {
                            if let Some(inner) = self.item_of(&path) {
                                pending.push((inner, Some(file.shown.clone())));
                            }
                        }
                    }
                }
            }
        }
        (used, unresolved)
    }

    /// Every module name of the crate: file stems and directory names under `src`.
    fn module_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for file in &self.files {
            let Ok(relative) = file.path.strip_prefix(&self.src) else {
                continue;
            };
            for component in relative.components() {
                let name = component.as_os_str().to_string_lossy();
                let name = name.trim_end_matches(".rs");
                if !matches!(name, "lib" | "main" | "mod") {
                    names.insert(name.to_owned());
                }
            }
        }
        names
    }
}

/// How a name that no file of the crate defines reaches it.
enum ReExport {
    /// `pub use some_external_crate::Name;`: no code of this crate behind it.
    External,
    /// `pub use module::Original as Name;`: look for `Original` instead.
    Renamed(String),
}

impl CrateSources {
    fn reexport(&self, name: &str) -> Option<ReExport> {
        static USE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\buse\s+([^;]*);").expect("regex"));
        let renamed = Regex::new(&format!(
            r"([A-Za-z_][A-Za-z0-9_]*)\s+as\s+{}\b",
            regex::escape(name)
        ))
        .expect("regex");
        let word = Regex::new(&format!(r"\b{}\b", regex::escape(name))).expect("regex");
        let modules = self.module_names();

        for file in &self.files {
            for caps in USE.captures_iter(&file.code) {
                let tree = &caps[1];
                if !word.is_match(tree) {
                    continue;
                }
                if let Some(original) = renamed.captures(tree) {
                    return Some(ReExport::Renamed(original[1].to_owned()));
                }
                let first = tree
                    .trim_start_matches("::")
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .trim();
                let internal =
                    matches!(first, "crate" | "self" | "super") || modules.contains(first);
                if !internal {
                    return Some(ReExport::External);
                }
            }
        }
        None
    }
}

/// A function or method with a body: its name, the byte range of its body, and whether
/// it is defined inside an `impl` block (a method, reached only through `.name(` or a
/// `::name` path, never through a variable of the same name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnItem {
    pub name: String,
    pub body: std::ops::Range<usize>,
    pub is_method: bool,
}

/// Every `fn` with a body in `code` (comments and strings blank), nested ones included.
pub fn fn_items(code: &str) -> Vec<FnItem> {
    static FN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)").expect("regex"));
    let bytes = code.as_bytes();
    let impls = impl_ranges(code);
    let mut items = Vec::new();
    for caps in FN.captures_iter(code) {
        let start = caps.get(0).map_or(0, |m| m.start());
        let is_method = impls.iter().any(|range| range.contains(&start));
        let name = caps[1].to_owned();
        let mut i = caps.get(0).map_or(0, |m| m.end());
        // The body is the first `{` outside the parameter list and generics; a `;` first
        // means a declaration without a body (a trait method).
        let mut parens = 0usize;
        let mut open = None;
        while i < bytes.len() {
            match bytes[i] {
                b'(' | b'[' => parens += 1,
                b')' | b']' => parens = parens.saturating_sub(1),
                b';' if parens == 0 => break,
                b'{' if parens == 0 => {
                    open = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(open) = open else { continue };
        let mut depth = 0usize;
        let mut close = bytes.len();
        for (j, byte) in bytes.iter().enumerate().skip(open) {
            match byte {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        items.push(FnItem {
            name,
            body: open..close,
            is_method,
        });
    }
    items
}

/// The byte ranges of the bodies of `impl` blocks.
fn impl_ranges(code: &str) -> Vec<std::ops::Range<usize>> {
    static IMPL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bimpl\b[^{;]*\{").expect("regex"));
    let bytes = code.as_bytes();
    IMPL.find_iter(code)
        .map(|found| {
            let open = found.end() - 1;
            let mut depth = 0usize;
            let mut close = bytes.len();
            for (j, byte) in bytes.iter().enumerate().skip(open) {
                match byte {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = j + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            open..close
        })
        .collect()
}

/// Names used as methods or paths in `code`: `x.name(`, `x.name::<T>(` and `Path::name`.
pub fn method_uses(code: &str) -> BTreeSet<String> {
    static CALL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:::\s*<[^>]*>\s*)?\(").expect("regex")
    });
    static PATH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"::\s*([A-Za-z_][A-Za-z0-9_]*)").expect("regex"));
    CALL.captures_iter(code)
        .chain(PATH.captures_iter(code))
        .map(|caps| caps[1].to_owned())
        .collect()
}

/// Every identifier used in `code` other than as the name of a `fn` being defined.
pub fn used_words(code: &str) -> BTreeSet<String> {
    static WORD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)\b").expect("regex"));
    let mut words = BTreeSet::new();
    let mut previous = "";
    for caps in WORD.captures_iter(code) {
        let word = caps.get(1).map_or("", |m| m.as_str());
        if previous != "fn" {
            words.insert(word.to_owned());
        }
        previous = word;
    }
    words
}

/// `code` with everything blanked except the given byte ranges.
pub fn keep_only(code: &str, ranges: &[std::ops::Range<usize>]) -> String {
    let mut out: Vec<u8> = code
        .bytes()
        .map(|b| if b == b'\n' { b'\n' } else { b' ' })
        .collect();
    for range in ranges {
        out[range.clone()].copy_from_slice(&code.as_bytes()[range.clone()]);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The names of the DynamoDB indexes a file queries: the argument of every
/// `.index_name(...)` in `code`, a string literal or a `const` of the crate.
/// Unresolvable arguments come back as `Err` with the place.
pub fn index_names(
    file: &SourceFile,
    code: &str,
    crate_files: &[SourceFile],
) -> Vec<Result<(String, String), String>> {
    static CALL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\.index_name\s*\(").expect("regex"));
    static LITERAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^\s*"([^"]*)"\s*\)"#).expect("regex"));
    static CONSTANT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(?:[A-Za-z_][A-Za-z0-9_]*\s*::\s*)*([A-Z][A-Z0-9_]*)\s*\)").expect("regex")
    });
    let mut found = Vec::new();
    for call in CALL.find_iter(code) {
        let place = format!("{}:{}", file.shown, file.line_of(call.start()));
        let argument = &file.without_comments[call.end()..];
        if let Some(caps) = LITERAL.captures(argument) {
            found.push(Ok((caps[1].to_owned(), place)));
            continue;
        }
        let value = CONSTANT.captures(argument).and_then(|caps| {
            let definition = Regex::new(&format!(
                r#"\bconst\s+{}\s*:\s*&\s*(?:'static\s+)?str\s*=\s*"([^"]*)""#,
                regex::escape(&caps[1])
            ))
            .expect("regex");
            crate_files.iter().find_map(|f| {
                definition
                    .captures(&f.without_comments)
                    .map(|c| c[1].to_owned())
            })
        });
        match value {
            Some(name) => found.push(Ok((name, place))),
            None => found.push(Err(place)),
        }
    }
    found
}
