//! Text normalisation (the decoded variants a detector sees) and small matching helpers.

use gavel_policy_sdk::decode::{
    base64_decode, html_entities, looks_base64, percent_decode, unescape_js,
};

/// The decoded forms of a value worth scanning: as received, URL-decoded until stable (double
/// encoding), HTML-entity and `\uXXXX` decoded, and base64-decoded when the whole value is
/// clearly base64 of text. Duplicates are dropped.
pub fn variants(text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![text.to_string()];
    let mut cur = text.to_string();
    for _ in 0..3 {
        if !cur.contains('%') {
            break;
        }
        let next = percent_decode(&cur, false);
        if next == cur {
            break;
        }
        cur = next;
        push_unique(&mut out, cur.clone());
    }
    let last = out.last().cloned().unwrap_or_default();
    let mut dec = unescape_js(&html_entities(&last));
    if dec.contains('%') || dec.contains('&') {
        // Entities hiding percent escapes and the reverse (`%26lt%3B`).
        dec = unescape_js(&html_entities(&percent_decode(&dec, false)));
    }
    push_unique(&mut out, dec);
    let t = text.trim();
    if looks_base64(t)
        && let Some(bytes) = base64_decode(t)
        && let Ok(s) = String::from_utf8(bytes)
        && s.chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
    {
        push_unique(&mut out, s);
    }
    out
}

fn push_unique(out: &mut Vec<String>, s: String) {
    if !out.contains(&s) {
        out.push(s);
    }
}

/// Identifier characters for word boundaries.
pub fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Find `word` (lower-case ASCII) in `hay` (already lower-cased) with non-identifier
/// characters (or the ends) on both sides. Returns the byte offset.
pub fn find_word(hay: &str, word: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let mut from = 0;
    while let Some(p) = hay[from..].find(word) {
        let at = from + p;
        let end = at + word.len();
        let left_ok = at == 0 || !is_ident(h[at - 1]);
        let right_ok = end >= h.len() || !is_ident(h[end]);
        if left_ok && right_ok {
            return Some(at);
        }
        from = at + 1;
        while from < hay.len() && !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

/// First of `needles` found as a plain substring of `hay`: (offset, needle).
pub fn find_any<'a>(hay: &str, needles: &[&'a str]) -> Option<(usize, &'a str)> {
    needles
        .iter()
        .filter_map(|n| hay.find(n).map(|p| (p, *n)))
        .min_by_key(|(p, _)| *p)
}

/// First of `words` found as a whole word in `hay`.
pub fn find_any_word<'a>(hay: &str, words: &[&'a str]) -> Option<(usize, &'a str)> {
    words
        .iter()
        .filter_map(|w| find_word(hay, w).map(|p| (p, *w)))
        .min_by_key(|(p, _)| *p)
}

/// Remove SQL/C comments `/* ... */` and fold runs of whitespace into one space, so that
/// `UN/**/ION` and `sel\tect` read as the words they are.
pub fn fold(lower: &str) -> String {
    let b = lower.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') {
            match lower[i + 2..].find("*/") {
                Some(e) => i = i + 2 + e + 2,
                None => i = b.len(),
            }
            continue;
        }
        if b[i].is_ascii_whitespace() {
            if out.last() != Some(&b' ') {
                out.push(b' ');
            }
            i += 1;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Like [`fold`] but comments vanish without a trace (`un/**/ion` → `union`), the way MySQL
/// reads inline comments inside keywords in some attacks.
pub fn strip_comments(lower: &str) -> String {
    if !lower.contains("/*") {
        return lower.to_string();
    }
    let mut out = String::with_capacity(lower.len());
    let mut rest = lower;
    while let Some(p) = rest.find("/*") {
        out.push_str(&rest[..p]);
        match rest[p + 2..].find("*/") {
            Some(e) => rest = &rest[p + 2 + e + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_decode() {
        let v = variants("%253Cscript%253E");
        assert!(v.iter().any(|s| s == "<script>"));
        let v = variants("&lt;img src=x onerror=alert(1)&gt;");
        assert!(v.iter().any(|s| s.starts_with("<img")));
    }

    #[test]
    fn words() {
        assert_eq!(find_word("a union select", "union"), Some(2));
        assert_eq!(find_word("reunion", "union"), None);
        assert_eq!(fold("un/**/ion  \t x"), "union x");
        assert_eq!(strip_comments("un/**/ion"), "union");
    }
}
