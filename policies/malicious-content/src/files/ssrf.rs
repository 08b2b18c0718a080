//! Server-side request forgery (CRS 934110/934120/934170/934190 territory): cloud metadata
//! endpoints in any IP notation, internal addresses, loopback aliases with or without a
//! scheme, parser-confusion hosts, and schemes a fetcher should never be handed.

use super::url::{
    bare_host, dotted_plain, fold_host, hosts, internal_ip, internal_ipv6, ipv4, ipv6_embedded,
    metadata_ip, urls,
};
use crate::text::FastFind;
use crate::text::find_any;
use crate::{Ctx, Hit};
use gavel_policy_sdk::views::InputKind;

/// Metadata / internal-service host names, meaningful anywhere in a value.
const METADATA_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "metadata.azure",
    "metadata.packet.net",
    "metadata.platformequinix.com",
    "metadata.tencentyun.com",
    "metadata.oraclecloud",
    "rancher-metadata",
    "host.docker.internal",
    "gateway.docker.internal",
    "kubernetes.docker.internal",
    "host.containers.internal",
    "kubernetes.default.svc",
    "burpcollaborator",
    "oastify.com",
    "interact.sh",
];

/// Metadata paths and IPs that need a URL around them.
const METADATA_URL_PARTS: &[&str] = &[
    "/latest/meta-data",
    "/latest/user-data",
    "/latest/api/token",
    "/computemetadata/",
    "/metadata/instance",
    "/metadata/v1",
    "/openstack/latest",
    "fd00:ec2::254",
    "instance-data/",
    "nip.io",
    "xip.io",
    "sslip.io",
];

/// Host names that resolve to the machine itself.
const LOOPBACK_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "localhost4",
    "localhost4.localdomain4",
    "localhost6",
    "localhost6.localdomain6",
    "ip6-localhost",
    "ipv6-localhost",
    "ip6-loopback",
    "localtest.me",
    "lvh.me",
    "vcap.me",
    "lacolhost.com",
];

/// Schemes whose only use in a parameter is talking to raw services.
const RAW_SCHEMES: &[&str] = &[
    "gopher", "dict", "tftp", "netdoc", "jar", "rtmp", "ldap", "ldaps", "ldapi", "sftp", "ssh",
    "telnet", "smb", "imap", "pop3", "acap", "irc", "rsync", "expect",
];

/// How a host reaches inside: `Some((rule, strong, msg))`.
fn classify(host: &str, scheme: &str) -> Option<(&'static str, bool, &'static str)> {
    let h = bare_host(host);
    if h.is_empty() {
        return None;
    }
    let web = matches!(scheme, "http" | "https");
    if let Some(ip) = ipv4(&h) {
        if metadata_ip(ip) {
            return Some(("ssrf.metadata", true, "cloud metadata address"));
        }
        if internal_ip(ip) && !dotted_plain(&h) {
            return Some((
                "ssrf.obfuscated-ip",
                true,
                "internal address in non-standard notation",
            ));
        }
        if internal_ip(ip) {
            return Some(("ssrf.internal", !web, "URL to an internal address"));
        }
        return None;
    }
    if let Some(ip) = ipv6_embedded(&h)
        && metadata_ip(ip)
    {
        return Some(("ssrf.metadata", true, "cloud metadata address (IPv6 form)"));
    }
    if internal_ipv6(&h) {
        return Some(("ssrf.internal", true, "URL to an internal IPv6 address"));
    }
    let name = h.trim_end_matches('.');
    if LOOPBACK_NAMES.contains(&name)
        || name.ends_with(".localhost")
        || name.ends_with(".localtest.me")
        || name.ends_with(".lvh.me")
    {
        return Some(("ssrf.internal", !web, "URL to a loopback host name"));
    }
    None
}

/// Server-side request forgery.
pub fn ssrf(_orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    if matches!(ctx.kind, InputKind::Path) {
        return None;
    }
    let folded;
    let t = if lower.is_ascii() {
        lower.trim()
    } else {
        folded = crate::grams::Indexed::derived(lower, fold_host(lower));
        folded.trim()
    };
    if let Some((p, _)) = find_any(t, METADATA_HOSTS) {
        return Some(Hit::deny(
            "ssrf.metadata",
            p,
            "cloud metadata / internal host",
        ));
    }
    let found = urls(t);
    if !found.is_empty()
        && let Some((p, _)) = find_any(t, METADATA_URL_PARTS)
    {
        return Some(Hit::deny("ssrf.metadata", p, "cloud metadata URL"));
    }
    let header = matches!(ctx.kind, InputKind::Header(_));
    for u in &found {
        // `http://\\l\\o\\c\\a\\l...`: glibc NSS drops backslashes in host names.
        let authority = &u.rest[..u.rest.find(['/', '?', '#']).unwrap_or(u.rest.len())];
        if authority.contains('\\') {
            return Some(Hit::deny(
                "ssrf.obfuscated-host",
                u.at,
                "backslashes in URL host",
            ));
        }
        let cands = hosts(u.rest);
        for (i, h) in cands.iter().enumerate() {
            if let Some((rule, strong, msg)) = classify(h, u.scheme) {
                // A loopback name in a header (Referer, Origin) is how local tools browse.
                if header && rule == "ssrf.internal" && !strong {
                    continue;
                }
                // Reached only through `@` after the authority: parser confusion.
                let (rule, strong, msg) = if i > 0 {
                    (
                        "ssrf.obfuscated-host",
                        true,
                        "internal host smuggled after @",
                    )
                } else {
                    (rule, strong, msg)
                };
                return Some(Hit {
                    rule,
                    strong,
                    at: u.at,
                    msg,
                });
            }
        }
        let host = &cands[0];
        if host.contains('\\') || host.fcontains("%2e") || u.rest.fcontains("\\@") {
            return Some(Hit::deny(
                "ssrf.obfuscated-host",
                u.at,
                "obfuscated URL host",
            ));
        }
        if RAW_SCHEMES.contains(&u.scheme) && u.slashes && u.at == 0 {
            return Some(Hit::deny("ssrf.scheme", u.at, "URL scheme used for SSRF"));
        }
        if matches!(u.scheme, "gopher" | "dict" | "tftp" | "netdoc") {
            return Some(Hit::deny("ssrf.scheme", u.at, "URL scheme used for SSRF"));
        }
    }
    if header {
        return None;
    }
    // Scheme-less loopback / container hosts handed to a fetcher: `localhost/`, `lvh.me:8080`.
    let head_end = t.find(['/', '?', '#', ' ']).unwrap_or(t.len());
    let head = &t[..head_end];
    let tail = &t[head_end..];
    if found.is_empty() && (tail.starts_with('/') || head.contains(':')) {
        let name = head.split(':').next().unwrap_or("");
        let port_ok = head
            .split_once(':')
            .is_none_or(|(_, p)| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
        if port_ok && (LOOPBACK_NAMES.contains(&name) || name.ends_with(".internal")) {
            return Some(Hit::alert("ssrf.internal", 0, "scheme-less loopback host"));
        }
        // `169.254.169.254/latest/`, `0x7f000001/admin`: an address with a path.
        if tail.starts_with('/')
            && (name.contains('.') || name.starts_with("0x"))
            && let Some(ip) = ipv4(name)
            && (metadata_ip(ip) || internal_ip(ip) && !dotted_plain(name))
        {
            return Some(Hit::deny(
                "ssrf.metadata",
                0,
                "scheme-less metadata / internal address",
            ));
        }
    }
    // `data:text/plain;base64,...` handed to a fetcher (images are ordinary uploads).
    if matches!(
        ctx.kind,
        InputKind::QueryValue | InputKind::BodyField | InputKind::BodyFieldName | InputKind::Cookie
    ) && let Some(d) = t.strip_prefix("data:")
        && (d.starts_with("text/") || d.starts_with("application/"))
        && !d.starts_with("text/html")
    {
        return Some(Hit::alert(
            "ssrf.data-url",
            0,
            "data: URL handed to a fetcher",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: &str) -> Option<Hit> {
        let ctx = Ctx {
            kind: &InputKind::QueryValue,
            name: "url",
        };
        ssrf(v, &v.to_ascii_lowercase(), ctx)
    }

    #[test]
    fn attacks() {
        for a in [
            "http://169.254.169.254/latest/meta-data/",
            "http://0xa9fea9fe/",
            "http://[::ffff:a9fe:a9fe]/latest/",
            "ssh://0177.00.00.01",
            "acap://①②⑦.⓪.⓪.①",
            "pop3://ⓁⓄⒸⒶⓁⒽⓄⓈⓉ",
            "http://169。254。169。254/",
            "http://google.com:80 &@google.com:80# @127.88.23.245:22/",
            "https://metadata.packet.net/userdata",
            "localhost/",
            "host.containers.internal/",
            "gopher://example.com/_x",
            "http://[0:0:0:0:0:ffff:127.0.0.1]",
            "http://2130706433/",
            "http://7147006462/",
            "http://[fe80::%zone1]",
            "http://\\\\l\\\\o\\\\c\\\\a\\\\l/",
        ] {
            assert!(q(a).is_some(), "{a}");
        }
    }

    #[test]
    fn benign() {
        for b in [
            "https://example.com/a",
            "https://hooks.slack.com/services/T0/B0/X",
            "localhost",
            "data:image/png;base64,iVBORw0KGgo=",
            "meet at 10:30",
            "http:0xabcdef",
            "https://10.example.com/",
        ] {
            assert!(q(b).is_none(), "{b}");
        }
    }
}
