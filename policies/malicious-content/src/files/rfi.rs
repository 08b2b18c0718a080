//! Remote file inclusion (CRS 931100/931110/931120/931131 territory). A URL in a parameter is
//! ordinary (webhooks, profile links, redirects); it becomes an inclusion attempt only with
//! include-style context: a trailing `?` / `%00` that cuts off the appended extension, an
//! IP-literal host, a non-HTTP scheme a file API accepts (`ftp://`, `file://`, `url:`...), a
//! script URL handed to a parameter named like a file/include path, or `include(` code.

use super::url::{bare_host, internal_ip, ipv4, urls};
use crate::text::FastFind;
use crate::text::find_any;
use crate::{Ctx, Hit};
use gavel_policy_sdk::views::InputKind;

/// Parameter names PHP/CGI apps pass to `include`/`require`/`fopen`.
const INCLUDE_PARAMS: &[&str] = &[
    "file",
    "filename",
    "page",
    "include",
    "inc",
    "path",
    "template",
    "tpl",
    "dir",
    "document",
    "doc",
    "folder",
    "root",
    "pg",
    "style",
    "conf",
    "config",
    "lang",
    "language",
    "module",
    "mod",
    "load",
    "layout",
    "base",
    "basedir",
    "base_dir",
    "base_path",
    "abspath",
    "absolute_path",
    "docroot",
    "document_root",
    "skin",
    "theme",
    "plugin",
    "require",
];

/// Parameters of applications with known RFI holes (CRS 931110).
const VULN_PARAMS: &[&str] = &[
    "mosconfig_absolute_path",
    "_conf[path]",
    "_server[document_root]",
    "path[docroot]",
    "config[root_dir]",
    "gallery_basedir",
    "appserv_root",
];

/// Extensions of files a server would include or execute.
const SCRIPT_EXT: &[&str] = &[
    ".php", ".php3", ".php4", ".php5", ".phtml", ".inc", ".txt", ".asp", ".aspx", ".jsp", ".pl",
    ".cgi", ".sh", ".py",
];

/// Schemes a file API (PHP streams, Java URL, curl) accepts that an HTTP form never needs.
const FILE_SCHEMES: &[&str] = &[
    "ftp",
    "ftps",
    "file",
    "gopher",
    "dict",
    "ldap",
    "jar",
    "netdoc",
    "tftp",
    "sftp",
    "smb",
    "local_file",
    "expect",
    "compress.zlib",
    "compress.bzip2",
    "zip",
    "glob",
    "ssh2.sftp",
    "ssh2.exec",
    "rar",
    "ogg",
];

fn is_param(kind: &InputKind) -> bool {
    matches!(
        kind,
        InputKind::QueryValue | InputKind::BodyField | InputKind::Cookie | InputKind::MultipartPart
    )
}

/// Remote file inclusion.
pub fn rfi(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    // 931131: a URL inside the request path (`/get/https://example.com/`, open proxies).
    if matches!(ctx.kind, InputKind::Path) {
        let p = lower
            .ffind("/http://")
            .or_else(|| lower.ffind("/https://"))?;
        return Some(Hit::alert(
            "rfi.url",
            p + 1,
            "URL embedded in the request path",
        ));
    }
    // 931110: `include(http://...` and the classic vulnerable parameters, in any value.
    if let Some((p, _)) = find_any(
        lower,
        &["include(", "include (", "require(", "require_once("],
    ) && find_any(
        &lower[p..],
        &["http://", "https://", "ftp://", "ftps://", "file://"],
    )
    .is_some()
    {
        return Some(Hit::deny("rfi.url", p, "include() of a URL"));
    }
    if !is_param(ctx.kind) {
        return None;
    }
    let t = lower.trim();
    // 931120: `http?`, `file?`: a scheme word then the include-cutting `?`.
    let word = t.trim_end_matches('?');
    if word.len() < t.len() && matches!(word, "http" | "https" | "ftp" | "ftps" | "file") {
        return Some(Hit::alert("rfi.url", 0, "scheme name ending in ?"));
    }
    let t = t.strip_prefix("url:").unwrap_or(t);
    if t.starts_with("jar:") {
        return Some(Hit::deny("rfi.scheme", 0, "jar: URL in a parameter"));
    }
    let found = urls(t);
    let u = found.first()?;
    if u.at != 0 {
        return None;
    }
    if FILE_SCHEMES.contains(&u.scheme) || u.scheme.starts_with("compress.") {
        let strong = !matches!(u.scheme, "ftp" | "ftps");
        return Some(Hit {
            rule: "rfi.scheme",
            strong,
            at: 0,
            msg: "non-HTTP URL scheme in a parameter",
        });
    }
    if !matches!(u.scheme, "http" | "https") {
        return None;
    }
    // Trailing `?` / NUL: the include appends `.php`, the attacker cuts it off.
    if t.ends_with('?') || t.ends_with("%00") || t.contains('\0') {
        return Some(Hit::deny(
            "rfi.url",
            0,
            "URL ending in ? / NUL (include trick)",
        ));
    }
    // 931110: the parameters of known RFI-vulnerable apps given any URL.
    if VULN_PARAMS.contains(&ctx.name) {
        return Some(Hit::deny("rfi.url", 0, "URL in a known RFI parameter"));
    }
    // `http://example.com/:asd@evil.com/`: userinfo-looking text after the authority, read as
    // the authority by lax parsers.
    let path = u.rest.split(['?', '#']).next().unwrap_or("");
    if let Some(slash) = path.find('/')
        && path[slash..]
            .split('/')
            .any(|seg| seg.find(':').is_some_and(|c| seg[c..].contains('@')))
    {
        return Some(Hit::alert("rfi.url", 0, "userinfo after the URL authority"));
    }
    let host = bare_host(super::url::hosts(u.rest).first()?);
    let ip_host = ipv4(&host).is_some_and(|ip| !internal_ip(ip))
        && host.bytes().all(|c| c.is_ascii_digit() || c == b'.')
        || host.contains(':') && host.bytes().all(|c| c.is_ascii_hexdigit() || c == b':');
    let file = u.rest.split(['?', '#']).next().unwrap_or("");
    let has_path = file.trim_end_matches('/').contains('/');
    let script = SCRIPT_EXT.iter().any(|e| file.ends_with(e));
    let include_param = INCLUDE_PARAMS.contains(&ctx.name);
    if ip_host && (has_path || include_param) {
        return Some(Hit::deny("rfi.url", 0, "URL to a file on a bare IP"));
    }
    if ip_host {
        return Some(Hit::alert("rfi.url", 0, "URL with an IP-literal host"));
    }
    if script && include_param {
        return Some(Hit::deny(
            "rfi.url",
            0,
            "script URL in an include-style parameter",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(name: &str, v: &str) -> Option<Hit> {
        let ctx = Ctx {
            kind: &InputKind::QueryValue,
            name,
        };
        rfi(v, &v.to_ascii_lowercase(), ctx)
    }

    #[test]
    fn attacks() {
        assert!(q("x", "http://66.240.183.75/crash.php").is_some());
        assert!(q("x", "http://evil.example/shell.txt?").is_some());
        assert!(q("page", "http://evil.example/shell.txt").is_some());
        assert!(q("x", "ftp://foo.bar").is_some());
        assert!(q("x", "url:file:///etc/passwd").is_some());
        assert!(q("x", "file?").is_some());
        assert!(q("_conf[path]", "https://foo.bar").is_some());
        assert!(q("x", "jar:http://evil.co/b.zip!a").is_some());
        assert!(q("x", "http://example.com/:asd@evil.com/").is_some());
        assert!(q("x", "include(http://evil/x.txt)").is_some());
    }

    #[test]
    fn benign() {
        for v in [
            "https://example.com",
            "https://foo.bar?foo=bar",
            "https://www.example.com/index.php?page=2",
            "http://localhost:3000/callback",
            "https://hooks.slack.com/services/T0/B0/X",
            "https://medium.com/@someone/post",
        ] {
            assert!(q("url", v).is_none(), "{v}");
        }
        assert!(q("q", "what is a file?").is_none());
    }
}
