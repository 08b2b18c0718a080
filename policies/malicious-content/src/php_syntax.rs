//! PHP grammar shapes: variable functions (`$a(1)`, `$__[_](x)`, `$o->$f()`, `Foo::$v()`),
//! variable variables (`${'a'.'b'}`), long function names called without a word boundary,
//! and php.ini directive assignments.

use crate::Hit;
use crate::lang::PHP_FUNCS;
use crate::text::FastFind;

/// Skip whitespace and PHP comments (`/* */`, `//…\n`, `#…\n`) from `i`.
fn skip_ws(b: &[u8], mut i: usize) -> (usize, bool) {
    let mut saw = false;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
            saw = true;
        }
        if b[i..].starts_with(b"/*") {
            i = b[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(b.len(), |p| i + 2 + p + 2);
            saw = true;
        } else if b[i..].starts_with(b"//")
            || (b.get(i) == Some(&b'#') && b.get(i + 1) != Some(&b'['))
        {
            i = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            saw = true;
        } else {
            return (i, saw);
        }
    }
}

/// Skip a balanced `[..]` / `{..}` group starting at `i` (bounded).
fn skip_group(b: &[u8], i: usize) -> Option<usize> {
    if matches!(b.get(i + 1), Some(b']' | b'}')) {
        return None; // `$a[]`, `${}`: empty, not an expression.
    }
    let (open, close) = match b.get(i)? {
        b'[' => (b'[', b']'),
        b'{' => (b'{', b'}'),
        _ => return None,
    };
    let mut depth = 0;
    for (k, &c) in b.iter().enumerate().skip(i).take(128) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(k + 1);
            }
        }
    }
    None
}

fn ident_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    i
}

/// `$name` / `$$name` / `${expr}` followed by index chains, then `(`.
fn variable_call(lower: &str) -> Option<Hit> {
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(p) = lower[from..].ffind_byte(b'$') {
        let start = from + p;
        from = start + 1;
        let mut i = start;
        while i < b.len() && b[i] == b'$' {
            i += 1;
        }
        let (j, _) = skip_ws(b, i);
        let mut complex = false;
        if b.get(j) == Some(&b'{') {
            match skip_group(b, j) {
                Some(e) => {
                    i = e;
                    complex = true;
                }
                None => continue,
            }
        } else if b
            .get(i)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            i = ident_end(b, i);
        } else {
            continue;
        }
        loop {
            let (k, saw) = skip_ws(b, i);
            if let Some(e) = skip_group(b, k) {
                i = e;
                complex = true;
                continue;
            }
            if b[k..].starts_with(b"->") {
                let mut m = k + 2;
                while m < b.len() && b[m] == b'$' {
                    m += 1;
                }
                i = ident_end(b, m);
                complex = true;
                continue;
            }
            if b.get(k) == Some(&b'(') && (!saw || complex || k > i) {
                // Plain `$x (` with only spaces is prose-like ("$5 (approx)" has no ident).
                if saw && !complex && !lower[i..k].contains(['/', '#']) {
                    break;
                }
                return Some(Hit::deny(
                    "php.variable",
                    start,
                    "PHP variable function call",
                ));
            }
            break;
        }
    }
    // `Foo::$variable()`.
    if let Some(p) = lower.ffind("::$") {
        let e = ident_end(b, p + 3);
        if e > p + 3 && b.get(e) == Some(&b'(') {
            return Some(Hit::deny("php.variable", p, "PHP static variable call"));
        }
    }
    None
}

/// Distinctive PHP function names (no left word boundary needed).
const LONG_FUNCS: &[&str] = &[
    "call_user_func",
    "fsockopen",
    "gzdecode",
    "gzinflate",
    "gzuncompress",
    "bzdecompress",
    "shell_exec",
    "zlib_decode",
    "posix_getegid",
    "posix_getpwuid",
    "posix_kill",
    "posix_setuid",
    "array_diff",
    "gethostbyname",
    "ldap_get_entries",
    "tidy_parse_string",
    "assert_options",
    "strip_tags",
    "pg_enter_pipeline_mode",
    "odbc_connection_string_should_quote",
    "sodium_crypto_",
    "zend_test_",
    "date_add",
    "is_array",
    "intval",
    "filegroup",
    "unpack",
    "proc_open",
    "pcntl_exec",
    "str_rot13",
    "base64_decode",
    "create_function",
    "preg_replace",
    "file_put_contents",
    "file_get_contents",
    "move_uploaded_file",
    "highlight_file",
    "show_source",
    "php_uname",
    "phpinfo",
    "getenv",
    "putenv",
    "ini_set",
    "ini_get",
    "set_time_limit",
    "error_reporting",
    "parse_str",
    "extract",
    "array_map",
    "array_filter",
    "usort",
    "register_shutdown_function",
    "register_tick_function",
    "stream_get_contents",
    "fputcsv",
    "fwrite",
    "fopen",
    "readfile",
    "opendir",
    "scandir",
    "symlink",
    "chmod",
];

fn function_call(lower: &str) -> Option<Hit> {
    // Every hit ends at a `(`.
    if !crate::grams::has_any_byte(lower, b"(") {
        return None;
    }
    for f in LONG_FUNCS {
        let mut from = 0;
        while let Some(p) = lower[from..].ffind(f) {
            let at = from + p;
            from = at + f.len();
            let b = lower.as_bytes();
            let mut e = ident_end(b, at + f.len());
            if !f.ends_with('_') {
                if e != at + f.len() {
                    continue;
                }
            } else {
                e = ident_end(b, e);
            }
            let (k, _) = skip_ws(b, e);
            let k = if b.get(k) == Some(&b'=') { k + 1 } else { k };
            if b.get(k) == Some(&b'(') {
                return Some(Hit::deny("php.function", at, "PHP function call"));
            }
        }
    }
    None
}

const INI_PREFIXES: &[&str] = &[
    "opcache.",
    "session.",
    "mbstring.",
    "pcre.",
    "zend.",
    "mysqli.",
    "pdo_mysql.",
    "xdebug.",
    "phar.",
    "assert.",
    "allow_url_",
    "auto_prepend_file",
    "auto_append_file",
    "open_basedir",
    "disable_functions",
    "disable_classes",
    "include_path",
    "extension_dir",
    "upload_tmp_dir",
    "sendmail_path",
    "memory_limit",
    "max_execution_time",
    "display_errors",
    "log_errors",
    "error_log",
    "short_open_tag",
    "register_globals",
    "safe_mode",
    "file_uploads",
];
const INI_NAMES: &[&str] = &[
    "engine",
    "extension",
    "precision",
    "smtp",
    "smtp_port",
    "zend_extension",
];

/// `opcache.jit=50`, `engine=true`: a php.ini directive assignment as a whole value.
fn ini(lower: &str) -> Option<Hit> {
    let t = lower.trim();
    let (name, val) = t.split_once('=')?;
    let name = name.trim();
    if val.trim().is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    (INI_NAMES.contains(&name) || INI_PREFIXES.iter().any(|p| name.starts_with(p)))
        .then(|| Hit::alert("php.config", 0, "php.ini directive assignment"))
}

/// `${expr}` variable variables: `$ {'a'.'b'}`, `$   { CONSTANT }` (whitespace between `$` and
/// `{` is PHP syntax, not a shell or JS template placeholder), `${$a}`, `${'x'}`; a whole value
/// that is just `${name}` is a weaker signal (it is also an unrendered template placeholder).
fn variable_variable(lower: &str) -> Option<Hit> {
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(p) = lower[from..].ffind_byte(b'$') {
        let start = from + p;
        from = start + 1;
        let mut j = start + 1;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        if b.get(j) != Some(&b'{') {
            continue;
        }
        let Some(end) = skip_group(b, j) else {
            continue;
        };
        let inner = lower[j + 1..end - 1].trim();
        if inner.is_empty() {
            continue;
        }
        let spaced = j > start + 1;
        // `$ {'a'.'b'}`, `${$a}`: an expression only PHP evaluates to a name.
        // (`${${name}}` is a nested CMake / shell reference, not PHP.)
        if inner.starts_with(['\'', '"', '`'])
            || (inner.starts_with('$') && (spaced || !inner.starts_with("${")))
        {
            return Some(Hit::deny("php.variable", start, "PHP variable variable"));
        }
        // `${a}`, `$   { CONSTANT }` as the whole value: also an unfilled template
        // placeholder (`$ {amount}` after a currency sign), so weak unless spaced inside too.
        if start == lower.len() - lower.trim_start().len()
            && end == lower.trim_end().len()
            && inner
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return Some(Hit {
                rule: "php.variable",
                strong: spaced && lower[j + 1..end - 1].starts_with([' ', '\t']),
                at: start,
                msg: "PHP variable variable",
            });
        }
    }
    None
}

/// Skip whitespace and `/* */` comments backwards from `i` (exclusive end).
fn skip_ws_back(b: &[u8], mut i: usize) -> usize {
    loop {
        while i > 0 && b[i - 1].is_ascii_whitespace() {
            i -= 1;
        }
        if i >= 2 && &b[i - 2..i] == b"*/" {
            match b[..i - 2].windows(2).rposition(|w| w == b"/*") {
                Some(p) => i = p,
                None => return i,
            }
        } else {
            return i;
        }
    }
}

/// The start of the balanced group that ends (exclusive) at `end` with a closer.
fn group_start(b: &[u8], end: usize) -> Option<usize> {
    let close = b[end - 1];
    let open = match close {
        b')' => b'(',
        b']' => b'[',
        b'}' => b'{',
        _ => return None,
    };
    let mut depth = 0;
    for k in (end.saturating_sub(160)..end).rev() {
        if b[k] == close {
            depth += 1;
        } else if b[k] == open {
            depth -= 1;
            if depth == 0 {
                return Some(k);
            }
        }
    }
    None
}

/// The identifier characters of an expression: `(sy.(st).em)` → `system`, `['system'][0]` →
/// `system` (digits and punctuation dropped).
fn letters(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    crate::text::strip_comments(&s)
        .bytes()
        .filter(|c| c.is_ascii_alphabetic() || *c == b'_')
        .map(char::from)
        .collect()
}

/// A call whose callee is an expression built from brackets, indexes or concatenation and
/// evaluates to a dangerous function name: `[system][0](ls)`, `(['system'])[0]('id')`,
/// `(sy.(st).em)('uname')`, `{[system][0]} ('id')`.
fn computed_call(lower: &str) -> Option<Hit> {
    let b = lower.as_bytes();
    if !crate::grams::has_any_byte(lower, b"[.") {
        return None;
    }
    for i in memchr::memchr_iter(b'(', b) {
        let mut end = skip_ws_back(b, i);
        let mut groups = 0;
        while end > 0 && matches!(b[end - 1], b')' | b']' | b'}') && groups < 4 {
            let Some(s) = group_start(b, end) else {
                break;
            };
            let g = &b[s..end];
            groups += 1;
            // Built: indexed (`[system][0]`), concatenated (`sy.(st).em`) or quoted; a lone
            // `[word]` or `(word)` is prose or markdown.
            let built = groups > 1
                || g.iter().any(|c| matches!(c, b'.' | b'\'' | b'"'))
                || g.iter().filter(|&&c| c == b'[').count() > 1;
            let name = letters(g);
            if built && (PHP_FUNCS.contains(&name.as_str()) || name == "phpinfo") {
                return Some(Hit::deny(
                    "php.function",
                    s,
                    "PHP call through a built name",
                ));
            }
            end = skip_ws_back(b, s);
        }
    }
    None
}

/// Entry point.
pub fn scan(lower: &str) -> Option<Hit> {
    variable_call(lower)
        .or_else(|| variable_variable(lower))
        .or_else(|| computed_call(lower))
        .or_else(|| function_call(lower))
        .or_else(|| ini(lower))
}
