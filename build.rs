//! Build script: names the shared library `libzmq.so.5` and generates `include/zmq.h`.
//!
//! The header comes from the Rust sources of `src/ffi/` only, in two cbindgen runs:
//! - constants and types from `src/ffi/constants.rs` and `src/ffi/types.rs`;
//! - the `#[no_mangle] extern "C"` functions of the modules that `src/ffi/mod.rs` declares.
//!
//! `cbindgen.toml` supplies the fixed text (guard, includes, version macros, errno fallbacks,
//! `zmq_msg_t` and the callback typedefs) and a trailer with two markers where the functions go.
//! This script then gathers the draft API (the `cfg(zmq_draft)` items, which cbindgen wraps in
//! `#if defined(ZMQ_BUILD_DRAFT_API)`, and the functions libzmq 4.3.5 declares only as draft)
//! into a single `#ifdef ZMQ_BUILD_DRAFT_API` block, as libzmq's header has it.
//!
//! A source that does not parse (someone is mid-edit) must not break the build: the previous
//! header is kept and a warning printed. The header is only rewritten when its text changes.

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Functions that libzmq 4.3.5 declares only under `ZMQ_BUILD_DRAFT_API`.
const DRAFT_FUNCTIONS: &[&str] = &[
    "zmq_connect_peer",
    "zmq_ctx_get_ext",
    "zmq_ctx_set_ext",
    "zmq_join",
    "zmq_leave",
    "zmq_msg_group",
    "zmq_msg_init_buffer",
    "zmq_msg_routing_id",
    "zmq_msg_set_group",
    "zmq_msg_set_routing_id",
    "zmq_poller_add",
    "zmq_poller_add_fd",
    "zmq_poller_destroy",
    "zmq_poller_fd",
    "zmq_poller_modify",
    "zmq_poller_modify_fd",
    "zmq_poller_new",
    "zmq_poller_remove",
    "zmq_poller_remove_fd",
    "zmq_poller_size",
    "zmq_poller_wait",
    "zmq_poller_wait_all",
    "zmq_ppoll",
    "zmq_socket_get_peer_state",
    "zmq_socket_monitor_pipes_stats",
    "zmq_socket_monitor_versioned",
];

/// Parameter names that a C or C++ compiler would not take as plain identifiers: keywords,
/// and object-like macros of the headers zmq.h includes or of GNU modes (`errno`, `unix`).
#[rustfmt::skip]
const RESERVED_NAMES: &[&str] = &[
    // C
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while",
    // C++
    "alignas", "alignof", "and", "and_eq", "asm", "bitand", "bitor", "bool", "catch", "class",
    "compl", "concept", "const_cast", "consteval", "constexpr", "constinit", "decltype",
    "delete", "dynamic_cast", "explicit", "export", "false", "friend", "mutable", "namespace",
    "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
    "protected", "public", "reinterpret_cast", "requires", "static_assert", "static_cast",
    "template", "this", "thread_local", "throw", "true", "try", "typeid", "typename", "using",
    "virtual", "wchar_t", "xor", "xor_eq",
    // macros
    "errno", "stdin", "stdout", "stderr", "NULL", "EOF", "unix", "linux", "i386",
];

const DRAFT_IF: &str = "#if defined(ZMQ_BUILD_DRAFT_API)";
const STABLE_MARKER: &str = "/* @ZMQ_STABLE_API@ */";
const DRAFT_MARKER: &str = "/* @ZMQ_DRAFT_API@ */";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");

    // The draft API is always compiled in; the cfg only tells cbindgen what to put under
    // ZMQ_BUILD_DRAFT_API.
    println!("cargo::rustc-check-cfg=cfg(zmq_draft)");
    println!("cargo:rustc-cfg=zmq_draft");

    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if !matches!(os.as_str(), "macos" | "ios" | "windows") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzmq.so.5");
    }

    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = root.join("include").join("zmq.h");
    let mut warnings = Vec::new();
    let generated = generate(&root, &mut warnings);
    for w in warnings {
        println!("cargo:warning=include/zmq.h: {w}");
    }
    match generated {
        Ok(header) => {
            if fs::read_to_string(&out).ok().as_deref() != Some(header.as_str()) {
                let written = fs::create_dir_all(out.parent().unwrap())
                    .and_then(|()| fs::write(&out, header));
                if let Err(e) = written {
                    println!("cargo:warning=cannot write {}: {e}", out.display());
                }
            }
        }
        Err(e) => {
            let e = e.replace('\n', " ");
            println!("cargo:warning=include/zmq.h not regenerated, previous one kept: {e}");
        }
    }
}

fn generate(root: &Path, warnings: &mut Vec<String>) -> Result<String, String> {
    let ffi = root.join("src").join("ffi");
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))?;

    // Constants and types: everything but functions, from the two files that own them.
    let mut defs = config.clone();
    defs.export.item_types = {
        use cbindgen::ItemType::*;
        vec![
            Constants,
            Globals,
            Enums,
            Structs,
            Unions,
            Typedefs,
            OpaqueItems,
        ]
    };
    let mut builder = cbindgen::Builder::new().with_config(defs);
    for file in ["constants.rs", "types.rs"] {
        if ffi.join(file).exists() {
            builder = builder.with_src(ffi.join(file));
        }
    }
    let document = render(builder)?;

    // Functions: only the extern "C" ones, of the modules mod.rs declares (cbindgen follows
    // the `mod` items). Types they name are left as names, defined by the first run.
    let mut fns = config.clone();
    fns.header = None;
    fns.trailer = None;
    fns.after_includes = None;
    fns.include_guard = None;
    fns.autogen_warning = None;
    fns.no_includes = true;
    fns.sys_includes.clear();
    fns.includes.clear();
    fns.export.item_types = vec![cbindgen::ItemType::Functions];
    let functions = render(
        cbindgen::Builder::new()
            .with_config(fns)
            .with_src(ffi.join("mod.rs")),
    )?;

    let constants_rs = fs::read_to_string(ffi.join("constants.rs")).unwrap_or_default();
    assemble(&document, &functions, &constants_rs, warnings)
}

fn render(builder: cbindgen::Builder) -> Result<String, String> {
    let bindings = builder.generate().map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    bindings.write(&mut text);
    String::from_utf8(text).map_err(|e| e.to_string())
}

/// A group of lines that cbindgen emits as one item (it separates items by a blank line).
fn chunks(text: &str) -> Vec<Vec<&str>> {
    let mut all = Vec::new();
    let mut cur = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                all.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        all.push(cur);
    }
    all
}

/// Removes a `#if defined(ZMQ_BUILD_DRAFT_API)` ... `#endif` wrapper; tells whether there was one.
fn unwrap_draft<'a>(chunk: &[&'a str]) -> (bool, Vec<&'a str>) {
    let n = chunk.len();
    if n >= 3 && chunk[0] == DRAFT_IF && chunk[n - 1].starts_with("#endif") {
        (true, chunk[1..n - 1].to_vec())
    } else {
        (false, chunk.to_vec())
    }
}

/// Section titles (`// Title` lines right above a `pub const`) and string constants of
/// constants.rs, which cbindgen drops.
struct ConstantsSource {
    titles: HashMap<String, String>,
    strings: Vec<(String, String, bool)>,
}

fn scan_constants(src: &str) -> ConstantsSource {
    let mut titles = HashMap::new();
    let mut strings = Vec::new();
    let mut pending: Option<String> = None;
    let mut in_draft = false;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("mod draft") {
            in_draft = true;
        }
        if t.is_empty() {
            pending = None;
        } else if let Some(title) = t.strip_prefix("// ") {
            pending = Some(title.trim().to_string());
        } else if let Some(rest) = t.strip_prefix("pub const ") {
            let Some((name, value)) = rest.split_once(':') else {
                continue;
            };
            let name = name.trim().to_string();
            if let Some(title) = pending.take() {
                titles.insert(name.clone(), title);
            }
            if let Some(s) = value
                .split_once("= c\"")
                .and_then(|(_, s)| s.split_once('"'))
            {
                strings.push((name, s.0.to_string(), in_draft));
            }
        }
    }
    ConstantsSource { titles, strings }
}

/// Writes `#define`s one per line, with a titled blank line where constants.rs starts a group.
fn push_define(out: &mut String, line: &str, titles: &HashMap<String, String>) {
    let name = line
        .trim_start_matches("#define ")
        .split_whitespace()
        .next()
        .unwrap_or("");
    if let Some(title) = titles.get(name) {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&comment(title));
    }
    out.push_str(line);
    out.push('\n');
}

/// A one-line C comment padded to 80 columns, as libzmq writes its section titles.
fn comment(text: &str) -> String {
    format!("/*  {text:<74}*/\n")
}

/// Appends a multi-line item (a type), separated by blank lines.
fn push_item(out: &mut String, lines: &[&str]) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push('\n');
}

fn function_name(line: &str) -> Option<&str> {
    let head = &line[..line.find('(')?];
    let name = head
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    (!name.is_empty()).then_some(name)
}

/// The callback-taking functions and the callback typedef of each (cbindgen.toml defines these
/// typedefs as C function types, as libzmq does).
const CALLBACKS: &[(&str, &str)] = &[
    ("zmq_msg_init_data", "zmq_free_fn"),
    ("zmq_threadstart", "zmq_thread_fn"),
    ("zmq_timers_add", "zmq_timer_fn"),
];

/// Replaces each `Option<...>`, `struct Option_...` or `Option_...` type in `line` by `ty`.
fn replace_option(line: &str, ty: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("Option") {
        let (before, from) = rest.split_at(at);
        let before = before.strip_suffix("struct ").unwrap_or(before);
        out.push_str(before);
        out.push_str(ty);
        let end = if let Some(generic) = from.strip_prefix("Option<") {
            let mut depth = 1;
            let close = generic.char_indices().find(|&(_, c)| {
                depth += match c {
                    '<' => 1,
                    '>' => -1,
                    _ => 0,
                };
                depth == 0
            });
            close.map_or(from.len(), |(i, _)| "Option<".len() + i + 1)
        } else {
            from.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(from.len())
        };
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

/// Makes a prototype valid C where cbindgen gets it wrong. A nullable callback written as
/// `Option<alias of an fn type>` comes out as an undefined `struct Option_alias` (or as
/// `Option<alias>` when the alias is private): it becomes libzmq's callback typedef, a function
/// type, so the parameter `zmq_free_fn ffn_` means libzmq's `zmq_free_fn *ffn_`. Parameter
/// names that are C keywords or macros get a trailing underscore.
fn fix_prototype(line: &str, warnings: &mut Vec<String>) -> String {
    let name = function_name(line).unwrap_or_default();
    let mut line = line.to_string();
    if line.contains("Option") {
        match CALLBACKS.iter().find(|(f, _)| *f == name) {
            Some((_, ty)) => line = replace_option(&line, ty),
            None => warnings.push(format!("not valid C: `{line}`")),
        }
    }
    let (Some(open), Some(close)) = (line.find('('), line.rfind(')')) else {
        return line;
    };
    let mut args = Vec::new();
    let (mut depth, mut start) = (0, open + 1);
    for (i, c) in line[open + 1..close].char_indices() {
        let i = i + open + 1;
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(&line[start..close]);
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            let a = a.trim();
            if a.contains('(') {
                return a.to_string();
            }
            let split = a
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let (ty, name) = a.split_at(split);
            if !ty.trim().is_empty() && RESERVED_NAMES.contains(&name) {
                format!("{ty}{name}_")
            } else {
                a.to_string()
            }
        })
        .collect();
    format!("{}{}{}", &line[..open + 1], args.join(", "), &line[close..])
}

fn assemble(
    document: &str,
    functions: &str,
    constants_rs: &str,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let src = scan_constants(constants_rs);
    let (Some(stable_at), Some(draft_at)) =
        (document.find(STABLE_MARKER), document.find(DRAFT_MARKER))
    else {
        return Err("cbindgen.toml's trailer lacks the function markers".into());
    };
    let (head, tail) = document.split_at(stable_at);
    let middle = &document[stable_at + STABLE_MARKER.len()..draft_at];
    let tail_end = &tail[draft_at - stable_at + DRAFT_MARKER.len()..];

    // The items of the first run sit between the end of after_includes and the trailer. They
    // are all cbindgen's, so the whole head can be walked as chunks: fixed text passes through.
    let mut body = String::new();
    let mut draft_consts = String::new();
    let mut draft_types = String::new();
    for chunk in chunks(head) {
        let (draft, lines) = unwrap_draft(&chunk);
        let is_define = lines.len() == 1 && lines[0].starts_with("#define ");
        match (draft, is_define) {
            (true, true) => push_define(&mut draft_consts, lines[0], &src.titles),
            (true, false) => push_item(&mut draft_types, &lines),
            (false, true) => push_define(&mut body, lines[0], &src.titles),
            (false, false) => push_item(&mut body, &lines),
        }
    }

    let mut stable_fns = String::new();
    let mut draft_fns = String::new();
    let mut names = Vec::new();
    for chunk in chunks(functions) {
        if chunk
            .iter()
            .all(|l| l.starts_with("typedef struct Option_"))
        {
            continue;
        }
        let (wrapped, lines) = unwrap_draft(&chunk);
        let Some(proto) = lines
            .iter()
            .position(|l| l.contains('(') && !l.starts_with("//"))
        else {
            continue;
        };
        let name = function_name(lines[proto]).unwrap_or_default().to_string();
        let draft = wrapped || DRAFT_FUNCTIONS.contains(&name.as_str());
        let fixed: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == proto {
                    fix_prototype(l, warnings)
                } else {
                    l.to_string()
                }
            })
            .collect();
        let refs: Vec<&str> = fixed.iter().map(String::as_str).collect();
        push_item(
            if draft {
                &mut draft_fns
            } else {
                &mut stable_fns
            },
            &refs,
        );
        names.push(name);
    }
    let has = |f: &str| names.iter().any(|n| n == f);

    let mut stable = String::new();
    for (name, value, _) in src.strings.iter().filter(|s| !s.2) {
        push_define(
            &mut stable,
            &format!("#define {name} \"{value}\""),
            &src.titles,
        );
    }
    if has("zmq_timers_new") {
        stable.push_str(&comment("Scheduling timers"));
        stable.push_str("#define ZMQ_HAVE_TIMERS\n\n");
    }
    stable.push_str(&stable_fns);

    let mut draft = String::new();
    draft.push_str(&draft_consts);
    for (name, value, _) in src.strings.iter().filter(|s| s.2) {
        push_define(
            &mut draft,
            &format!("#define {name} \"{value}\""),
            &src.titles,
        );
    }
    if has("zmq_poller_new") {
        draft.push('\n');
        draft.push_str(&comment(
            "Poller polling on sockets, fd and thread-safe sockets",
        ));
        draft.push_str("#define ZMQ_HAVE_POLLER\n");
    }
    draft.push('\n');
    draft.push_str(&draft_types);
    draft.push_str(&draft_fns);
    let draft = format!(
        "{}\n{}\n{}\n{}\n\n#ifdef ZMQ_BUILD_DRAFT_API\n\n{}\n\n#endif /* ZMQ_BUILD_DRAFT_API */",
        "/******************************************************************************/",
        "/*  These functions are DRAFT and disabled in stable releases, and subject to */",
        "/*  change at ANY time until declared stable.                                 */",
        "/******************************************************************************/",
        draft.trim()
    );

    let text = format!(
        "{}\n\n{}{}{}{}",
        body.trim_end(),
        stable.trim_end(),
        middle,
        draft,
        tail_end
    );
    // Collapse the runs of blank lines left where blocks were empty.
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.trim().is_empty() && (out.ends_with("\n\n") || out.is_empty()) {
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok(out)
}
