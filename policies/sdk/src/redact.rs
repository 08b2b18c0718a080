//! Evidence must never carry a secret in the clear, and never a whole payload.

/// Longest evidence snippet, in characters.
pub const MAX_EVIDENCE: usize = 120;

/// Keep `keep` leading characters of a secret and mask the rest: `AKIA****************`.
pub fn secret(value: &str, keep: usize) -> String {
    let mut out: String = value.chars().take(keep).collect();
    let hidden = value.chars().count().saturating_sub(keep).min(MAX_EVIDENCE);
    out.extend(std::iter::repeat_n('*', hidden.max(4)));
    out
}

/// A snippet of attacker-controlled text around `[start, end)` (byte offsets), cut to
/// [`MAX_EVIDENCE`] characters, control characters escaped.
pub fn snippet(text: &str, start: usize, end: usize) -> String {
    let start = floor_char(text, start.min(text.len()));
    let end = floor_char(text, end.min(text.len()).max(start));
    let from = floor_char(text, start.saturating_sub(20));
    let mut out = String::new();
    for c in text[from..].chars() {
        if out.chars().count() >= MAX_EVIDENCE {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    let _ = end;
    out
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keeps_prefix_only() {
        let r = secret("AKIAABCDEFGHIJKLMNOP", 4);
        assert!(r.starts_with("AKIA"));
        assert!(!r.contains("ABCD"));
    }

    #[test]
    fn snippet_is_bounded_and_escaped() {
        let long = format!("{}\n{}", "a".repeat(10), "b".repeat(500));
        let s = snippet(&long, 11, 12);
        assert!(s.chars().count() <= MAX_EVIDENCE + 1);
        assert!(s.contains("\\n"));
    }
}
