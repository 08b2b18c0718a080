//! Text normalisation (the decoded variants a detector sees) and small matching helpers.

use crate::grams::PAIR_WORDS;
use gavel_policy_sdk::decode::{
    base64_decode, html_entities, looks_base64, percent_decode, unescape_js,
};

/// The decoded forms of a value worth scanning: as received, URL-decoded until stable (double
/// encoding), HTML-entity and `\uXXXX` decoded, and base64-decoded when the whole value is
/// clearly base64 of text, and with `+` read as a space when the value looks form-encoded.
/// Duplicates are dropped.
pub fn variants(text: &str) -> Vec<String> {
    let mut out = variants_no_plus(text);
    push_plus(&mut out, text);
    out
}

/// [`variants`] without reading `+` as a space: for the request path, where a `+` is a `+`.
pub fn variants_no_plus(text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![text.to_string()];
    if !crate::grams::has_any_byte(text, b"%&\\") {
        // Nothing to URL-, entity- or escape-decode: only base64 can add a variant.
        push_base64(&mut out, text);
        return out;
    }
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
    // Base64 under the escapes (`\u0063\u006dVx…` is `cmVx…`).
    if dec != text {
        push_base64(&mut out, &dec);
    }
    push_unique(&mut out, dec);
    push_base64(&mut out, text);
    out
}

/// Form-encoded text that reached us undecoded (a path, a header, an XML attribute):
/// `1+union+select` with `+` read as the space it encodes. Only for text with no space of its
/// own and not base64 (whose alphabet has `+`).
fn push_plus(out: &mut Vec<String>, text: &str) {
    let b = text.as_bytes();
    if !b.contains(&b'+')
        || b.contains(&b' ')
        || b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_'))
        || !b
            .windows(3)
            .any(|w| w[1] == b'+' && w[0].is_ascii_alphanumeric() && w[2].is_ascii_alphanumeric())
    {
        return;
    }
    push_unique(out, percent_decode(text, true));
}

/// Add the base64 decoding of `text` when the whole value is clearly base64 of text.
fn push_base64(out: &mut Vec<String>, text: &str) {
    let t = text.trim();
    if looks_base64(t)
        && let Some(bytes) = base64_decode(t)
        && let Ok(s) = String::from_utf8(bytes)
        && s.chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
    {
        // Escapes under the base64 (`_$$\u004e\u0044_FUNC$$_`).
        if s.contains('\\') {
            let u = unescape_js(&s);
            if u != s {
                push_unique(out, u);
            }
        }
        push_unique(out, s);
    }
}

fn push_unique(out: &mut Vec<String>, s: String) {
    if !out.contains(&s) {
        out.push(s);
    }
}

const fn hash(b: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h as usize
}

/// A word list as a hash set built at compile time (no per-call setup): `contains` costs one
/// hash and a comparison or two instead of a walk over the list.
pub struct WordSet<const N: usize> {
    slots: [u16; N],
    words: &'static [&'static str],
}

impl<const N: usize> WordSet<N> {
    /// Build from `words`; `N` must be a power of two at least twice the list's length.
    pub const fn new(words: &'static [&'static str]) -> Self {
        assert!(N.is_power_of_two() && words.len() * 2 <= N && N <= u16::MAX as usize);
        let mut slots = [0u16; N];
        let mut i = 0;
        while i < words.len() {
            let mut k = hash(words[i].as_bytes()) & (N - 1);
            while slots[k] != 0 {
                k = (k + 1) & (N - 1);
            }
            slots[k] = (i + 1) as u16;
            i += 1;
        }
        WordSet { slots, words }
    }

    /// Whether `w` is in the list.
    #[inline]
    pub fn contains(&self, w: &str) -> bool {
        let mut k = hash(w.as_bytes()) & (N - 1);
        loop {
            let s = self.slots[k];
            if s == 0 {
                return false;
            }
            if self.words[usize::from(s) - 1] == w {
                return true;
            }
            k = (k + 1) & (N - 1);
        }
    }
}

/// Substring search tuned for the short values most inputs are: `str::find` builds a
/// two-way searcher per call, which costs more than the search itself on a few dozen bytes.
/// Longer haystacks use `str::find` (linear worst case); results are identical.
pub trait FastFind {
    /// Like `str::find` with a `&str` pattern.
    fn ffind(&self, needle: &str) -> Option<usize>;
    /// Like `str::contains` with a `&str` pattern.
    fn fcontains(&self, needle: &str) -> bool {
        self.ffind(needle).is_some()
    }
    /// Like `str::find` with an ASCII `char` pattern.
    fn ffind_byte(&self, byte: u8) -> Option<usize>;
}

impl FastFind for str {
    #[inline]
    fn ffind(&self, needle: &str) -> Option<usize> {
        if crate::grams::none_in(self, [needle]) {
            return None;
        }
        let (h, n) = (self.as_bytes(), needle.as_bytes());
        let Some((&first, rest)) = n.split_first() else {
            return Some(0);
        };
        if h.len() > 512 {
            return self.find(needle);
        }
        if h.len() < n.len() {
            return None;
        }
        // Candidates are the needle's first byte: memchr finds them faster than a byte loop.
        let last = h.len() - n.len();
        let mut from = 0;
        while let Some(k) = memchr::memchr(first, &h[from..=last]) {
            let i = from + k;
            if h[i + 1..i + n.len()] == *rest {
                return Some(i);
            }
            from = i + 1;
            if from > last {
                break;
            }
        }
        None
    }

    #[inline]
    fn ffind_byte(&self, byte: u8) -> Option<usize> {
        debug_assert!(byte.is_ascii());
        if crate::grams::none_in(self, [char::from(byte).encode_utf8(&mut [0; 4]) as &str]) {
            return None;
        }
        memchr::memchr(byte, self.as_bytes())
    }
}

/// `s` without the chars `drop` selects: what `s.chars().filter(|c| !drop(*c)).collect()`
/// gives, copied in runs instead of char by char (several detectors squeeze whole bodies).
pub fn remove_chars(s: &str, drop: impl Fn(char) -> bool) -> String {
    if s.len() < 256 {
        return s.chars().filter(|c| !drop(*c)).collect();
    }
    // On long text ASCII is looked up in a table: asking `drop` at every byte costs more than
    // the copy.
    let mut ascii = [false; 128];
    for (c, d) in ascii.iter_mut().enumerate() {
        *d = drop(char::from(c as u8));
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut kept_from, mut i) = (0, 0);
    while i < b.len() {
        let (gone, len) = match ascii.get(usize::from(b[i])) {
            Some(&d) => (d, 1),
            None => {
                let c = s[i..].chars().next().unwrap_or_default();
                (drop(c), c.len_utf8())
            }
        };
        if gone {
            out.push_str(&s[kept_from..i]);
            kept_from = i + len;
        }
        i += len;
    }
    out.push_str(&s[kept_from..]);
    out
}

/// Identifier characters for word boundaries.
#[inline(always)]
pub fn is_ident(b: u8) -> bool {
    IDENT[usize::from(b)]
}

/// [`is_ident`] as a table: word searches test it at every byte of long values.
static IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// Find `word` (lower-case ASCII) in `hay` (already lower-cased) with non-identifier
/// characters (or the ends) on both sides. Returns the byte offset.
pub fn find_word(hay: &str, word: &str) -> Option<usize> {
    if crate::grams::none_in(hay, [word]) {
        return None;
    }
    if let Some((&first, _)) = word.as_bytes().split_first() {
        let (h, w) = (hay.as_bytes(), word.as_bytes());
        return (0..h.len()).find(|&i| {
            h[i] == first
                && (i == 0 || !is_ident(h[i - 1]))
                && starts_with(&h[i..], w)
                && h.get(i + w.len()).is_none_or(|&c| !is_ident(c))
        });
    }
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

/// A filter on where `needles` can start: a bit per (hashed) pair of leading bytes, and a
/// table of the lone bytes that are needles by themselves. `None` when a needle is empty.
#[derive(Clone, Copy)]
struct Starts {
    /// The first byte of every needle: the cheap test made at every position.
    first: [u64; 4],
    pairs: [u64; PAIR_WORDS],
    single: [u64; 4],
}

/// Needle lists are mostly constants searched once per value: memoise their filters by the
/// list's address (a small direct-mapped cache; a miss just rebuilds).
struct StartsCache {
    keys: [(usize, usize); 256],
    vals: [Starts; 256],
}

thread_local! {
    static STARTS: std::cell::RefCell<StartsCache> = const {
        std::cell::RefCell::new(StartsCache {
            keys: [(0, 0); 256],
            vals: [Starts { first: [0; 4], pairs: [0; PAIR_WORDS], single: [0; 4] }; 256],
        })
    };
}

/// Run `f` with the filter for `needles` (`None` when a needle is empty). Only for `'static`
/// lists: a cached address is never reused for other contents.
fn with_starts<R>(needles: &'static [&'static str], f: impl FnOnce(Option<&Starts>) -> R) -> R {
    let key = (needles.as_ptr() as usize, needles.len());
    let slot = (key.0.wrapping_mul(0x9E37_79B9) >> 8 ^ key.1) & 255;
    STARTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.keys[slot] != key {
            let Some(st) = Starts::new(needles) else {
                return f(None);
            };
            c.keys[slot] = key;
            c.vals[slot] = st;
        }
        f(Some(&c.vals[slot]))
    })
}

impl Starts {
    fn new(needles: &[&str]) -> Option<Starts> {
        let mut s = Starts {
            first: [0; 4],
            pairs: [0; PAIR_WORDS],
            single: [0; 4],
        };
        for n in needles {
            if let Some(&a) = n.as_bytes().first() {
                s.first[usize::from(a >> 6)] |= 1 << (a & 63);
            }
            match *n.as_bytes() {
                [] => return None,
                [a] => s.single[usize::from(a >> 6)] |= 1 << (a & 63),
                [a, b, ..] => {
                    let k = Self::key(a, b);
                    s.pairs[k >> 6] |= 1 << (k & 63);
                }
            }
        }
        Some(s)
    }

    #[inline]
    fn key(a: u8, b: u8) -> usize {
        crate::grams::pair_key(a, b)
    }

    /// False when no needle can start anywhere in `hay`: its light filter (a short value of
    /// a [`crate::grams::with_index`] scope) has none of their first pairs or single bytes.
    fn may_occur_in(&self, hay: &str) -> bool {
        crate::grams::with_pairs(hay, |p| {
            self.pairs
                .iter()
                .zip(p.pair_words())
                .any(|(a, b)| a & b != 0)
                || self
                    .single
                    .iter()
                    .zip(p.byte_words())
                    .any(|(a, b)| a & b != 0)
        }) != Some(false)
    }

    /// Whether some needle starts with byte `a`.
    #[inline(always)]
    fn may_start_with(&self, a: u8) -> bool {
        self.first[usize::from(a >> 6)] >> (a & 63) & 1 != 0
    }

    /// Whether a needle may start with byte `a` followed by `b` (`0` at the end of the
    /// text; a false positive only costs a comparison).
    #[inline(always)]
    fn may_start(&self, a: u8, b: u8) -> bool {
        let k = Self::key(a, b);
        (self.single[usize::from(a >> 6)] >> (a & 63) | self.pairs[k >> 6] >> (k & 63)) & 1 != 0
    }
}

/// Whether non-empty needle `n` begins with `a` then `b` (when it has a second byte).
#[inline(always)]
fn head_matches(n: &[u8], a: u8, b: u8) -> bool {
    n[0] == a && n.get(1).is_none_or(|&c| c == b)
}

#[inline]
fn starts_with(rest: &[u8], n: &[u8]) -> bool {
    rest.len() >= n.len() && rest.iter().zip(n).all(|(a, b)| a == b)
}

/// First of `needles` found as a plain substring of `hay`: (offset, needle). At equal offsets
/// the needle listed first wins. One pass over `hay`, checking needles only where a needle's
/// first two bytes (probably) occur.
pub fn find_any(hay: &str, needles: &'static [&'static str]) -> Option<(usize, &'static str)> {
    // Short values are ruled out through the list's filter below, in one step per list.
    if hay.len() >= crate::grams::MIN_LEN && crate::grams::none_in(hay, needles.iter().copied()) {
        return None;
    }
    with_starts(needles, |st| {
        let Some(st) = st else {
            return needles
                .iter()
                .filter_map(|n| hay.find(n).map(|p| (p, *n)))
                .min_by_key(|(p, _)| *p);
        };
        if !st.may_occur_in(hay) {
            return None;
        }
        let h = hay.as_bytes();
        let len = h.len();
        for i in 0..len {
            if !st.may_start_with(h[i]) {
                continue;
            }
            let next = if i + 1 < len { h[i + 1] } else { 0 };
            if !st.may_start(h[i], next) {
                continue;
            }
            let rest = &h[i..];
            if let Some(n) = needles
                .iter()
                .find(|n| head_matches(n.as_bytes(), h[i], next) && starts_with(rest, n.as_bytes()))
            {
                return Some((i, *n));
            }
        }
        None
    })
}

/// First of `words` found as a whole word in `hay` (see [`find_word`]); at equal offsets the
/// word listed first wins.
pub fn find_any_word(hay: &str, words: &'static [&'static str]) -> Option<(usize, &'static str)> {
    if hay.len() >= crate::grams::MIN_LEN && crate::grams::none_in(hay, words.iter().copied()) {
        return None;
    }
    with_starts(words, |st| {
        if st.is_some_and(|st| !st.may_occur_in(hay)) {
            return None;
        }
        find_words(hay, words, st)
    })
}

fn find_words<'a>(hay: &str, words: &[&'a str], st: Option<&Starts>) -> Option<(usize, &'a str)> {
    let Some(st) = st else {
        return words
            .iter()
            .filter_map(|w| find_word(hay, w).map(|p| (p, *w)))
            .min_by_key(|(p, _)| *p);
    };
    let h = hay.as_bytes();
    for i in 0..h.len() {
        // Inside a word is the common case on text: test it first.
        if i > 0 && is_ident(h[i - 1]) || !st.may_start_with(h[i]) {
            continue;
        }
        let next = if i + 1 < h.len() { h[i + 1] } else { 0 };
        if !st.may_start(h[i], next) {
            continue;
        }
        let rest = &h[i..];
        if let Some(w) = words.iter().find(|w| {
            head_matches(w.as_bytes(), h[i], next)
                && starts_with(rest, w.as_bytes())
                && rest.get(w.len()).is_none_or(|&c| !is_ident(c))
        }) {
            return Some((i, *w));
        }
    }
    None
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
    // Only ASCII was removed or replaced, so `out` is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Like [`fold`] but comments vanish without a trace (`un/**/ion` → `union`), the way MySQL
/// reads inline comments inside keywords in some attacks.
pub fn strip_comments(lower: &str) -> String {
    if !lower.fcontains("/*") {
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
    fn ffind_byte_is_find_with_or_without_an_index() {
        let long = "lorem ipsum <b> dolor! sit amet ".repeat(60);
        for text in [long.as_str(), "a <short> value!", ""] {
            crate::grams::with_index(&[text], || {
                for b in [b'<', b'!', b'`', b'/', b'x'] {
                    for from in [0, text.len() / 2] {
                        let hay = &text[from..];
                        assert_eq!(
                            hay.ffind_byte(b),
                            hay.find(char::from(b)),
                            "{b} from {from}"
                        );
                    }
                }
            });
        }
    }

    #[test]
    fn remove_chars_is_filter_and_collect() {
        // Short and long (table-driven) text alike.
        let long = "é\u{a0}ü\u{2028}x\\y\u{85} a b\tc\u{1}".repeat(40);
        for s in [
            "",
            "a b\tc",
            " lead and trail ",
            "é\u{a0}ü\u{2028}x\\y\u{85}",
            "\u{1}ctl",
            long.as_str(),
        ] {
            let f = |c: char| c.is_whitespace() || c.is_control() || c == '\\';
            let expected: String = s.chars().filter(|c| !f(*c)).collect();
            assert_eq!(remove_chars(s, f), expected, "{s:?}");
        }
    }

    #[test]
    fn variants_decode() {
        let v = variants("%253Cscript%253E");
        assert!(v.iter().any(|s| s == "<script>"));
        let v = variants("&lt;img src=x onerror=alert(1)&gt;");
        assert!(v.iter().any(|s| s.starts_with("<img")));
        // Escapes over base64, and base64 over escapes.
        let v = variants("\\u0063\\u006dVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWMoJ3dob2FtaScpCg==");
        assert!(
            v.iter()
                .any(|s| s.starts_with("require(\"child_process\")")),
            "{v:?}"
        );
        let v = variants("XHUwMDc3XHUwMDY4aWxlKHRydWUpOwo=");
        assert!(v.iter().any(|s| s.starts_with("while(true);")), "{v:?}");
        // `+` as an encoded space, but not inside base64 or spaced text.
        assert!(
            variants("1+union+select+1,2")
                .iter()
                .any(|s| s == "1 union select 1,2")
        );
        assert!(
            variants("%22+WAITFOR+DELAY+%27")
                .iter()
                .any(|s| s == "\" WAITFOR DELAY '")
        );
        assert!(!variants("aGVsbG8+d29ybGQ=").iter().any(|s| s.contains(' ')));
        assert_eq!(variants("a+b is c+d").len(), 1);
        // Plain words stay one variant.
        assert_eq!(variants("hello world").len(), 1);
    }

    #[test]
    fn fast_search_matches_std() {
        static NEEDLES: &[&str] = &["ab", "b", "abc", "union", "x"];
        let naive_any = |h: &str| {
            NEEDLES
                .iter()
                .filter_map(|n| h.find(n).map(|p| (p, *n)))
                .min_by_key(|(p, _)| *p)
        };
        let naive_word = |h: &str, w: &str| {
            let b = h.as_bytes();
            (0..=h.len().saturating_sub(w.len())).find(|&i| {
                b[i..].starts_with(w.as_bytes())
                    && (i == 0 || !is_ident(b[i - 1]))
                    && b.get(i + w.len()).is_none_or(|&c| !is_ident(c))
            })
        };
        for h in [
            "",
            "a",
            "ab",
            "zabc",
            "cab b",
            "reunion union",
            "xx",
            "é union",
            "abab",
            "a b c",
        ] {
            assert_eq!(find_any(h, NEEDLES), naive_any(h), "{h}");
            for w in ["union", "b", "ab", "x"] {
                assert_eq!(find_word(h, w), naive_word(h, w), "{h} {w}");
                assert_eq!(h.ffind(w), h.find(w), "{h} {w}");
            }
        }
        let long = "q".repeat(600) + "union";
        assert_eq!(long.ffind("union"), Some(600));
        static SET: WordSet<16> = WordSet::new(&["id", "ls", "cat"]);
        assert!(SET.contains("cat") && SET.contains("id") && !SET.contains("dog"));
    }

    #[test]
    fn words() {
        assert_eq!(find_word("a union select", "union"), Some(2));
        assert_eq!(find_word("reunion", "union"), None);
        assert_eq!(fold("un/**/ion  \t x"), "union x");
        assert_eq!(strip_comments("un/**/ion"), "union");
    }
}
