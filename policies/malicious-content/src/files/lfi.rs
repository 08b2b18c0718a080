//! Path traversal and local file inclusion (CRS 930100-930140 territory): `../` in every
//! encoding the variants leave behind (overlong UTF-8, `%u`, `0x2e`, `..;/`, `....//`), and
//! sensitive OS / project / credential files matched as path components.

use super::lists::{self, has};
use crate::text::FastFind;
use crate::text::find_any;
use crate::{Ctx, Hit};
use gavel_policy_sdk::views::InputKind;

/// Traversal encodings that survive the decoding variants.
const ENCODED_TRAVERSAL: &[&str] = &[
    "..%c0%af",
    "..%c1%9c",
    "%c0%ae%c0%ae",
    "%c0%2e%c0%2e",
    "%e0%80%ae",
    "%f0%80%80%ae",
    "..%u2215",
    "..%u2216",
    "%uff0e%uff0e",
    "..%255c",
    "..%252f",
    "0x2e0x2e",
    "0x5c0x2e",
    "..%5c",
    "..%2f",
    ".%00/",
    "..\u{2215}",
    "..\u{2216}",
    "\u{ff0e}\u{ff0e}/",
];

/// What a sensitive-file match is.
enum Found {
    /// OS / credential file: deny.
    Strong(usize),
    /// Weaker: tool dot-directories, project files in a path.
    Weak(usize),
}

fn is_sep(b: u8) -> bool {
    matches!(
        b,
        b'/' | b' '
            | b'\t'
            | b'\n'
            | b'\r'
            | b'"'
            | b'\''
            | b'`'
            | b'='
            | b':'
            | b';'
            | b'|'
            | b'&'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b','
            | b'?'
            | b'#'
            | b'*'
            | b'$'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b'@'
            | b'~'
            | b'+'
            | b'\0'
    )
}

/// Scan path components of `s` (lower-case, `\` folded to `/`) for sensitive names.
fn sensitive(s: &str, path_kind: bool) -> Option<Found> {
    let b = s.as_bytes();
    // Every rule below needs a `/` next to the component, a one-word value, or a component
    // that starts with a dot: a text of several words with neither is done (most prose).
    if !crate::grams::has_any_byte(s, b"/")
        && s.split_ascii_whitespace().nth(1).is_some()
        && !memchr::memchr_iter(b'.', b).any(|p| p == 0 || is_sep(b[p - 1]))
    {
        return None;
    }
    let words = s.split_ascii_whitespace().count();
    let mut i = 0;
    let mut weak = None;
    while i < b.len() {
        if i > 0 && !is_sep(b[i - 1]) {
            i += 1;
            continue;
        }
        let end = s[i..].bytes().position(is_sep).map_or(b.len(), |e| i + e);
        if end == i {
            i += 1;
            continue;
        }
        let comp = &s[i..end];
        let slash_before = i > 0 && b[i - 1] == b'/';
        let slash_after = b.get(end) == Some(&b'/');
        let next = if slash_after {
            let e2 = s[end + 1..]
                .bytes()
                .position(is_sep)
                .map_or(b.len(), |e| end + 1 + e);
            s[end + 1..e2].trim_end_matches(['-', '~'])
        } else {
            ""
        };
        // Path-like: part of a `/` path, or the whole value.
        let pathy = slash_before || slash_after || words <= 1;
        match comp {
            "etc" if has(lists::ETC, next) => return Some(Found::Strong(i)),
            "proc"
                if has(lists::PROC, next)
                    || !next.is_empty() && next.bytes().all(|c| c.is_ascii_digit()) =>
            {
                return Some(Found::Strong(i));
            }
            "sys" if slash_before && has(lists::SYS, next) => return Some(Found::Strong(i)),
            "windows" | "winnt"
                if matches!(
                    next,
                    "system32"
                        | "syswow64"
                        | "win.ini"
                        | "repair"
                        | "debug"
                        | "system.ini"
                        | "panther"
                ) =>
            {
                return Some(Found::Strong(i));
            }
            "root" if slash_before && !next.is_empty() && i == 1 => {
                return Some(Found::Strong(i));
            }
            "var"
                if slash_before && matches!(next, "log" | "mail" | "spool" | "cpanel" | "adm") =>
            {
                return Some(Found::Strong(i));
            }
            "dev" if slash_before && matches!(next, "tcp" | "udp" | "shm" | "mem" | "kmem") => {
                return Some(Found::Strong(i));
            }
            _ => {}
        }
        if comp.starts_with('.') && comp.len() > 1 && comp != ".." && comp != "..." {
            let env = comp == ".env" || comp.starts_with(".env.");
            let known = env || has(lists::DOT, comp) || comp.starts_with(".bash_");
            if known && pathy {
                let secret = env || has(lists::DOT_SECRET, comp) || comp.ends_with("_history");
                if secret || !path_kind {
                    return Some(Found::Strong(i));
                }
                weak = weak.or(Some(i));
            } else if path_kind && slash_before && comp != ".well-known" && !comp.starts_with("..")
            {
                weak = weak.or(Some(i));
            }
        } else if pathy {
            let name = comp.trim_end_matches(['.', '~']);
            let backup = name.ends_with(".bak") || name.ends_with(".old") || name.ends_with(".swp");
            let name = name
                .trim_end_matches(".bak")
                .trim_end_matches(".old")
                .trim_end_matches(".swp");
            if has(lists::NAMES, name)
                || name.starts_with("wp-config.") && (backup || name != "wp-config.php")
                || sql_archive(name)
            {
                return Some(Found::Strong(i));
            }
            if path_kind
                && (has(lists::PATH_NAMES, name)
                    || matches!(comp, "meta-inf" | "web-inf" | "__pycache__"))
            {
                weak = weak.or(Some(i));
            }
        }
        i = end;
    }
    weak.map(Found::Weak)
}

/// `backup.sql.gz`, `dump.sql.zip`: a compressed database dump.
fn sql_archive(name: &str) -> bool {
    name.rfind(".sql.").is_some_and(|p| {
        let ext = &name[p + 5..];
        !ext.is_empty() && ext.len() <= 4 && ext.bytes().all(|c| c.is_ascii_alphanumeric())
    })
}

/// Path traversal / LFI.
pub fn lfi(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    let s = if crate::grams::has_any_byte(lower, b"\\") {
        crate::grams::Indexed::derived(lower, lower.replace('\\', "/"))
    } else {
        crate::grams::Indexed::unchanged(lower)
    };
    let b = s.as_bytes();
    // Traversal: a run of 2-3 dots between separators (`../`, `..;/`, `/..;`, `....//`).
    let mut from = 0;
    while let Some(q) = s[from..].ffind("..") {
        let p = from + q;
        let mut e = p;
        while e < b.len() && b[e] == b'.' {
            e += 1;
        }
        from = e;
        let dots = e - p;
        let left = p == 0 || matches!(b[p - 1], b'/' | b';' | b'=' | b'.');
        let right = matches!(b.get(e), Some(b'/' | b';'));
        if !(left && right) {
            continue;
        }
        let deep = s.matches("../").count() >= 2
            || s.fcontains("/../")
            || s[e..].starts_with(";")
            || p == 0 && s.len() > e + 1
            || dots >= 4;
        if deep && dots <= 6 {
            return Some(Hit::deny("lfi.traversal", p, "path traversal"));
        }
    }
    if let Some((p, _)) = find_any(&s, ENCODED_TRAVERSAL) {
        return Some(Hit::deny("lfi.traversal", p, "encoded path traversal"));
    }
    let path_kind = matches!(ctx.kind, InputKind::Path);
    // Output redirected into a world-writable directory: `>/tmp/x`, `> /dev/shm/x`.
    if crate::grams::has_any_byte(&s, b">")
        && let Some(p) = s.find('>')
    {
        let after = s[p + 1..].trim_start();
        if after.starts_with("/tmp/")
            || after.starts_with("/var/tmp/")
            || after.starts_with("/dev/shm/")
        {
            return Some(Hit::deny(
                "lfi.sensitive-file",
                p,
                "write to a temp directory",
            ));
        }
    }
    // Vite dev-server file access: `/@fs/etc/passwd`, `/@id/__x00__`.
    if path_kind && let Some((p, _)) = find_any(&s, &["/@fs/", "/@id/"]) {
        return Some(Hit::deny("lfi.sensitive-file", p, "dev-server file access"));
    }
    match sensitive(&s, path_kind) {
        Some(Found::Strong(p)) => {
            return Some(Hit::deny("lfi.sensitive-file", p, "sensitive file path"));
        }
        Some(Found::Weak(p)) => {
            return Some(Hit::alert(
                "lfi.dotfile",
                p,
                "configuration / project file path",
            ));
        }
        None => {}
    }
    if let Some((p, _)) = find_any(&s, &["file:/", "file:\\"]) {
        return Some(Hit::deny("lfi.file-url", p, "file: URL"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: &str) -> Option<Hit> {
        let ctx = Ctx {
            kind: &InputKind::QueryValue,
            name: "file",
        };
        lfi(v, &v.to_ascii_lowercase(), ctx)
    }

    fn p(v: &str) -> Option<Hit> {
        let ctx = Ctx {
            kind: &InputKind::Path,
            name: "",
        };
        lfi(v, &v.to_ascii_lowercase(), ctx)
    }

    #[test]
    fn attacks() {
        for a in [
            "../../../etc/passwd",
            "..;/..;/admin",
            "....//....//etc/hosts",
            "..\\..\\windows\\win.ini",
            "cat /etc/subuid-",
            "/etc/passwd\0",
            "/sys/class",
            "/proc/self/environ",
            "/home/u/.ssh/id_rsa",
            "/path/to/.docker/secrets",
            "backup.sql.zip",
            ">/tmp/curl",
            "c:\\boot.ini",
            ".env",
            "/var/www/.git/config",
        ] {
            assert!(q(a).is_some(), "{a}");
        }
        for a in [
            "/.env",
            "/.git/config",
            "/.codex/config.toml",
            "/get/proc/interrupts",
        ] {
            assert!(p(a).is_some_and(|h| h.strong), "{a}");
        }
        for a in [
            "/.aiignore",
            "/wp-content/debug.log",
            "/@id/__x00__",
            "/.newtool/x",
        ] {
            assert!(p(a).is_some(), "{a}");
        }
    }

    #[test]
    fn benign() {
        for b in [
            "foo../1234",
            "Loading...",
            "wait... what?",
            "my .env file is not loaded",
            "config.json",
            "package.json",
            "users/123/avatar.png",
            "see /docs/etc/readme",
            "1.2.3",
        ] {
            assert!(q(b).is_none(), "{b}");
        }
        for b in [
            "/.well-known/openid-configuration",
            "/api/v1/users/john.doe",
        ] {
            assert!(p(b).is_none(), "{b}");
        }
    }
}
