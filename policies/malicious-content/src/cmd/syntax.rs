//! Shell grammar and script-runtime shapes beyond plain `sep command`: brace expansion, tilde
//! expansion, aliases, self-calling functions (fork bombs), sqlite dot-commands, mail-protocol
//! command injection after CR/LF, cmd.exe IF, template expressions, JS busy loops, ORM
//! lookups.

use super::words::{COMMAND_SET, WORDY_SET};
use crate::Hit;
use crate::text::FastFind;

fn known(w: &str) -> bool {
    let w = w.trim_matches(|c| c == '\'' || c == '"' || c == '$');
    COMMAND_SET.contains(w) && !WORDY_SET.contains(w)
        || matches!(w, "id" | "ls" | "cat" | "echo" | "cd")
}

/// `{l,-lh}s`, `c{a,oun}t`, `{,ifconfig}`, `{id,}`: brace expansion forming a command.
fn brace(lower: &str) -> Option<Hit> {
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(p) = lower[from..].find('{') {
        let open = from + p;
        from = open + 1;
        let Some(len) = lower[open + 1..].find('}') else {
            break;
        };
        let inner = &lower[open + 1..open + 1 + len];
        if len > 80 || !inner.contains(',') || inner.contains([' ', '\t', '"', ':']) {
            continue;
        }
        if inner.starts_with(',') {
            return Some(Hit::deny("rce.shell-syntax", open, "bash brace expansion"));
        }
        // `{nc,-nlvp,777}`, `{ls,-la}`: a command and its options as one brace word.
        let mut alts = inner.split(',');
        if alts.next().is_some_and(|c| COMMAND_SET.contains(c))
            && alts.any(|a| a.starts_with('-') || a.starts_with('/'))
        {
            return Some(Hit::deny("rce.shell-syntax", open, "bash brace expansion"));
        }
        let mut ps = open;
        while ps > 0 && b[ps - 1].is_ascii_alphanumeric() {
            ps -= 1;
        }
        let close = open + 1 + len;
        let mut se = close + 1;
        while se < b.len() && b[se].is_ascii_alphanumeric() {
            se += 1;
        }
        let (pre, suf) = (&lower[ps..open], &lower[close + 1..se]);
        if inner
            .split(',')
            .any(|alt| known(&format!("{pre}{alt}{suf}")))
        {
            return Some(Hit::deny("rce.shell-syntax", open, "bash brace expansion"));
        }
    }
    None
}

/// `f(){ f|f& };f`: a function that calls itself in a pipeline (fork bomb).
fn fork_bomb(lower: &str) -> Option<Hit> {
    // The squeezed text must hold `(){`.
    if !crate::grams::has_any_byte(lower, b"{") {
        return None;
    }
    let sq = crate::grams::without_whitespace(lower);
    let p = sq.ffind("(){")?;
    // Start after the whole separator character: `+ 1` landed inside a multi-byte one (U+FFFD
    // of a lossily decoded event) and the slice panicked (fuzz target `shipped_policies`).
    let name_start = sq[..p]
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':'))
        .map_or(0, |(x, c)| x + c.len_utf8());
    let name = &sq[name_start..p];
    let body = &sq[p + 3..];
    let body = &body[..body.find('}').unwrap_or(body.len())];
    (!name.is_empty() && body.contains(name) && body.contains(['|', '&'])).then(|| {
        Hit::deny(
            "rce.shell-syntax",
            0,
            "recursive shell function (fork bomb)",
        )
    })
}

const SQLITE_DOT: &[&str] = &[
    "shell",
    "system",
    "sh",
    "databases",
    "tables",
    "dump",
    "import",
    "output",
    "once",
    "load",
    "read",
    "save",
    "restore",
    "open",
    "schema",
];
const IMAP: &[&str] = &[
    "append",
    "authenticate",
    "status",
    "uid",
    "login",
    "select",
    "fetch",
    "store",
    "copy",
    "capability",
    "examine",
    "create",
    "delete",
    "rename",
    "subscribe",
    "expunge",
    "search",
];
const POP3: &[&str] = &[
    "retr", "list", "top", "apop", "auth", "dele", "uidl", "user", "pass",
];

/// Lines after a CR/LF (or `;`) that start a protocol / sqlite command.
fn line_commands(lower: &str) -> Option<Hit> {
    // A literal `\n` escape reads as the line break it stands for.
    let unescaped;
    let lower = if lower.fcontains("\\n") {
        unescaped = lower.replace("\\n", "\n");
        unescaped.as_str()
    } else {
        lower
    };
    let nl = crate::grams::has_any_byte(lower, b"\n\r");
    // Only the lines after a separator are looked at: none when there is no separator.
    let lines = crate::grams::has_any_byte(lower, b"\n\r;")
        .then(|| lower.split(['\n', '\r', ';']))
        .into_iter()
        .flatten();
    for (idx, line) in lines.enumerate() {
        if idx == 0 {
            continue;
        }
        let l = line.trim_start();
        let Some(rest) = l.strip_prefix('.') else {
            let mut ws = l.split_whitespace();
            let (Some(a), b) = (ws.next(), ws.next()) else {
                continue;
            };
            if nl
                && a.len() <= 8
                && a.bytes().all(|c| c.is_ascii_alphanumeric())
                && a.bytes().any(|c| c.is_ascii_digit())
                && b.is_some_and(|x| IMAP.contains(&x))
            {
                return Some(Hit::deny(
                    "rce.mail-injection",
                    0,
                    "IMAP command after CR/LF",
                ));
            }
            if nl
                && POP3.contains(&a)
                && b.is_some_and(|x| x.bytes().all(|c| c.is_ascii_alphanumeric()))
                && l.split_whitespace().count() <= 3
                && l.split_whitespace().count() >= 2
            {
                return Some(Hit::alert(
                    "rce.mail-injection",
                    0,
                    "POP3 command after CR/LF",
                ));
            }
            continue;
        };
        let rest = rest.trim_start_matches(['\\', '"', '\'', ' ']);
        let w: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if SQLITE_DOT.contains(&w.as_str()) {
            return Some(Hit::deny("rce.shell-syntax", 0, "sqlite3 dot-command"));
        }
    }
    None
}

/// Whole-value shapes: tilde expansion, alias definitions, cmd.exe IF.
fn whole(lower: &str) -> Option<Hit> {
    let t = lower
        .trim_start_matches([';', '|', '&', ' ', '\n'])
        .trim_end();
    if let Some(r) = t.strip_prefix('~') {
        let r = r.strip_prefix(['+', '-']).unwrap_or(r);
        if r.bytes().all(|c| c.is_ascii_digit()) && (2..=6).contains(&t.len()) {
            return Some(Hit::alert("rce.shell-syntax", 0, "bash tilde expansion"));
        }
    }
    if let Some(r) = t.strip_prefix("alias ") {
        let def = r
            .split_whitespace()
            .find(|w| !w.starts_with(['-', '+']))
            .unwrap_or("");
        if def.contains('=') {
            return Some(Hit::deny("rce.command", 0, "shell alias definition"));
        }
    }
    if let Some(r) = t.strip_prefix("if").filter(|r| r.starts_with([' ', '/'])) {
        let r = r.trim_start();
        if r.starts_with("exist ")
            || r.starts_with("cmdextversion ")
            || r.starts_with("/i ")
            || r.starts_with("not ")
            || (r.fcontains("==") && (r.contains('%') || r.split_whitespace().count() >= 2))
        {
            let strong = r.contains('%') || r.contains('(');
            return Some(Hit {
                rule: "rce.windows",
                strong,
                at: 0,
                msg: "cmd.exe IF statement",
            });
        }
    }
    None
}

/// Server-side template expressions: `{{7*7}}`, `<%= 7*7 %>`, `{% if x %}`, `${7*7}`.
fn template(lower: &str) -> Option<Hit> {
    for (open, close) in [
        ("{{", "}}"),
        ("<%", "%>"),
        ("{%", "%}"),
        ("${", "}"),
        ("#{", "}"),
    ] {
        let Some(p) = lower.ffind(open) else { continue };
        let Some(e) = lower[p + open.len()..].ffind(close) else {
            continue;
        };
        let inner = lower[p + open.len()..p + open.len() + e]
            .trim_start_matches(['=', '-', '#'])
            .trim();
        let arith = {
            let sq = crate::text::remove_chars(inner, char::is_whitespace);
            let mut parts = sq.splitn(2, ['*', '+', '/', '-']);
            let a = parts.next().unwrap_or("");
            let b = parts.next().unwrap_or("");
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        };
        let kw = [
            "if ", "for ", "set ", "import ", "include ", "macro ", "end", "raw",
        ]
        .iter()
        .any(|k| inner.starts_with(k));
        if arith || (kw && open != "${" && open != "#{") {
            return Some(Hit::deny(
                "rce.template",
                p,
                "server-side template expression",
            ));
        }
    }
    None
}

/// `while(true);`, `while(!0)`: a JavaScript busy loop with a constant condition.
fn busy_loop(lower: &str) -> Option<Hit> {
    // The squeezed text must hold `while(`.
    if !crate::grams::has_any_byte(lower, b"(") {
        return None;
    }
    let sq = crate::grams::without_whitespace(lower);
    let p = sq.ffind("while(")?;
    let inner = &sq[p + 6..];
    let inner = inner.trim_start_matches(['(', '!', '+', '-']);
    const CONST: &[&str] = &[
        "true",
        "false",
        "0",
        "1",
        "infinity",
        "\"\"",
        "''",
        "``",
        "null",
        "undefined",
        "nan",
        "this",
        "string",
        "newdate",
        "{}",
        "[]",
    ];
    CONST
        .iter()
        .any(|c| {
            inner.starts_with(c) && inner[c.len()..].starts_with(')')
                || (c.chars().all(|x| x.is_ascii_digit())
                    && inner.starts_with(|x: char| x.is_ascii_digit())
                    && inner
                        .trim_start_matches(|x: char| x.is_ascii_digit())
                        .starts_with(')'))
        })
        .then(|| Hit::deny("rce.runtime", p, "JavaScript busy loop"))
}

/// Django/ORM lookup traversal in a parameter name: `user__profile__icontains`.
fn orm_lookup(lower: &str) -> Option<Hit> {
    const LOOKUPS: &[&str] = &[
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "contains",
        "icontains",
        "exact",
        "iexact",
        "regex",
        "iregex",
        "has_key",
        "has_keys",
        "has_any_keys",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "isnull",
        "range",
    ];
    // Three parts need two `__`; the index rules most long values out.
    if !lower.fcontains("__") {
        return None;
    }
    let parts: Vec<&str> = lower.split("__").collect();
    if parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
        && LOOKUPS.contains(parts.last().unwrap_or(&""))
    {
        return Some(Hit::alert(
            "rce.orm-lookup",
            0,
            "ORM relation traversal lookup",
        ));
    }
    None
}

const RUNTIME: &[&str] = &[
    "process.spawn",
    "kernel.exec",
    "kernel.system",
    "kernel.spawn",
    "io.popen",
    "open3.",
    "__js_function",
    "newfunction(",
    "function(){",
    "console[",
    "console.info.call",
    "process[",
    "require[",
    "module:prototype",
    "@{[",
];

/// Entry point for the rules above.
pub fn scan(lower: &str) -> Option<Hit> {
    if let Some(h) = brace(lower)
        .or_else(|| fork_bomb(lower))
        .or_else(|| line_commands(lower))
        .or_else(|| whole(lower))
        .or_else(|| template(lower))
        .or_else(|| busy_loop(lower))
        .or_else(|| orm_lookup(lower))
    {
        return Some(h);
    }
    // Every RUNTIME needle holds one of these bytes.
    if !crate::grams::has_any_byte(lower, b"._([:@") {
        return None;
    }
    let sq = crate::grams::without_whitespace(lower);
    let sb = sq.as_bytes();
    RUNTIME
        .iter()
        .filter_map(|r| sq.ffind(r))
        .find(|&p| p == 0 || !crate::text::is_ident(sb[p - 1]))
        .map(|p| {
            Hit::deny(
                "rce.runtime",
                p.min(lower.len()),
                "server-side script runtime access",
            )
        })
}
