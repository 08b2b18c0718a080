//! Decoders for the encodings attackers and AWS wrap values in: percent, form, HTML entities,
//! `\uXXXX` / `%uXXXX` escapes, base64, and RFC 6901 pointer escaping.
//!
//! Every function is linear in its input and never fails: undecodable sequences are kept as-is,
//! which is what a lenient backend would do with them too.

use base64::Engine as _;

/// Escape one JSON pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn pointer_token(token: &str) -> String {
    if !token.contains(['~', '/']) {
        return token.to_string();
    }
    token.replace('~', "~0").replace('/', "~1")
}

/// `base` + `/` + escaped `token`.
pub fn pointer_join(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    out.push_str(&pointer_token(token));
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode bytes; with `plus`, `+` becomes a space (form encoding). Also decodes the
/// IIS `%uXXXX` form, which some backends still accept.
pub fn percent_decode_bytes(input: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U'))
                && let Some(c) = hex4(input.get(i + 2..i + 6))
            {
                push_char(&mut out, c);
                i += 6;
                continue;
            }
        } else if plus && b == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Percent-decode to a string (invalid UTF-8 replaced).
pub fn percent_decode(input: &str, plus: bool) -> String {
    if !(input.contains('%') || plus && input.contains('+')) {
        return input.to_string();
    }
    String::from_utf8_lossy(&percent_decode_bytes(input.as_bytes(), plus)).into_owned()
}

fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    let d = digits?;
    if d.len() != 4 {
        return None;
    }
    d.iter()
        .try_fold(0u32, |acc, &b| Some(acc << 4 | u32::from(hex_val(b)?)))
}

fn push_char(out: &mut Vec<u8>, c: u32) {
    let ch = char::from_u32(c).unwrap_or('\u{FFFD}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

/// Split `a=1&b=2` into decoded `(name, value)` pairs (form encoding: `+` is a space).
pub fn form_pairs(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((n, v)) => (percent_decode(n, true), percent_decode(v, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect()
}

/// Decode `\uXXXX`, `\xXX` and `\u{X..}` escapes as JavaScript / JSON would.
pub fn unescape_js(input: &str) -> String {
    if !input.contains('\\') {
        return input.to_string();
    }
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(b'u' | b'U') => {
                    if let Some(c) = hex4(b.get(i + 2..i + 6)) {
                        push_char(&mut out, c);
                        i += 6;
                        continue;
                    }
                }
                Some(b'x' | b'X') => {
                    if let (Some(h), Some(l)) = (
                        b.get(i + 2).copied().and_then(hex_val),
                        b.get(i + 3).copied().and_then(hex_val),
                    ) {
                        push_char(&mut out, u32::from(h << 4 | l));
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decode HTML character references: `&lt;`, `&#60;`, `&#x3c;` (with or without `;`, as
/// browsers accept), plus the few named entities that matter for markup and scripts.
pub fn html_entities(input: &str) -> String {
    if !input.contains('&') {
        return input.to_string();
    }
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'&' {
            i += 1;
            continue;
        }
        if let Some((ch, len)) = entity_at(&b[i + 1..]) {
            out.push_str(&input[last..i]);
            out.push(ch);
            i += 1 + len;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&input[last..]);
    out
}

fn entity_at(b: &[u8]) -> Option<(char, usize)> {
    if b.first() == Some(&b'#') {
        let (radix, start) = if matches!(b.get(1), Some(b'x' | b'X')) {
            (16, 2)
        } else {
            (10, 1)
        };
        let mut n: u32 = 0;
        let mut j = start;
        // Browsers accept leading zeros (`&#0000060`); bound the length to stay linear.
        while j < b.len() && j < start + 10 {
            let d = match (radix, b[j]) {
                (16, c) => hex_val(c).map(u32::from),
                (_, c @ b'0'..=b'9') => Some(u32::from(c - b'0')),
                _ => None,
            };
            let Some(d) = d else { break };
            n = n.saturating_mul(radix).saturating_add(d);
            j += 1;
        }
        if j == start {
            return None;
        }
        if b.get(j) == Some(&b';') {
            j += 1;
        }
        return Some((char::from_u32(n).unwrap_or('\u{FFFD}'), j));
    }
    const NAMED: &[(&str, char)] = &[
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
        ("apos", '\''),
        ("amp", '&'),
        ("colon", ':'),
        ("lpar", '('),
        ("rpar", ')'),
        ("sol", '/'),
        ("bsol", '\\'),
        ("tab", '\t'),
        ("newline", '\n'),
        ("semi", ';'),
        ("equals", '='),
        ("grave", '`'),
        ("nbsp", ' '),
    ];
    for (name, ch) in NAMED {
        let n = name.len();
        if b.len() >= n && b[..n].eq_ignore_ascii_case(name.as_bytes()) {
            let mut len = n;
            if b.get(n) == Some(&b';') {
                len += 1;
            } else if b.get(n).is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            return Some((*ch, len));
        }
    }
    None
}

/// Whether `s` is plausibly a base64 (or base64url) encoding of something: long enough,
/// only base64 characters, correct padding, and not all letters / all digits (words, numbers).
pub fn looks_base64(s: &str) -> bool {
    let s = s.trim();
    if s.len() < 16 {
        return false;
    }
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for &c in body.as_bytes() {
        match c {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            b'+' | b'/' | b'-' | b'_' => other = true,
            _ => return false,
        }
    }
    let classes = [lower, upper, digit, other].iter().filter(|x| **x).count();
    classes >= 2 && lower && upper
}

/// Decode standard or URL-safe base64, padded or not; `None` when it is not base64.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    const CFG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CFG);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CFG);
    let t = s.trim();
    if t.contains(['\n', '\r', ' ']) {
        // MIME-wrapped base64: strip line breaks first.
        let joined: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        return STD
            .decode(&joined)
            .ok()
            .or_else(|| URL.decode(&joined).ok());
    }
    STD.decode(t).ok().or_else(|| URL.decode(t).ok())
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// `name` from `Content-Disposition` (empty when absent).
    pub name: String,
    /// `filename` from `Content-Disposition`, when present.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, lower-cased.
    pub content_type: Option<String>,
    /// The part's content.
    pub data: &'a [u8],
}

/// The `boundary` parameter of a multipart content type.
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    let lower = content_type.to_ascii_lowercase();
    let at = lower.find("boundary=")? + "boundary=".len();
    let b = content_type[at..]
        .split(';')
        .next()?
        .trim()
        .trim_matches('"');
    (!b.is_empty()).then(|| b.to_string())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Split a multipart body into parts. `boundary` comes from the content type; when it is
/// missing (or wrong) and the body opens with a `--boundary` line, that line is used, as
/// lenient servers do.
pub fn multipart_parts<'a>(body: &'a [u8], boundary: Option<&str>) -> Vec<Part<'a>> {
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let delim: Vec<u8> = match boundary {
        Some(b) if find(body, format!("--{b}").as_bytes(), 0).is_some() => {
            format!("--{b}").into_bytes()
        }
        _ if first_line.starts_with(b"--") && first_line.len() > 2 => first_line.to_vec(),
        _ => return Vec::new(),
    };
    let mut parts = Vec::new();
    let Some(mut at) = find(body, &delim, 0) else {
        return parts;
    };
    // Bounded: every iteration moves `at` forward past one delimiter.
    while parts.len() < 1000 {
        let start = at + delim.len();
        if body[start..].starts_with(b"--") {
            break;
        }
        let next = find(body, &delim, start).unwrap_or(body.len());
        let mut chunk = &body[start..next];
        chunk = chunk
            .strip_prefix(b"\r\n")
            .or_else(|| chunk.strip_prefix(b"\n"))
            .unwrap_or(chunk);
        chunk = chunk
            .strip_suffix(b"\r\n")
            .or_else(|| chunk.strip_suffix(b"\n"))
            .unwrap_or(chunk);
        let (head, data) = match find(chunk, b"\r\n\r\n", 0) {
            Some(p) => (&chunk[..p], &chunk[p + 4..]),
            None => match find(chunk, b"\n\n", 0) {
                Some(p) => (&chunk[..p], &chunk[p + 2..]),
                None => (&chunk[..0], chunk),
            },
        };
        let head = String::from_utf8_lossy(head);
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data,
        };
        for line in head.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                part.name = disposition_param(v, "name").unwrap_or_default();
                part.filename = disposition_param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.trim().to_ascii_lowercase());
            }
        }
        parts.push(part);
        if next >= body.len() {
            break;
        }
        at = next;
    }
    parts
}

fn disposition_param(v: &str, key: &str) -> Option<String> {
    for p in v.split(';').skip(1) {
        let (k, val) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(key) {
            return Some(val.trim().trim_matches('"').to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape() {
        assert_eq!(pointer_join("/headers", "a/b~c"), "/headers/a~1b~0c");
    }

    #[test]
    fn percent_and_form() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a%20b+c", false), "a b+c");
        assert_eq!(percent_decode("%u003cscript", false), "<script");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(
            form_pairs("a=1&b=x%27+y&c"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x' y".into()),
                ("c".into(), "".into())
            ]
        );
    }

    #[test]
    fn entities_and_escapes() {
        assert_eq!(html_entities("&lt;a&#x3E;&#0000060;&colon;&amp"), "<a><:&");
        assert_eq!(html_entities("AT&T &copy"), "AT&T &copy");
        assert_eq!(unescape_js("\\u003cimg\\x3e"), "<img>");
    }

    #[test]
    fn base64_detection() {
        assert!(looks_base64("WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9"));
        assert!(!looks_base64("administrator"));
        assert!(!looks_base64("12345678901234567890"));
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ").unwrap(), b"hello world");
    }

    #[test]
    fn multipart() {
        let body = b"--xx\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--xx\r\nContent-Disposition: form-data; name=\"f\"; filename=\"t.txt\"\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--xx--\r\n";
        let ct = "multipart/form-data; boundary=xx";
        let parts = multipart_parts(body, multipart_boundary(ct).as_deref());
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "a");
        assert_eq!(parts[0].data, b"one");
        assert_eq!(parts[1].filename.as_deref(), Some("t.txt"));
        assert_eq!(parts[1].data, b"two");
        // Wrong boundary in the header: fall back to the body's first line.
        assert_eq!(multipart_parts(body, Some("nope")).len(), 2);
    }
}
