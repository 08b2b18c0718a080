//! URL pieces for the SSRF / RFI detectors: scheme discovery, host extraction (including the
//! hosts an authority-confusion trick smuggles after `@`), host normalisation (enclosed
//! alphanumerics, full-width digits, ideographic dots) and IPv4 parsing in every notation
//! `inet_aton` accepts.
use crate::text::FastFind;

/// A URL found in a value: where it starts, its scheme (lower case, without `:`), whether the
/// scheme was followed by `//`, and the text after `scheme:` / `scheme://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url<'a> {
    pub at: usize,
    pub scheme: &'a str,
    pub slashes: bool,
    pub rest: &'a str,
}

/// Every `scheme://` in `t` (lower-cased), plus `http:` / `https:` without slashes.
pub fn urls(t: &str) -> Vec<Url<'_>> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    // A value with more URLs than this is a document, not a parameter; bound the work.
    while out.len() < 32
        && let Some(q) = t[from..].find(':')
    {
        let colon = from + q;
        from = colon + 1;
        let mut s = colon;
        while s > 0 && (b[s - 1].is_ascii_alphanumeric() || matches!(b[s - 1], b'+' | b'-' | b'.'))
        {
            s -= 1;
        }
        // Schemes start with a letter; skip leading digits/dots of `1.2:`.
        while s < colon && !b[s].is_ascii_alphabetic() {
            s += 1;
        }
        if s == colon {
            continue;
        }
        let scheme = &t[s..colon];
        let after = &t[colon + 1..];
        let slashes =
            after.starts_with("//") || after.starts_with("\\\\") || after.starts_with("/\\");
        if slashes {
            out.push(Url {
                at: s,
                scheme,
                slashes,
                rest: &after[2..],
            });
        } else if matches!(scheme, "http" | "https") && !after.is_empty() {
            out.push(Url {
                at: s,
                scheme,
                slashes,
                rest: after.trim_start_matches(['/', '\\']),
            });
        }
    }
    out
}

/// Map look-alike characters hosts are written with onto ASCII: enclosed alphanumerics
/// (`①②⑦`, `ⓛⓞ`), full-width forms, ideographic / half-width full stops.
pub fn fold_host(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let u = c as u32;
        let m = match u {
            0x2460..=0x2473 => digits_of(u - 0x2460 + 1, &mut out),
            0x2474..=0x2487 => digits_of(u - 0x2474 + 1, &mut out),
            0x2488..=0x249b => digits_of(u - 0x2488 + 1, &mut out),
            0x24ea | 0x24ff => Some('0'),
            0x24f5..=0x24fe => digits_of(u - 0x24f5 + 1, &mut out),
            0x24eb..=0x24f4 => digits_of(u - 0x24eb + 11, &mut out),
            0x2776..=0x277f => digits_of(u - 0x2776 + 1, &mut out),
            0x2780..=0x2789 => digits_of(u - 0x2780 + 1, &mut out),
            0x278a..=0x2793 => digits_of(u - 0x278a + 1, &mut out),
            0x249c..=0x24b5 => char::from_u32(u - 0x249c + 'a' as u32),
            0x24b6..=0x24cf => char::from_u32(u - 0x24b6 + 'a' as u32),
            0x24d0..=0x24e9 => char::from_u32(u - 0x24d0 + 'a' as u32),
            0xff10..=0xff19 => char::from_u32(u - 0xff10 + '0' as u32),
            0xff21..=0xff3a => char::from_u32(u - 0xff21 + 'a' as u32),
            0xff41..=0xff5a => char::from_u32(u - 0xff41 + 'a' as u32),
            0x3002 | 0xff0e | 0xff61 | 0x2024 | 0xfe52 => Some('.'),
            0xff1a => Some(':'),
            0xff0f => Some('/'),
            _ => Some(c.to_ascii_lowercase()),
        };
        if let Some(m) = m {
            out.push(m);
        }
    }
    out
}

/// Push the decimal digits of `n` (enclosed numbers such as `⑯` stand for `16`).
fn digits_of(n: u32, out: &mut String) -> Option<char> {
    out.push_str(&n.to_string());
    None
}

/// Host candidates of a URL's text after the scheme: the authority's host (after the last
/// `@` of the authority) and, for parser-confusion tricks, the host after every later `@`
/// (`http://google.com:80 &@google.com:80# @127.88.23.245:22/`). Ports and brackets stay.
pub fn hosts(rest: &str) -> Vec<String> {
    let rest = rest.trim_start_matches(['/', '\\']);
    let stop = |c: char| {
        matches!(
            c,
            '/' | '?' | '#' | '\\' | ' ' | '\t' | '\n' | '"' | '\'' | '<' | '>'
        )
    };
    let end = rest.find(stop).unwrap_or(rest.len());
    let authority = &rest[..end];
    let mut out = vec![
        authority
            .rsplit('@')
            .next()
            .unwrap_or(authority)
            .to_string(),
    ];
    let mut from = end;
    while let Some(q) = rest[from..].find('@') {
        let s = from + q + 1;
        let h = rest[s..].trim_start_matches([' ', '@']);
        let e = h.find(stop).unwrap_or(h.len());
        out.push(h[..e].to_string());
        from = s;
        if out.len() > 8 {
            break;
        }
    }
    out
}

/// A host without port and brackets: `[::1]:80` → `::1`, `127.0.0.1:22` → `127.0.0.1`.
pub fn bare_host(host: &str) -> String {
    let h = fold_host(host);
    // IPv6 zone ids: `[fe80::1%eth0]`.
    let h = match h.find('%') {
        Some(z) if h.starts_with('[') => format!("{}]", &h[..z]),
        _ => h,
    };
    let h = h.trim_end_matches('.');
    if let Some(inner) = h.strip_prefix('[') {
        return inner.split(']').next().unwrap_or("").to_string();
    }
    if h.matches(':').count() > 1 {
        return h.to_string(); // bare IPv6
    }
    h.split(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_string()
}

/// Parse an IPv4 host in any notation inet_aton accepts (dotted, decimal, octal, hex, mixed).
pub fn ipv4(host: &str) -> Option<u32> {
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
    if n == 1 {
        // Dotless forms wrap modulo 2^32 in several parsers (`7147006462`, `0x41414141a9fea9fe`).
        return Some(nums[0] as u32);
    }
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

/// Whether a host is written as a plain dotted quad (`10.0.0.1`, not `0x0a.0.0.1`).
pub fn dotted_plain(host: &str) -> bool {
    host.split('.').count() == 4
        && host
            .split('.')
            .all(|x| x.parse::<u8>().is_ok() && (x == "0" || !x.starts_with('0')))
}

/// Cloud metadata addresses (AWS/GCP/Azure/OpenStack link-local, ECS task metadata, Alibaba,
/// Oracle, AWS NAT64 / IPv6).
pub fn metadata_ip(ip: u32) -> bool {
    matches!(
        ip,
        0xa9fe_a9fe | 0xa9fe_aa02 | 0x6464_64c8 | 0xc000_00c0 | 0xa9fe_a9fd
    )
}

/// Loopback, private, link-local, CGNAT and `0.0.0.0` addresses.
pub fn internal_ip(ip: u32) -> bool {
    let a = ip >> 24;
    a == 127
        || a == 10
        || ip == 0
        || ip >> 16 == 0xa9fe
        || ip >> 20 == 0xac1
        || ip >> 16 == 0xc0a8
        || a == 100 && (ip >> 16 & 0xff) >= 64 && (ip >> 16 & 0xff) < 128
}

/// An IPv4 address embedded in an IPv6 literal (`::ffff:a9fe:a9fe`, `::ffff:127.0.0.1`,
/// `0:0:0:0:0:ffff:7f00:1`), or the IPv6 forms of loopback / unspecified.
pub fn ipv6_embedded(h: &str) -> Option<u32> {
    if !h.contains(':') {
        return None;
    }
    let last = h.rsplit(':').next()?;
    if last.contains('.') {
        return ipv4(last);
    }
    let groups: Vec<&str> = h.rsplit(':').take(2).collect();
    if h.fcontains("ffff:") && groups.len() == 2 {
        let lo = u32::from_str_radix(groups[0], 16).ok()?;
        let hi = u32::from_str_radix(groups[1], 16).ok()?;
        if lo <= 0xffff && hi <= 0xffff {
            return Some(hi << 16 | lo);
        }
    }
    None
}

/// Internal IPv6 literals: loopback, unspecified, unique-local, link-local, AWS metadata.
pub fn internal_ipv6(h: &str) -> bool {
    if !h.contains(':')
        || !h
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
    {
        return false;
    }
    let compact: String = h
        .split(':')
        .map(|g| g.trim_start_matches('0'))
        .collect::<Vec<_>>()
        .join(":");
    compact.trim_start_matches(':') == "1"
        || compact.chars().all(|c| c == ':')
        || h.starts_with("fe80")
        || h.starts_with("fc")
        || h.starts_with("fd")
        || ipv6_embedded(h).is_some_and(internal_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notations() {
        assert_eq!(ipv4("0x7f000001"), Some(0x7f000001));
        assert_eq!(ipv4("2130706433"), Some(0x7f000001));
        assert_eq!(ipv4("0251.0376.0251.0376"), Some(0xa9fea9fe));
        assert_eq!(ipv4("169.254.43518"), Some(0xa9fea9fe));
        assert_eq!(ipv4("example"), None);
        assert_eq!(ipv4("7147006462"), Some(0xa9fea9fe));
        assert_eq!(bare_host("[fe80::%zone1]"), "fe80::");
        assert_eq!(fold_host("①②⑦.⓪.⓪.①"), "127.0.0.1");
        assert_eq!(fold_host("169。254。169。254"), "169.254.169.254");
        assert_eq!(fold_host("ⓁⓄⒸⒶⓁⒽⓄⓈⓉ"), "localhost");
        assert_eq!(bare_host("[::ffff:a9fe:a9fe]:80"), "::ffff:a9fe:a9fe");
        assert_eq!(ipv6_embedded("::ffff:a9fe:a9fe"), Some(0xa9fea9fe));
        assert!(internal_ipv6("0000::1"));
        assert!(internal_ipv6("::"));
        assert!(!internal_ipv6("2001:db8::1"));
    }

    #[test]
    fn confusion_hosts() {
        let h = hosts("google.com:80 &@google.com:80# @127.88.23.245:22/");
        assert!(h.iter().any(|x| x == "127.88.23.245:22"));
        assert_eq!(hosts("user:pw@example.com/a")[0], "example.com");
    }
}
