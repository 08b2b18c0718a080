//! Finds response data leakage and stack traces: one case-insensitive automaton over the
//! literals of [`crate::patterns`], each hit confirmed by its [`Check`].
//!
//! The automaton costs tens of instructions per byte, so it only runs around the places where
//! a literal occurs that its check could confirm ([`Anchors`]), found by a table scan.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use gavel_policy_sdk::redact;

use crate::Hit;
use crate::patterns::{Check, PATTERNS, rule_info};

/// The automaton over every literal and the anchors that say where it can match.
pub struct Scanner {
    ac: AhoCorasick,
    anchors: Anchors,
}

/// The scanner, built on first use. In the shipped component that use is the build-time
/// pre-initialisation ([`crate::SecretsLeak`]'s `warm`), so per-invocation instances find it
/// built in their memory snapshot instead of spending ~2 ms building it.
pub fn automaton() -> Option<&'static Scanner> {
    static SCANNER: OnceLock<Option<Scanner>> = OnceLock::new();
    SCANNER
        .get_or_init(|| {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(PATTERNS.iter().map(|p| p.0))
                .ok()?;
            Some(Scanner {
                ac,
                anchors: Anchors::new(),
            })
        })
        .as_ref()
}

/// Scan `text`; at most one hit per rule (the first), which is all a verdict needs.
pub fn scan(sc: &Scanner, text: &str, enabled: &dyn Fn(&str) -> bool, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut seen: Vec<&'static str> = Vec::new();
    // Windows are disjoint and in order, and each holds every occurrence whose anchor it was
    // opened for: the automaton reports the same matches in the same order as on all of `b`.
    let mut window: Option<(usize, usize)> = None;
    for p in sc.anchors.find_all(b) {
        let from = p.saturating_sub(sc.anchors.before);
        let to = (p + sc.anchors.after).min(b.len());
        window = match window {
            Some((start, end)) if from <= end => Some((start, to.max(end))),
            _ => {
                if let Some(w) = window {
                    scan_window(sc, text, w, &mut seen, enabled, hits);
                }
                Some((from, to))
            }
        };
    }
    if let Some(w) = window {
        scan_window(sc, text, w, &mut seen, enabled, hits);
    }
}

/// Runs the automaton over `text[start..end]`, confirming its matches against all of `text`.
fn scan_window(
    sc: &Scanner,
    text: &str,
    (start, end): (usize, usize),
    seen: &mut Vec<&'static str>,
    enabled: &dyn Fn(&str) -> bool,
    hits: &mut Vec<Hit>,
) {
    let b = text.as_bytes();
    for m in sc.ac.find_overlapping_iter(&b[start..end]) {
        let (s, e) = (start + m.start(), start + m.end());
        let (lit, rule, check) = PATTERNS[m.pattern().as_usize()];
        if seen.contains(&rule) || !enabled(rule) {
            continue;
        }
        if !confirm(b, s, e, lit, check) {
            continue;
        }
        seen.push(rule);
        let info = rule_info(rule);
        hits.push(crate::Hit {
            rule: info.id,
            severity: info.severity,
            decision: info.decision,
            message: info.message.into(),
            offset: s,
            evidence: redact::snippet(text, s, e),
        });
    }
}

/// Text that every confirmable occurrence of a literal is part of.
struct Requirement {
    text: &'static [u8],
    /// Where the literal starts in `text`.
    literal_at: usize,
    /// Whether the case must match (the automaton ignores case, some checks do not).
    exact: bool,
    /// Offset in `text` of its rarest byte pair, which the scan looks for.
    anchor: usize,
}

impl Requirement {
    /// The alternatives for one pattern: one of them is around each confirmable occurrence.
    fn of(lit: &'static str, check: Check) -> Vec<Self> {
        let lit = lit.as_bytes();
        match check {
            Check::Name
            | Check::RubyName
            | Check::Namespace
            | Check::QualifiedClass
            | Check::OracleCode => vec![Self::new(lit, 0, true)],
            Check::MysqlCode => vec![Self::new(b"ERROR ", 0, true)],
            // The slash is rarer than any pair of `inetpub` (`pub`lic, `pub` fn).
            Check::Inetpub => vec![
                Self::new(b"\\inetpub", 1, false),
                Self::new(b"/inetpub", 1, false),
            ],
            _ => vec![Self::new(lit, 0, false)],
        }
    }

    fn new(text: &'static [u8], literal_at: usize, exact: bool) -> Self {
        let cost = |c: u8| {
            if exact {
                commonness(c)
            } else {
                commonness(c.to_ascii_lowercase()) + commonness(c.to_ascii_uppercase())
            }
        };
        let anchor = (0..text.len() - 1)
            .min_by_key(|&k| (cost(text[k]), cost(text[k + 1])))
            .unwrap_or(0);
        Self {
            text,
            literal_at,
            exact,
            anchor,
        }
    }

    /// Whether `text` occurs with its anchor at `p`.
    fn at(&self, b: &[u8], p: usize) -> bool {
        p.checked_sub(self.anchor)
            .and_then(|s| b.get(s..s + self.text.len()))
            .is_some_and(|w| {
                // Byte by byte: most candidates differ in their first byte.
                let same = |(x, y): (&u8, &u8)| x == y || !self.exact && x.eq_ignore_ascii_case(y);
                w.iter().zip(self.text).all(same)
            })
    }

    /// The anchor pair as text may spell it: both cases of letters unless `exact`.
    fn pairs(&self) -> Vec<u16> {
        let cases = |c: u8| {
            if self.exact {
                vec![c]
            } else {
                vec![c.to_ascii_lowercase(), c.to_ascii_uppercase()]
            }
        };
        let (x, y) = (self.text[self.anchor], self.text[self.anchor + 1]);
        let mut out: Vec<u16> = cases(x)
            .into_iter()
            .flat_map(|x| cases(y).into_iter().map(move |y| pair(x, y)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// How common a byte is in text, roughly per 10 000 bytes of English prose and JSON.
fn commonness(c: u8) -> u32 {
    // a to z, English letter frequencies.
    const LETTERS: [u32; 26] = [
        817, 149, 278, 425, 1270, 223, 202, 609, 697, 15, 77, 403, 241, 675, 751, 193, 10, 599,
        633, 906, 276, 98, 236, 15, 197, 7,
    ];
    match c {
        b'a'..=b'z' => LETTERS[(c - b'a') as usize],
        b'A'..=b'Z' => LETTERS[(c - b'A') as usize] / 10 + 1,
        b' ' | b'\n' => 1500,
        b'.' | b',' | b'"' => 100,
        b'0'..=b'9' | b':' | b'-' | b'/' | b'\'' => 50,
        _ => 10,
    }
}

/// Bytes `x, y` as one number, little-endian as the scan shifts it out of loaded words.
fn pair(x: u8, y: u8) -> u16 {
    u16::from_le_bytes([x, y])
}

/// The four case-folded bytes from `p` (0 past the end), hashed to 16 bits.
fn quad_hash(b: &[u8], p: usize) -> u16 {
    let mut w = [0u8; 4];
    for (d, c) in w.iter_mut().zip(b.get(p..).unwrap_or_default()) {
        *d = c.to_ascii_lowercase();
    }
    (u32::from_le_bytes(w).wrapping_mul(0x9E37_79B1) >> 16) as u16
}

/// A set of `u16`.
struct BitSet(Vec<u64>);

impl BitSet {
    fn new() -> Self {
        Self(vec![0; (1 << 16) / 64])
    }

    fn insert(&mut self, x: u16) {
        self.0[usize::from(x >> 6)] |= 1 << (x & 63);
    }

    fn contains(&self, x: u16) -> bool {
        self.0[usize::from(x >> 6)] & 1 << (x & 63) != 0
    }
}

/// Finds where literals can be: each confirmable occurrence is part of a [`Requirement`].
/// Filters, each rarer to pass than the last, look for a requirement's anchor at a byte: its
/// pair, the hash of its four case-folded bytes; then the requirement is compared whole.
struct Anchors {
    requirements: Vec<Requirement>,
    /// `pairs[pair]`: whether `pair` is an anchor pair as text may spell it. Bytes, not
    /// bits: the scan loop tests each pair with one load.
    pairs: Box<[bool; 1 << 16]>,
    /// [`quad_hash`]es of the four bytes from each anchor; for an anchor three bytes before the
    /// end of its requirement, with every fourth byte.
    quads: BitSet,
    /// Anchor pairs that end their requirement (which has no more bytes to hash).
    final_pairs: BitSet,
    /// `(anchor pair, requirement index)`, sorted.
    index: Vec<(u16, usize)>,
    /// How far before / after an anchor a literal it anchors can reach.
    before: usize,
    after: usize,
}

impl Anchors {
    fn new() -> Self {
        let mut a = Anchors {
            requirements: PATTERNS
                .iter()
                .flat_map(|&(lit, _, check)| Requirement::of(lit, check))
                .collect(),
            pairs: vec![false; 1 << 16]
                .into_boxed_slice()
                .try_into()
                .unwrap_or_else(|_| unreachable!()),
            quads: BitSet::new(),
            final_pairs: BitSet::new(),
            index: Vec::new(),
            before: 0,
            after: 0,
        };
        for (i, r) in a.requirements.iter().enumerate() {
            for pair in r.pairs() {
                a.pairs[usize::from(pair)] = true;
                a.index.push((pair, i));
                if r.anchor + 2 == r.text.len() {
                    a.final_pairs.insert(pair);
                }
            }
            let tail = &r.text[r.anchor..];
            match tail.len() {
                2 => {}
                3 => (0..=255).for_each(|c| {
                    a.quads
                        .insert(quad_hash(&[tail[0], tail[1], tail[2], c], 0));
                }),
                _ => a.quads.insert(quad_hash(tail, 0)),
            }
            // The literal spans `literal_at - anchor .. text.len() - anchor` around the anchor.
            a.before = a.before.max(r.anchor.saturating_sub(r.literal_at));
            a.after = a.after.max(r.text.len() - r.anchor);
        }
        a.index.sort_unstable();
        a
    }

    /// Whether a requirement occurs with its anchor at `p`, where anchor pair `pair` is.
    fn occurs(&self, b: &[u8], p: usize, pair: u16) -> bool {
        if !self.quads.contains(quad_hash(b, p)) && !self.final_pairs.contains(pair) {
            return false;
        }
        let from = self.index.partition_point(|&(q, _)| q < pair);
        self.index[from..]
            .iter()
            .take_while(|&&(q, _)| q == pair)
            .any(|&(_, r)| self.requirements[r].at(b, p))
    }

    /// Every offset where the anchor of an occurring requirement is, in order.
    fn find_all<'a>(&'a self, b: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
        let mut next = 0;
        std::iter::from_fn(move || {
            while let Some(p) = self.next_pair(b, next) {
                next = p + 1;
                if self.occurs(b, p, pair(b[p], b[p + 1])) {
                    return Some(p);
                }
            }
            next = b.len();
            None
        })
    }

    /// The next offset from `from` on where an anchor pair is. Seven offsets are tested at
    /// once, their pairs shifted out of one 8-byte load: most text has no anchor pair in most
    /// groups of seven.
    fn next_pair(&self, b: &[u8], from: usize) -> Option<usize> {
        // The pair at byte `k` of `w`: `w`'s bytes `k` and `k + 1`, little-endian.
        let is_pair = |w: u64, k: usize| self.pairs[usize::from((w >> (8 * k)) as u16)];
        let mut p = from;
        while let Some(bytes) = b.get(p..p + 8).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
            let w = u64::from_le_bytes(bytes);
            if (0..7).fold(false, |any, k| any | is_pair(w, k)) {
                return (0..7).find(|&k| is_pair(w, k)).map(|k| p + k);
            }
            p += 7;
        }
        (p..b.len().saturating_sub(1)).find(|&q| self.pairs[usize::from(pair(b[q], b[q + 1]))])
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
        let sc = automaton().unwrap();
        let mut hits = Vec::new();
        scan(sc, text, &|_| true, &mut hits);
        hits.into_iter().map(|h| h.rule).collect()
    }

    fn found(text: &str, full: bool) -> Vec<(&'static str, usize, String)> {
        let sc = automaton().unwrap();
        let mut hits = Vec::new();
        if full {
            // The automaton over all of the text, as before anchors.
            scan_window(
                sc,
                text,
                (0, text.len()),
                &mut Vec::new(),
                &|_| true,
                &mut hits,
            );
        } else {
            scan(sc, text, &|_| true, &mut hits);
        }
        hits.into_iter()
            .map(|h| (h.rule, h.offset, h.evidence))
            .collect()
    }

    #[test]
    fn every_requirement_is_found_at_its_anchor() {
        let anchors = &automaton().unwrap().anchors;
        for r in &anchors.requirements {
            let req = String::from_utf8(r.text.to_vec()).unwrap();
            let mut spellings = vec![req.clone()];
            if !r.exact {
                spellings.push(req.to_ascii_lowercase());
                spellings.push(req.to_ascii_uppercase());
            }
            for spelling in spellings {
                let text = format!("xx {spelling} yy");
                let at: Vec<usize> = anchors.find_all(text.as_bytes()).collect();
                assert!(at.contains(&(3 + r.anchor)), "{text:?}: {at:?}");
            }
        }
    }

    #[test]
    fn anchored_scan_finds_what_a_full_scan_finds() {
        let prefixes = [
            "",
            " ",
            "x",
            ">",
            "/",
            "\\",
            "java.lang.Null",
            "\tat com.acme.Foo.bar(Foo",
            "    at handler (/var/task/index",
            "goroutine 1 ",
        ];
        let suffixes = [
            "",
            " ",
            ":",
            " (",
            "x",
            "Foo",
            "12345:",
            "1234 (HY000): x",
            "00933: x",
            "404.14 - URL",
            "4.2.6</title>",
            " echo",
            "= @user.name %>",
            "user.name}",
            "\n  File \"/a.py\", line 3, in h\n",
            "12)",
            "12:7)",
            " #0 {main}",
            "10:in `m'",
        ];
        let mut texts = 0;
        for (lit, _, _) in PATTERNS {
            for prefix in prefixes {
                for lit in [lit.to_string(), lit.to_ascii_uppercase()] {
                    let text: Vec<String> = suffixes
                        .iter()
                        .map(|s| format!("{prefix}{lit}{s}"))
                        .collect();
                    let text = text.join("\n lorem ipsum ");
                    assert_eq!(found(&text, false), found(&text, true), "{text:?}");
                    texts += 1;
                }
            }
        }
        assert_eq!(texts, PATTERNS.len() * prefixes.len() * 2);
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
