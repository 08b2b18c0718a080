//! Finds response data leakage and stack traces: one case-insensitive automaton over the
//! literals of [`crate::patterns`], each hit confirmed by its [`Check`].

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use gavel_policy_sdk::redact;

use crate::Hit;
use crate::patterns::{Check, PATTERNS, rule_info};

/// The automaton, built on first use. In the shipped component that use is the build-time
/// pre-initialisation ([`crate::SecretsLeak`]'s `warm`), so per-invocation instances find it
/// built in their memory snapshot instead of spending ~2 ms building it.
pub fn automaton() -> Option<&'static AhoCorasick> {
    static AUTOMATON: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AUTOMATON
        .get_or_init(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(PATTERNS.iter().map(|p| p.0))
                .ok()
        })
        .as_ref()
}

/// Scan `text`; at most one hit per rule (the first), which is all a verdict needs.
pub fn scan(ac: &AhoCorasick, text: &str, enabled: &dyn Fn(&str) -> bool, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut seen: Vec<&'static str> = Vec::new();
    for m in ac.find_overlapping_iter(text) {
        let (lit, rule, check) = PATTERNS[m.pattern().as_usize()];
        if seen.contains(&rule) || !enabled(rule) {
            continue;
        }
        if !confirm(b, m.start(), m.end(), lit, check) {
            continue;
        }
        seen.push(rule);
        let info = rule_info(rule);
        hits.push(crate::Hit {
            rule: info.id,
            severity: info.severity,
            decision: info.decision,
            message: info.message.into(),
            offset: m.start(),
            evidence: redact::snippet(text, m.start(), m.end()),
        });
    }
}

fn alnum_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_alphanumeric)
}

fn word_start(b: &[u8], s: usize) -> bool {
    s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_')
}

fn digits(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// The current line before `s` (bounded), for "`at ` precedes the frame" checks.
fn line_before(b: &[u8], s: usize) -> &[u8] {
    let from = s.saturating_sub(300);
    let start = b[from..s]
        .iter()
        .rposition(|c| *c == b'\n')
        .map_or(from, |p| from + p + 1);
    &b[start..s]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn confirm(b: &[u8], s: usize, e: usize, lit: &str, check: Check) -> bool {
    let exact = || &b[s..e] == lit.as_bytes();
    match check {
        Check::Plain => true,
        Check::Name => exact() && word_start(b, s) && !alnum_at(b, e),
        Check::RubyName => {
            exact() && word_start(b, s) && (b.get(e) == Some(&b':') || b[e..].starts_with(b" ("))
        }
        Check::Namespace => {
            exact() && word_start(b, s) && b.get(e).is_some_and(u8::is_ascii_uppercase)
        }
        Check::QualifiedClass => exact() && qualified_class(b, s, e),
        Check::MysqlCode => {
            // `ERROR 1105 (HY000):`
            exact_upper(b, s, "ERROR ") && digits(b, e) == 4 && {
                let p = e + 4;
                b[p..].starts_with(b" (")
                    && b.get(p + 2..p + 7)
                        .is_some_and(|c| c.iter().all(u8::is_ascii_alphanumeric))
                    && b.get(p + 7) == Some(&b')')
            }
        }
        Check::OracleCode => {
            exact() && word_start(b, s) && digits(b, e) == 5 && b.get(e + 5) == Some(&b':')
        }
        Check::IisTitle => {
            // `<title>404.14 - URL too long.</title>`
            digits(b, e) == 3 && b.get(e + 3) == Some(&b'.') && {
                let d = digits(b, e + 4);
                d > 0 && b[e + 4 + d..].starts_with(b" - ")
            }
        }
        Check::Inetpub => s > 0 && matches!(b[s - 1], b'\\' | b'/') && !alnum_at(b, e),
        Check::WsoTitle => {
            (s == 0 || matches!(b[s - 1], b' ' | b'>'))
                && alnum_at(b, e)
                && b[e].is_ascii_digit()
                && contains(&b[e..(e + 40).min(b.len())], b"</title>")
        }
        Check::PhpOpen => php_open(b, e),
        Check::ErbTag => {
            matches!(b.get(e), Some(b' ' | b'=' | b'\n'))
                && contains(&b[e..(e + 300).min(b.len())], b"%>")
        }
        Check::Interpolation => {
            let body = &b[e..(e + 80).min(b.len())];
            let n = body
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'@'))
                .count();
            n > 0 && body[0].is_ascii_alphabetic() | (body[0] == b'@') && body.get(n) == Some(&b'}')
        }
        Check::PyTraceback => py_frame_follows(b, e),
        Check::JavaFrame => {
            let is_at = contains(line_before(b, s), b"at ");
            if lit == ".java:" {
                is_at && digits(b, e) > 0 && b.get(e + digits(b, e)) == Some(&b')')
            } else {
                is_at
            }
        }
        Check::NodeFrame => {
            let d = digits(b, e);
            d > 0 && b.get(e + d) == Some(&b':') && digits(b, e + d + 1) > 0 && {
                let line = line_before(b, s);
                contains(line, b"at ") && (line.contains(&b'/') || line.contains(&b'\\'))
            }
        }
        Check::DotnetFrame => {
            digits(b, e) > 0
                && contains(line_before(b, s), b"at ")
                && contains(line_before(b, s), b" in ")
        }
        Check::PhpTrace => {
            let rest = &b[e..(e + 8).min(b.len())];
            contains(rest, b"#0 ")
        }
        Check::GoRoutine => {
            let line = line_before(b, s);
            line.starts_with(b"goroutine ") && digits(line, 10) > 0
        }
        Check::RubyFrame => {
            let d = digits(b, e);
            d > 0 && b[e + d..].starts_with(b":in `")
        }
    }
}

fn exact_upper(b: &[u8], s: usize, lit: &str) -> bool {
    b[s..].starts_with(lit.as_bytes()) && word_start(b, s)
}

/// Roots of Java / JVM and .NET class names.
const JAVA_ROOTS: &[&str] = &[
    "java", "javax", "jakarta", "org", "com", "net", "io", "sun", "kotlin", "scala", "groovy",
    "android", "jdk", "oracle", "weblogic", "ch", "de", "fr", "nl", "edu",
];
const DOTNET_ROOTS: &[&str] = &["System", "Microsoft"];

/// `pkg.sub.ClassNameException` (Java) or `System.XyzException` (.NET), ending the name.
fn qualified_class(b: &[u8], s: usize, e: usize) -> bool {
    if alnum_at(b, e) {
        return false;
    }
    let mut start = s;
    while start > 0
        && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'.' | b'_' | b'$'))
    {
        start -= 1;
        if s - start > 200 {
            return false;
        }
    }
    let Ok(name) = std::str::from_utf8(&b[start..e]) else {
        return false;
    };
    let parts: Vec<&str> = name.split('.').collect();
    let Some(class) = parts.last() else {
        return false;
    };
    if !class.as_bytes().first().is_some_and(u8::is_ascii_uppercase) || class.len() <= 5 {
        return false;
    }
    let root = parts[0];
    (parts.len() >= 3
        && JAVA_ROOTS.contains(&root)
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty()))
        || (parts.len() >= 2 && DOTNET_ROOTS.contains(&root))
}

/// `<?php`/`<?`/`<?=` followed by whitespace (or end): PHP source, not `<?xml` or `<?1234`.
fn php_open(b: &[u8], e: usize) -> bool {
    let rest = &b[e..];
    let ws = |c: Option<&u8>| c.is_none_or(|c| c.is_ascii_whitespace());
    if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(b"php") {
        return ws(rest.get(3));
    }
    if rest.first() == Some(&b'=') {
        return ws(rest.get(1)) || rest.get(1) == Some(&b'$');
    }
    ws(rest.first())
}

/// A real Python frame `File "x.py", line 12, in name` follows the traceback header.
fn py_frame_follows(b: &[u8], e: usize) -> bool {
    let window = &b[e..(e + 600).min(b.len())];
    let Some(f) = find(window, b"File \"") else {
        return false;
    };
    let after = &window[f..];
    let Some(l) = find(after, b"\", line ") else {
        return false;
    };
    let num = &after[l + 8..];
    let d = num.iter().take_while(|c| c.is_ascii_digit()).count();
    d > 0 && num[d..].starts_with(b", in ")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<&'static str> {
        let ac = automaton().unwrap();
        let mut hits = Vec::new();
        scan(ac, text, &|_| true, &mut hits);
        hits.into_iter().map(|h| h.rule).collect()
    }

    #[test]
    fn stack_traces() {
        assert_eq!(
            rules(
                "Traceback (most recent call last):\n  File \"/var/task/app.py\", line 3, in handler\n"
            ),
            ["leak.stack-trace"]
        );
        assert!(
            rules("Traceback (most recent call last):\n  File \"handler.py\", line 42\n")
                .is_empty()
        );
        assert!(rules("\tat com.acme.Foo.bar(Foo.java:12)\n").contains(&"leak.stack-trace"));
        assert!(rules("    at handler (/var/task/index.js:12:7)\n").contains(&"leak.stack-trace"));
        assert!(rules("   at App.Run() in C:\\src\\App.cs:line 42").contains(&"leak.stack-trace"));
        assert!(rules("PHP Fatal error: x\nStack trace:\n#0 {main}").contains(&"leak.stack-trace"));
        assert!(
            rules("panic: boom\n\ngoroutine 1 [running]:\nmain.main()")
                .contains(&"leak.stack-trace")
        );
    }

    #[test]
    fn errors_and_sources() {
        assert_eq!(rules("java.lang.NullPointerException"), ["leak.java-error"]);
        assert!(rules("botocore.exceptions.ClientError: x").is_empty());
        assert_eq!(
            rules("SQL Error: ORA-00933: SQL command not properly ended")[0],
            "leak.sql-error"
        );
        assert_eq!(rules("ERROR 1105 (HY000): XPATH"), ["leak.sql-error"]);
        assert_eq!(rules("<?php echo 1 ?>"), ["leak.php-source"]);
        assert!(rules("<?php12345 <?1234 <?=!@#$ <?xml version").is_empty());
        assert_eq!(
            rules("<title>404.14 - URL too long.</title>"),
            ["leak.iis-error"]
        );
        assert_eq!(rules("<title>x - WSO 4.2.6</title>"), ["leak.web-shell"]);
        assert_eq!(
            rules("NoMethodError: undefined method"),
            ["leak.ruby-error"]
        );
        assert!(rules("{\"fileuploaderror\":\"File upload failed.\"}").is_empty());
        assert!(rules("{ \"noJavascriptError\":\"SOGo requires Javascript\" }").is_empty());
        assert_eq!(rules("<p><%= @user.name %></p>"), ["leak.template-source"]);
        assert!(rules("<%- sidebar.id %>").is_empty());
        assert_eq!(
            rules("<html><title>Index of /backup</title>"),
            ["leak.directory-listing"]
        );
    }
}
