//! Credential scanners: AWS access key pairs, private keys and well-known API token formats.
//!
//! A credential is a long run of token bytes (or starts with a PEM header): runs are found by
//! probing every 20th byte, and only they are dispatched on the first byte of each known
//! prefix. AWS secrets (which have no prefix) are 40-byte runs, paired with a key id near
//! them or labelled.

use gavel_policy_sdk::redact;
use gavel_policy_sdk::{Decision, Severity};

use crate::Hit;

/// How far (bytes) a secret may sit from its key id and still form a pair.
const PAIR_WINDOW: usize = 320;

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// Documented placeholders (AWS docs use `…EXAMPLE` / `…EXAMPLEKEY`) are never secrets.
fn is_placeholder(s: &str) -> bool {
    s.contains("EXAMPLE") || s.contains("example")
}

struct Token {
    prefix: &'static str,
    rule: &'static str,
    what: &'static str,
    /// Body length after the prefix: exact when `min == max`.
    min: usize,
    max: usize,
    body: fn(u8) -> bool,
    decision: Decision,
    severity: Severity,
}

fn body_alnum(b: u8) -> bool {
    is_alnum(b)
}
fn body_word(b: u8) -> bool {
    is_alnum(b) || b == b'_'
}
fn body_dash(b: u8) -> bool {
    is_alnum(b) || b == b'-'
}
fn body_url(b: u8) -> bool {
    is_alnum(b) || b == b'-' || b == b'_'
}

const TOKENS: &[Token] = &[
    tok(
        "ghp_",
        "secret.github-token",
        "GitHub personal access token",
        36,
        36,
        body_alnum,
    ),
    tok(
        "gho_",
        "secret.github-token",
        "GitHub OAuth token",
        36,
        36,
        body_alnum,
    ),
    tok(
        "ghu_",
        "secret.github-token",
        "GitHub user-to-server token",
        36,
        36,
        body_alnum,
    ),
    tok(
        "ghs_",
        "secret.github-token",
        "GitHub server-to-server token",
        36,
        36,
        body_alnum,
    ),
    tok(
        "ghr_",
        "secret.github-token",
        "GitHub refresh token",
        36,
        36,
        body_alnum,
    ),
    tok(
        "github_pat_",
        "secret.github-token",
        "GitHub fine-grained token",
        60,
        255,
        body_word,
    ),
    tok(
        "glpat-",
        "secret.gitlab-token",
        "GitLab personal access token",
        20,
        20,
        body_url,
    ),
    tok(
        "xoxb-",
        "secret.slack-token",
        "Slack bot token",
        20,
        255,
        body_dash,
    ),
    tok(
        "xoxp-",
        "secret.slack-token",
        "Slack user token",
        20,
        255,
        body_dash,
    ),
    tok(
        "xoxa-",
        "secret.slack-token",
        "Slack app token",
        20,
        255,
        body_dash,
    ),
    tok(
        "xoxr-",
        "secret.slack-token",
        "Slack refresh token",
        20,
        255,
        body_dash,
    ),
    tok(
        "xoxs-",
        "secret.slack-token",
        "Slack session token",
        20,
        255,
        body_dash,
    ),
    tok(
        "xoxe-",
        "secret.slack-token",
        "Slack token",
        20,
        255,
        body_dash,
    ),
    tok(
        "sk_live_",
        "secret.stripe-key",
        "Stripe live secret key",
        20,
        255,
        body_alnum,
    ),
    tok(
        "rk_live_",
        "secret.stripe-key",
        "Stripe live restricted key",
        20,
        255,
        body_alnum,
    ),
    tok(
        "npm_",
        "secret.npm-token",
        "npm access token",
        36,
        36,
        body_alnum,
    ),
    Token {
        prefix: "AIza",
        rule: "secret.google-api-key",
        what: "Google API key",
        min: 35,
        max: 35,
        body: body_url,
        decision: Decision::Alert,
        severity: Severity::Medium,
    },
];

const fn tok(
    prefix: &'static str,
    rule: &'static str,
    what: &'static str,
    min: usize,
    max: usize,
    body: fn(u8) -> bool,
) -> Token {
    Token {
        prefix,
        rule,
        what,
        min,
        max,
        body,
        decision: Decision::Deny,
        severity: Severity::High,
    }
}

/// `class[b]` says whether byte `b` belongs to a class: a table, as the run scans test
/// bytes in their inner loops.
type ByteClass = [bool; 256];

/// Alphanumerics and `extra`.
const fn alnum_and(extra: &[u8]) -> ByteClass {
    let mut class = [false; 256];
    let mut c = 0;
    while c < 256 {
        class[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        class[extra[i] as usize] = true;
        i += 1;
    }
    class
}

/// Bytes a credential is made of: every prefix and body above, and a JWT's parts and dots.
const TOKEN_BYTES: ByteClass = alnum_and(b"_-.");

/// The secret-key alphabet ([`is_b64`]).
const B64_BYTES: ByteClass = alnum_and(b"/+");

/// The shortest credential [`credential_at`] finds without a PEM header: an AWS key id
/// (tokens are 24 bytes or more, JWTs 38).
const MIN_TOKEN: usize = 20;

const PEM_HEAD: &[u8] = b"-----BEGIN ";

/// Scan `text` for credentials; `allowed` says whether a value is allowlisted.
pub fn scan(text: &str, allowed: &dyn Fn(&str) -> bool, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut key_ids: Vec<(usize, usize)> = Vec::new();
    // Offsets below `next` lie inside an earlier credential and are not looked at again.
    let mut next = 0;
    for (lo, hi) in candidate_spans(b) {
        let mut i = lo.max(next);
        while i < hi {
            i = credential_at(text, i, allowed, hits, &mut key_ids).unwrap_or(i + 1);
        }
        next = next.max(i);
    }
    aws_pairs(text, &key_ids, allowed, hits);
}

/// The credential starting at `i`, recorded; returns where it ends. Dispatches on the first
/// byte of each known prefix.
#[inline]
fn credential_at(
    text: &str,
    i: usize,
    allowed: &dyn Fn(&str) -> bool,
    hits: &mut Vec<Hit>,
    key_ids: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    let b = text.as_bytes();
    let boundary = || i == 0 || !is_alnum(b[i - 1]);
    match b[i] {
        b'A' if boundary() => match aws_key_id(b, i) {
            Some(end) => {
                // Enough to report; bounds the pairing work on hostile input.
                if key_ids.len() < 256 {
                    key_ids.push((i, end));
                }
                Some(end)
            }
            None => token_at(text, i, allowed, hits),
        },
        b'g' | b'x' | b's' | b'r' | b'n' if boundary() => token_at(text, i, allowed, hits),
        b'e' if boundary() && b[i..].starts_with(b"eyJ") => jwt_at(text, i, allowed, hits),
        b'-' if b[i..].starts_with(PEM_HEAD) => private_key_at(text, i, hits),
        _ => None,
    }
}

/// The only spans where [`credential_at`] can find something, in order: token-byte runs of
/// [`MIN_TOKEN`] or more bytes, and PEM headers (whose label has spaces). Prose has neither,
/// so it is skipped instead of dispatched byte by byte.
fn candidate_spans(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut runs = LongRuns::new(b, &TOKEN_BYTES, MIN_TOKEN).peekable();
    let mut pems = pem_starts(b).into_iter().peekable();
    std::iter::from_fn(move || match (runs.peek(), pems.peek()) {
        (Some(&(start, _)), Some(&p)) if p < start => pems.next().map(|p| (p, p + 1)),
        (Some(_), _) => runs.next(),
        (None, _) => pems.next().map(|p| (p, p + 1)),
    })
}

/// Maximal runs of `class` bytes at least `min` long, in order, each run starting before
/// `starts_before`. Probing every `min`-th byte skips text made of shorter runs (words) with a
/// fraction of the byte tests.
struct LongRuns<'a> {
    b: &'a [u8],
    class: &'static ByteClass,
    min: usize,
    starts_before: usize,
    /// Every run of `min` or more starting before `p` was reported, and `b[p - 1]` (if any)
    /// is not in the class.
    p: usize,
    /// `b[p..verified]` is known to be in the class: a probe does not walk back over it again.
    verified: usize,
}

impl<'a> LongRuns<'a> {
    fn new(b: &'a [u8], class: &'static ByteClass, min: usize) -> Self {
        assert!(min > 0);
        Self {
            b,
            class,
            min,
            starts_before: b.len(),
            p: 0,
            verified: 0,
        }
    }

    /// Only runs starting before `end`: a bounded window's scan stops there.
    fn starting_before(self, end: usize) -> Self {
        Self {
            starts_before: end.min(self.b.len()),
            ..self
        }
    }
}

impl Iterator for LongRuns<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let (b, class, min) = (self.b, self.class, self.min);
        let class = |c: u8| class[c as usize];
        let (mut p, mut verified) = (self.p, self.verified);
        let mut found = None;
        while p < self.starts_before {
            let probe = p + min - 1;
            if probe >= b.len() {
                break;
            }
            if !class(b[probe]) {
                p = probe + 1;
                verified = p;
                continue;
            }
            let mut start = probe;
            while start > verified && class(b[start - 1]) {
                start -= 1;
            }
            if start > verified {
                // A run starts at `start`, shorter than `min` so far: probe `min` bytes on.
                p = start;
                verified = probe + 1;
                continue;
            }
            let mut end = probe + 1;
            while end < b.len() && class(b[end]) {
                end += 1;
            }
            found = Some((p, end));
            p = end + 1;
            verified = p;
            break;
        }
        if found.is_none() {
            p = self.starts_before;
        }
        (self.p, self.verified) = (p, verified);
        found
    }
}

/// Offsets of [`PEM_HEAD`]. Probing every tenth byte meets one byte of each `-----BEGIN`;
/// only probes that hit one of its bytes look for a header around them.
fn pem_starts(b: &[u8]) -> Vec<usize> {
    const SPAN: usize = PEM_HEAD.len() - 1;
    let mut out = Vec::new();
    let mut probe = SPAN - 1;
    while probe < b.len() {
        if matches!(b[probe], b'-' | b'B' | b'E' | b'G' | b'I' | b'N') {
            out.extend((probe + 1 - SPAN..=probe).filter(|&s| b[s..].starts_with(PEM_HEAD)));
        }
        probe += SPAN;
    }
    out
}

/// `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 upper-case alphanumerics, word-bounded.
fn aws_key_id(b: &[u8], i: usize) -> Option<usize> {
    let p = b.get(i..i + 4)?;
    if !matches!(p, b"AKIA" | b"ASIA" | b"ABIA" | b"ACCA") {
        return None;
    }
    let end = i + 20;
    let body = b.get(i + 4..end)?;
    if !body
        .iter()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return None;
    }
    if b.get(end).is_some_and(|c| is_alnum(*c)) {
        return None;
    }
    Some(end)
}

/// Length of an AWS secret access key.
const SECRET_LEN: usize = 40;

/// 40-character runs of the secret-key alphabet, mixed case (which rules out hex digests),
/// starting in `from..to`; a run already under way at `from` counts from `from`.
fn secret_candidates(b: &[u8], from: usize, to: usize) -> Vec<(usize, usize)> {
    LongRuns::new(&b[from..], &B64_BYTES, SECRET_LEN)
        .starting_before(to - from)
        .map(|(s, e)| (from + s, from + e))
        .filter(|&(s, e)| {
            let run = &b[s..e];
            run.len() == SECRET_LEN
                && b.get(e) != Some(&b'=')
                && run.iter().any(u8::is_ascii_uppercase)
                && run.iter().any(u8::is_ascii_lowercase)
        })
        .collect()
}

fn aws_pairs(
    text: &str,
    ids: &[(usize, usize)],
    allowed: &dyn Fn(&str) -> bool,
    hits: &mut Vec<Hit>,
) {
    let b = text.as_bytes();
    let mut used_secrets: Vec<usize> = Vec::new();
    for &(s, e) in ids {
        let id = &text[s..e];
        if is_placeholder(id) || allowed(id) {
            continue;
        }
        let from = s.saturating_sub(PAIR_WINDOW);
        let to = (e + PAIR_WINDOW).min(b.len());
        let secret = secret_candidates(b, from, to)
            .into_iter()
            .filter(|(cs, ce)| (*ce <= s || *cs >= e) && !used_secrets.contains(cs))
            .map(|(cs, ce)| (cs, &text[cs..ce]))
            .find(|(_, sec)| !is_placeholder(sec) && !allowed(sec));
        if let Some((cs, sec)) = secret {
            used_secrets.push(cs);
            hits.push(Hit {
                rule: "secret.aws-key-pair",
                severity: Severity::Critical,
                decision: Decision::Deny,
                message: "AWS access key id and secret access key in the function result".into(),
                offset: s,
                evidence: format!("{} / {}", redact::secret(id, 8), redact::secret(sec, 4)),
            });
        }
    }
    // A labelled secret without its id is still a credential, but less certain.
    for (cs, ce) in secret_candidates(b, 0, b.len()) {
        if hits.len() >= 64 {
            break;
        }
        if used_secrets.contains(&cs) {
            continue;
        }
        let sec = &text[cs..ce];
        if is_placeholder(sec) || allowed(sec) {
            continue;
        }
        let label_from = cs.saturating_sub(48);
        let mut lf = label_from;
        while !text.is_char_boundary(lf) {
            lf += 1;
        }
        let label = text[lf..cs]
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "");
        if label.contains("secretaccesskey") || label.contains("awssecret") {
            hits.push(Hit {
                rule: "secret.aws-secret-key",
                severity: Severity::High,
                decision: Decision::Alert,
                message: "AWS secret access key (labelled) in the function result".into(),
                offset: cs,
                evidence: redact::secret(sec, 4),
            });
        }
    }
}

fn token_at(
    text: &str,
    i: usize,
    allowed: &dyn Fn(&str) -> bool,
    hits: &mut Vec<Hit>,
) -> Option<usize> {
    let b = text.as_bytes();
    for t in TOKENS {
        if !b[i..].starts_with(t.prefix.as_bytes()) {
            continue;
        }
        let start = i + t.prefix.len();
        let mut end = start;
        while end < b.len() && (t.body)(b[end]) && end - start <= t.max {
            end += 1;
        }
        let len = end - start;
        if len < t.min || len > t.max {
            return None;
        }
        // Exact-length formats must end there, not inside a longer identifier.
        if b.get(end).is_some_and(|c| is_alnum(*c)) {
            return None;
        }
        let value = &text[i..end];
        if is_placeholder(value) || allowed(value) || !has_entropy(&b[start..end]) {
            return None;
        }
        hits.push(Hit {
            rule: t.rule,
            severity: t.severity,
            decision: t.decision,
            message: format!("{} in the function result", t.what),
            offset: i,
            evidence: redact::secret(value, t.prefix.len() + 2),
        });
        return Some(end);
    }
    None
}

/// Real tokens mix letters and digits; `xoxb-xxxxxxxx…` style placeholders do not.
fn has_entropy(body: &[u8]) -> bool {
    let digits = body.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = body.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let mut distinct = [false; 256];
    for c in body {
        distinct[*c as usize] = true;
    }
    digits > 0 && letters > 0 && distinct.iter().filter(|d| **d).count() >= 8
}

/// `eyJ…` header `.` payload `.` signature (base64url).
fn jwt_at(
    text: &str,
    i: usize,
    allowed: &dyn Fn(&str) -> bool,
    hits: &mut Vec<Hit>,
) -> Option<usize> {
    let b = text.as_bytes();
    let mut parts = [0usize; 3];
    let mut j = i;
    for (n, part) in parts.iter_mut().enumerate() {
        let s = j;
        while j < b.len() && (is_alnum(b[j]) || b[j] == b'-' || b[j] == b'_') {
            j += 1;
        }
        *part = j - s;
        if n < 2 {
            if b.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
    }
    if parts[0] < 10 || parts[1] < 10 || parts[2] < 16 || !b[i + parts[0] + 1..].starts_with(b"eyJ")
    {
        return None;
    }
    let value = &text[i..j];
    if allowed(value) {
        return None;
    }
    hits.push(Hit {
        rule: "secret.jwt",
        severity: Severity::Medium,
        decision: Decision::Alert,
        message: "signed JSON Web Token in the function result".into(),
        offset: i,
        evidence: redact::secret(value, 8),
    });
    Some(j)
}

/// `-----BEGIN … PRIVATE KEY-----` followed by key material.
fn private_key_at(text: &str, i: usize, hits: &mut Vec<Hit>) -> Option<usize> {
    let b = text.as_bytes();
    let head_start = i + "-----BEGIN ".len();
    let head_len = b[head_start..].iter().take(48).position(|c| *c == b'-')?;
    let label = &text[head_start..head_start + head_len];
    let close = head_start + head_len;
    if !b[close..].starts_with(b"-----")
        || !label.ends_with("PRIVATE KEY") && !label.ends_with("PRIVATE KEY BLOCK")
    {
        return None;
    }
    let body_start = close + 5;
    let material = b[body_start..]
        .iter()
        .take(200)
        .filter(|c| is_b64(**c))
        .count();
    if material < 40 {
        return None;
    }
    hits.push(Hit {
        rule: "secret.private-key",
        severity: Severity::Critical,
        decision: Decision::Deny,
        message: format!("{label} in the function result"),
        offset: i,
        evidence: format!("-----BEGIN {label}----- {}", redact::secret("", 0)),
    });
    Some(body_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        scan(text, &|_| false, &mut hits);
        hits
    }

    /// Maximal runs of `class` bytes at least `min` long, found byte by byte.
    fn naive_runs(b: &[u8], class: &ByteClass, min: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            while i < b.len() && class[b[i] as usize] {
                i += 1;
            }
            if i - start >= min {
                out.push((start, i));
            }
            i = i.max(start + 1);
        }
        out
    }

    /// Every pair of run lengths up to 45 (around both minimums) with one or two non-token
    /// bytes between them, then one to three more.
    fn runs_text() -> Vec<u8> {
        let run = |len: usize| (0..len).map(move |k| b"aZ9_-.+/"[(k + len) % 8]);
        let mut text = Vec::new();
        for first in 0..46 {
            for gap in 1..3 {
                for second in 0..46 {
                    text.extend(run(first));
                    text.extend(std::iter::repeat_n(b' ', gap));
                    text.extend(run(second));
                    text.extend(std::iter::repeat_n(b' ', 1 + (first + second) % 3));
                }
            }
        }
        text
    }

    #[test]
    fn long_runs_are_the_naive_runs() {
        let text = runs_text();
        for class in [&TOKEN_BYTES, &B64_BYTES] {
            for min in [1, 2, 19, MIN_TOKEN, 21, SECRET_LEN, 41] {
                let naive = naive_runs(&text, class, min);
                let runs: Vec<_> = LongRuns::new(&text, class, min).collect();
                assert_eq!(runs, naive, "min {min}");
                let end = text.len() / 3;
                let runs: Vec<_> = LongRuns::new(&text, class, min)
                    .starting_before(end)
                    .collect();
                let naive: Vec<_> = naive.into_iter().filter(|r| r.0 < end).collect();
                assert_eq!(runs, naive, "min {min}, starting before {end}");
            }
        }
        // Short texts of two bytes, one in the class, against short minimums: every way
        // probes can fall around runs and gaps.
        let mut x = 1u32;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let text: Vec<u8> = (0..8 + x % 24)
                .map(|k| b"aa "[(x >> k) as usize % 3])
                .collect();
            let min = 1 + (x >> 28) as usize % 8;
            let runs: Vec<_> = LongRuns::new(&text, &TOKEN_BYTES, min).collect();
            assert_eq!(
                runs,
                naive_runs(&text, &TOKEN_BYTES, min),
                "{text:?} min {min}"
            );
        }
    }

    #[test]
    fn pem_headers_at_every_offset() {
        let mut text = Vec::new();
        for k in 0..40 {
            text.extend(std::iter::repeat_n(b'-', k % 7));
            text.extend_from_slice(b"-----BEGIN RSA PRIVATE KEY----- ");
            text.extend(std::iter::repeat_n(b'x', k));
            text.extend_from_slice(b"-----BEGI N -----BEGINX ");
        }
        text.extend_from_slice(PEM_HEAD);
        let naive: Vec<usize> = (0..text.len())
            .filter(|&i| text[i..].starts_with(PEM_HEAD))
            .collect();
        assert_eq!(naive.len(), 41);
        assert_eq!(pem_starts(&text), naive);
    }

    #[test]
    fn aws_pair_is_found_and_redacted() {
        let h = run(
            "AWS_ACCESS_KEY_ID=AKIAB3VDEO65CYI46KQZ\nAWS_SECRET_ACCESS_KEY=WVI8TAM4V77qf1P6DeoEyrt+nJGF6+vg5jjkqhhU\n",
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].rule, "secret.aws-key-pair");
        assert!(!h[0].evidence.contains("WVI8TAM4V77"));
        assert!(!h[0].evidence.contains("AKIAB3VDEO65CYI46KQZ"));
    }

    #[test]
    fn examples_digests_and_lone_ids_are_not_secrets() {
        assert!(run("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").is_empty());
        assert!(run("accessKeyId: ASIAWIII5MFCX7AAG7JB").is_empty());
        assert!(
            run("AKIACSRMR4TNG4UMSDCX commit 8edf7cd5eb6a41bbaddb0bbc6de2ee143b0d58cb").is_empty()
        );
        let mut hits = Vec::new();
        scan(
            "AKIACSRMR4TNG4UMSDCX UDUBH1mLh2ZJ3JMRSa4wBhPRXHBJuI+pEhEwP1oV",
            &|s| s.starts_with("AKIACSR"),
            &mut hits,
        );
        assert!(hits.is_empty());
    }

    #[test]
    fn labelled_secret_alone_alerts() {
        let h = run("aws_secret_access_key = UlfqoWSuAfSQ6DltNCgoUKxCDEf0wrGquWJSjLyy");
        assert_eq!(h[0].rule, "secret.aws-secret-key");
        assert_eq!(h[0].decision, Decision::Alert);
    }

    #[test]
    fn tokens_and_private_keys() {
        let h = run(
            "token ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8 and xoxb-123456789012-abcdefABCDEF1234",
        );
        assert_eq!(
            h.iter().filter(|h| h.rule == "secret.github-token").count(),
            1
        );
        assert_eq!(
            h.iter().filter(|h| h.rule == "secret.slack-token").count(),
            1
        );
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Ut1+abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN\n";
        let h = run(pem);
        assert_eq!(h[0].rule, "secret.private-key");
        assert!(!h[0].evidence.contains("MIIE"));
        assert!(run("-----BEGIN CERTIFICATE-----\nMIIE3zCCAsegAwIBAgIJAOZLUn/n7YvYMA0GCSqGSIb3DQEBCwUAMA0x").is_empty());
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(run(jwt)[0].rule, "secret.jwt");
        assert!(run("xoxb-xxxxxxxxxxxxxxxxxxxxxxxx").is_empty());
    }
}
