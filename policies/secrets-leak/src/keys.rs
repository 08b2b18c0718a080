//! Credential scanners: AWS access key pairs, private keys and well-known API token formats.
//!
//! One linear pass dispatches on the first byte of each known prefix; AWS secrets (which
//! have no prefix) are looked for only when an access key id was seen, and only near it.

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

/// Scan `text` for credentials; `allowed` says whether a value is allowlisted.
pub fn scan(text: &str, allowed: &dyn Fn(&str) -> bool, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut key_ids: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let boundary = i == 0 || !is_alnum(b[i - 1]);
        let mut next = i + 1;
        match c {
            b'A' if boundary => {
                if let Some(end) = aws_key_id(b, i) {
                    // Enough to report; bounds the pairing work on hostile input.
                    if key_ids.len() < 256 {
                        key_ids.push((i, end));
                    }
                    next = end;
                } else if let Some(end) = token_at(text, i, allowed, hits) {
                    next = end;
                }
            }
            b'g' | b'x' | b's' | b'r' | b'n' if boundary => {
                if let Some(end) = token_at(text, i, allowed, hits) {
                    next = end;
                }
            }
            b'e' if boundary && b[i..].starts_with(b"eyJ") => {
                if let Some(end) = jwt_at(text, i, allowed, hits) {
                    next = end;
                }
            }
            b'-' if b[i..].starts_with(b"-----BEGIN ") => {
                if let Some(end) = private_key_at(text, i, hits) {
                    next = end;
                }
            }
            _ => {}
        }
        i = next;
    }
    aws_pairs(text, &key_ids, allowed, hits);
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

/// 40-character runs of the secret-key alphabet, mixed case (which rules out hex digests).
fn secret_candidates(b: &[u8], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        if !is_b64(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_b64(b[i]) {
            i += 1;
        }
        let run = &b[start..i];
        let padded = b.get(i) == Some(&b'=');
        if run.len() == 40
            && !padded
            && run.iter().any(u8::is_ascii_uppercase)
            && run.iter().any(u8::is_ascii_lowercase)
        {
            out.push((start, i));
        }
    }
    out
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
