//! File and network reach: path traversal / local file inclusion, remote file inclusion, and
//! server-side request forgery (metadata endpoints in any IP notation, local schemes).

use crate::text::find_any;
use crate::{Ctx, Hit};
use gavel_policy_sdk::views::InputKind;

/// Files whose names alone show intent.
const SENSITIVE: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/motd",
    "/etc/sudoers",
    "/etc/crontab",
    "/etc/fstab",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/mysql",
    "/etc/httpd",
    "/etc/apache2",
    "/etc/nginx",
    "/etc/ssh",
    "/etc/security",
    "/etc/environment",
    "/etc/profile",
    "/etc/bashrc",
    "/etc/master.passwd",
    "/proc/self",
    "/proc/version",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/net",
    "/proc/sched_debug",
    "/var/log/",
    "/var/run/secrets",
    "/var/lib/mysql",
    "/root/",
    ".ssh/id_rsa",
    ".ssh/id_dsa",
    ".ssh/id_ed25519",
    ".ssh/authorized_keys",
    ".ssh/known_hosts",
    ".bash_history",
    ".bashrc",
    ".zsh_history",
    ".mysql_history",
    ".aws/credentials",
    ".aws/config",
    ".kube/config",
    ".docker/config.json",
    ".git/config",
    ".git/head",
    ".gitconfig",
    ".env",
    ".htpasswd",
    ".htaccess",
    "web.config",
    "wp-config.php",
    "boot.ini",
    "win.ini",
    "system.ini",
    "windows\\system32",
    "windows/system32",
    "\\windows\\win",
    "c:\\windows",
    "c:/windows",
    "autoexec.bat",
    "config.sys",
    "sam\\",
    "/system32/",
    "/usr/local/etc",
    "/opt/lampp",
    "localsettings.php",
    "configuration.php",
    "config.inc.php",
    "/self/environ",
    "/self/cmdline",
    "/dev/tcp/",
    "/dev/udp/",
    "/usr/src/",
    "id_rsa",
];

/// Paths of agent/IDE and tool configuration files that leak keys when served.
const DOTFILES: &[&str] = &[
    "/.roo/",
    "/.rovodev/",
    "/.continue/",
    "/.fabric/",
    "/.junie/",
    "/.cursor/",
    "/.claude/",
    "/.windsurf/",
    "/.vscode/",
    "/.idea/",
    "/.aider",
    "/.codeium/",
    "/.github/copilot",
    "/.gemini/",
    "/.amazonq/",
    "/.kiro/",
    "/.cline",
    "/.svn/",
    "/.hg/",
    "/.bzr/",
    "/.ds_store",
    "/.npmrc",
    "/.pypirc",
    "/.netrc",
    "/.pgpass",
    "/.s3cfg",
    "/.boto",
    "/.azure/",
    "/.gcloud/",
    "/.config/gcloud",
    "/.terraform",
    "/.vagrant",
    "/@fs/",
];

/// Path traversal / LFI.
pub fn lfi(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    let s = lower.replace('\\', "/");
    // Traversal: `../` with its encodings already decoded by the variants; also overlong
    // UTF-8 / 16-bit forms that survive decoding, and `..;/` (Tomcat).
    if let Some((p, _)) = find_any(
        &s,
        &[
            "../",
            "/..",
            "..;/",
            "..%c0%af",
            "..%c1%9c",
            "%c0%ae%c0%ae",
            "..%u2215",
            "..%u2216",
            "..%255c",
            "..%252f",
            "0x2e0x2e",
            "0x5c0x2e",
            ".%00/",
            "%00/",
        ],
    ) {
        // `foo../bar` and `...` in prose are not traversal; a real one crosses a separator.
        let seg = &s[p..];
        let real = !seg.starts_with("../")
            || p == 0
            || s.as_bytes()[p - 1] == b'/'
            || s.as_bytes()[p - 1] == b'=';
        let deep = s.matches("../").count() >= 2 || s.contains("/../");
        if real && (deep || seg.starts_with("../") && p == 0)
            || !seg.starts_with("../") && !seg.starts_with("/..")
        {
            return Some(Hit::deny("lfi.traversal", p, "path traversal"));
        }
    }
    if let Some((p, _)) = find_any(&s, SENSITIVE) {
        let name = SENSITIVE
            .iter()
            .find(|n| s[p..].starts_with(**n))
            .copied()
            .unwrap_or("");
        // Bare words like `.env` or `id_rsa` need a path or extension context.
        let ok = match name {
            ".env" => {
                s[p + 4..].is_empty()
                    || s[p + 4..].starts_with(['.', '/', '?', ' '])
                        && (p == 0 || s.as_bytes()[p - 1] == b'/')
            }
            "id_rsa" | "web.config" | ".htaccess" | ".htpasswd" => {
                p == 0 || matches!(s.as_bytes()[p - 1], b'/' | b' ' | b'=')
            }
            _ => true,
        };
        if ok {
            let strong = !matches!(ctx.kind, InputKind::Path)
                || name.starts_with("/etc/")
                || name.contains("passwd");
            return Some(Hit {
                rule: "lfi.sensitive-file",
                strong,
                at: p,
                msg: "sensitive file path",
            });
        }
    }
    if matches!(ctx.kind, InputKind::Path)
        && let Some((p, _)) = find_any(&s, DOTFILES)
    {
        return Some(Hit::alert("lfi.dotfile", p, "configuration dotfile path"));
    }
    if let Some((p, _)) = find_any(&s, &["file:/", "file:\\"]) {
        return Some(Hit::deny("lfi.file-url", p, "file: URL"));
    }
    None
}

/// Remote file inclusion: a URL handed to a parameter, with signs it is meant to be
/// included (trailing `?`, IP host, script file, known include parameter).
pub fn rfi(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    if !matches!(
        ctx.kind,
        InputKind::QueryValue | InputKind::BodyField | InputKind::Cookie | InputKind::MultipartPart
    ) {
        return None;
    }
    let t = lower.trim();
    if let Some((p, _)) = find_any(
        t,
        &[
            "file://",
            "gopher://",
            "dict://",
            "ldap://",
            "jar:",
            "netdoc:",
            "tftp://",
            "sftp://",
        ],
    ) {
        return Some(Hit::deny("rfi.scheme", p, "non-HTTP URL scheme"));
    }
    let Some(p) = t
        .find("http://")
        .or_else(|| t.find("https://"))
        .or_else(|| t.find("ftp://"))
        .or_else(|| t.find("ftps://"))
    else {
        if t.starts_with("http") && t.len() <= 6 && t.ends_with('?') {
            return Some(Hit::alert("rfi.url", 0, "URL with trailing ?"));
        }
        return None;
    };
    let url = &t[p..];
    let after = &url[url.find("//").map_or(0, |x| x + 2)..];
    let host: String = after
        .chars()
        .take_while(|c| !matches!(c, '/' | '?' | '#'))
        .collect();
    let host_ip = host
        .trim_start_matches('[')
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        && host
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'));
    let trailing_q =
        url.ends_with('?') || url.ends_with("?%00") || url.ends_with("%00") || url.contains('\0');
    let script = [".php", ".txt", ".inc", ".asp", ".jsp", ".pl", ".cgi", ".sh"]
        .iter()
        .any(|e| url.split(['?', '#']).next().unwrap_or("").ends_with(e));
    if trailing_q {
        return Some(Hit::deny("rfi.url", p, "URL ending in ? (include trick)"));
    }
    if p == 0 && host_ip && (script || after.contains('/')) {
        return Some(Hit::deny("rfi.url", p, "URL to a script on a bare IP"));
    }
    if p == 0 && (script || host_ip) {
        return Some(Hit::alert(
            "rfi.url",
            p,
            "URL parameter pointing to a remote script",
        ));
    }
    if p == 0 && !url[4..].contains('?') && after.len() < 40 && !after.contains('/') {
        return Some(Hit::alert("rfi.url", p, "URL passed as a parameter value"));
    }
    None
}

/// Parse an IPv4 host in any notation inet_aton accepts (dotted, decimal, octal, hex, mixed).
fn ipv4(host: &str) -> Option<u32> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::new();
    for p in &parts {
        let v = if let Some(h) = p.strip_prefix("0x") {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        nums.push(v);
    }
    let n = nums.len();
    let mut out: u64 = 0;
    for (i, v) in nums.iter().enumerate() {
        if i < n - 1 {
            if *v > 255 {
                return None;
            }
            out = out << 8 | v;
        } else {
            let bits = 8 * (4 - i as u32);
            if bits < 64 && *v >= 1u64 << bits {
                return None;
            }
            out = (out << bits) | v;
        }
    }
    u32::try_from(out).ok()
}

/// Server-side request forgery.
pub fn ssrf(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    if matches!(ctx.kind, InputKind::Path) {
        return None;
    }
    let t = lower.trim();
    let has_scheme = t.contains("://") || t.starts_with("http:") || t.starts_with("https:");
    if let Some((p, _)) = find_any(
        t,
        &[
            "metadata.google.internal",
            "metadata.azure",
            "host.docker.internal",
            "gateway.docker.internal",
            "kubernetes.default",
            "localtest.me",
            "localhost4",
            "localhost6",
            "ip6-localhost",
            "burpcollaborator",
            "oastify.com",
            "interact.sh",
        ],
    ) {
        return Some(Hit::deny(
            "ssrf.metadata",
            p,
            "cloud metadata / internal host",
        ));
    }
    if !has_scheme {
        return None;
    }
    if let Some((p, _)) = find_any(
        t,
        &[
            "169.254.169.254",
            "169.254.170.2",
            "fd00:ec2::254",
            "metadata.google.internal",
            "metadata.azure",
            "100.100.100.200",
            "instance-data",
            "192.0.0.192",
            "/latest/meta-data",
            "/latest/user-data",
            "/computemetadata/",
            "/metadata/instance",
            "/latest/api/token",
            "a9fe:a9fe",
            "a9fea9fe",
            "host.docker.internal",
            "gateway.docker.internal",
            "kubernetes.default",
            "localtest.me",
            "localhost4",
            "localhost6",
            "ip6-localhost",
            "nip.io",
            "xip.io",
            "sslip.io",
            "burpcollaborator",
            "oastify.com",
            "interact.sh",
        ],
    ) {
        return Some(Hit::deny(
            "ssrf.metadata",
            p,
            "cloud metadata / internal host",
        ));
    }
    let schemes = [
        "gopher://",
        "dict://",
        "ldap://",
        "tftp://",
        "file://",
        "jar:",
        "netdoc://",
        "rtmp://",
        "sftp://",
        "ftp://",
        "http://",
        "https://",
        "http:",
        "https:",
    ];
    let (p, scheme) = find_any(t, &schemes)?;
    let rest = &t[p + scheme.len()..];
    let rest = rest.trim_start_matches(['/', '\\']);
    let host: String = rest
        .chars()
        .take_while(|c| !matches!(c, '/' | '?' | '#'))
        .collect();
    let host = host.rsplit('@').next().unwrap_or(&host).to_string();
    let host_clean: String = host.chars().filter(|c| *c != '\\').collect();
    let bare = host_clean
        .trim_start_matches('[')
        .split([']'])
        .next()
        .unwrap_or("")
        .to_string();
    let hostname = if bare.contains("::") || bare.matches(':').count() > 1 {
        bare.clone()
    } else {
        bare.split(':').next().unwrap_or("").to_string()
    };
    let internal = |ip: u32| {
        let a = ip >> 24;
        a == 127
            || a == 10
            || ip == 0
            || ip >> 16 == 0xa9fe
            || ip >> 20 == 0xac1
            || ip >> 16 == 0xc0a8
            || ip >> 24 == 100 && (ip >> 16 & 0xff) >= 64 && (ip >> 16 & 0xff) < 128
    };
    let is_dotted_plain = hostname.split('.').count() == 4
        && hostname
            .split('.')
            .all(|x| x.parse::<u8>().is_ok() && (x == "0" || !x.starts_with('0')));
    if let Some(ip) = ipv4(&hostname) {
        if internal(ip) && !is_dotted_plain {
            return Some(Hit::deny(
                "ssrf.obfuscated-ip",
                p,
                "internal address in non-standard notation",
            ));
        }
        if internal(ip) {
            return Some(Hit {
                rule: "ssrf.internal",
                strong: !matches!(scheme, "http://" | "https://"),
                at: p,
                msg: "URL to an internal address",
            });
        }
    }
    if hostname.contains(':')
        && (hostname == "::1"
            || hostname.starts_with("::ffff:")
            || hostname == "::"
            || hostname.starts_with("0:0:0:0:0:")
            || hostname.starts_with("fe80")
            || hostname.starts_with("fc")
            || hostname.starts_with("fd"))
    {
        return Some(Hit::deny(
            "ssrf.internal",
            p,
            "URL to an internal IPv6 address",
        ));
    }
    if matches!(
        hostname.as_str(),
        "localhost" | "0" | "127.1" | "0.0.0.0" | "localhost.localdomain"
    ) && !matches!(ctx.kind, InputKind::Header(_))
    {
        return Some(Hit::alert("ssrf.internal", p, "URL to localhost"));
    }
    if host.contains('\\') || rest.contains("\\@") || host.contains("%2e") {
        return Some(Hit::deny("ssrf.obfuscated-host", p, "obfuscated URL host"));
    }
    if matches!(
        scheme,
        "gopher://" | "dict://" | "tftp://" | "netdoc://" | "jar:" | "rtmp://"
    ) {
        return Some(Hit::deny("ssrf.scheme", p, "URL scheme used for SSRF"));
    }
    if scheme.ends_with(':') && !scheme.ends_with("//") && p == 0 && !rest.is_empty() {
        return Some(Hit::alert(
            "ssrf.malformed-url",
            p,
            "URL without // (parser confusion)",
        ));
    }
    if matches!(ctx.kind, InputKind::BodyFieldName) && t.starts_with("data:") {
        return Some(Hit::alert("ssrf.data-url", 0, "data: URL as a field name"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Ctx<'static> {
        Ctx {
            kind: &InputKind::QueryValue,
        }
    }

    #[test]
    fn ipv4_notations() {
        assert_eq!(ipv4("0x7f000001"), Some(0x7f000001));
        assert_eq!(ipv4("2130706433"), Some(0x7f000001));
        assert_eq!(ipv4("0251.0376.0251.0376"), Some(0xa9fea9fe));
        assert_eq!(ipv4("169.254.43518"), Some(0xa9fea9fe));
        assert_eq!(ipv4("example"), None);
    }

    #[test]
    fn families() {
        assert!(lfi("../../../etc/passwd", "../../../etc/passwd", c()).is_some());
        assert!(lfi("foo../1234", "foo../1234", c()).is_none());
        assert!(ssrf("", "http://169.254.169.254/latest/meta-data/", c()).is_some());
        assert!(ssrf("", "http://0xa9fea9fe/", c()).is_some());
        assert!(ssrf("", "https://example.com/a", c()).is_none());
        assert!(rfi("", "http://66.240.183.75/crash.php", c()).is_some());
        assert!(rfi("", "https://foo.bar?foo=bar", c()).is_none());
    }
}
