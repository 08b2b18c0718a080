//! SQL tokenizer: one pass, linear, typed tokens in the spirit of libinjection.
use crate::text::FastFind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    /// Quoted string; `true` when closed.
    Str(bool),
    Num,
    /// Bare word (identifier or keyword), with its text span.
    Word,
    /// `@var` / `@@var`.
    Var,
    /// Comparison operator (`=`, `<>`, `!=`, `<=`, ...).
    Cmp,
    /// `||`, `&&`.
    Logic,
    /// Other operator (`+`, `-`, `*`, `/`, `%`, `^`, `|`, `&`, `~`, `!`, `::`).
    Op,
    /// `--`, `#` or `/* */` comment.
    Comment,
    /// PostgreSQL `::` type cast.
    Cast,
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub t: T,
    pub start: usize,
    pub end: usize,
}

pub const MAX_TOKENS: usize = 4096;

/// The bytes a word continues with (ASCII letters, digits, `_`, `$`), by table: most of a
/// long value's bytes are in words.
static WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
        i += 1;
    }
    t
};

pub fn tokenize(s: &str, start: usize) -> Vec<Tok> {
    let b = s.as_bytes();
    // About one token per six bytes of prose: most values need no regrowth.
    let mut out = Vec::with_capacity((b.len().saturating_sub(start) / 6 + 1).min(MAX_TOKENS));
    let mut i = start;
    while i < b.len() && out.len() < MAX_TOKENS {
        let c = b[i];
        let st = i;
        let t = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0 => {
                i += 1;
                continue;
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                let mut closed = false;
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        closed = true;
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                i = i.min(b.len());
                if c == b'`' { T::Word } else { T::Str(closed) }
            }
            b'0'..=b'9' => {
                if c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'b')) {
                    i += 2;
                }
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                // MySQL reads `1e0union` as the number `1e0`, then `union`.
                let n = &b[st..i];
                if let Some(e) = n.iter().position(|&x| x == b'e')
                    && e > 0
                    && n[..e].iter().all(|x| x.is_ascii_digit() || *x == b'.')
                {
                    let d = n[e + 1..].iter().take_while(|x| x.is_ascii_digit()).count();
                    if d > 0 && n.get(e + 1 + d).is_some_and(|x| x.is_ascii_alphabetic()) {
                        i = st + e + 1 + d;
                    }
                }
                T::Num
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                T::Comment
            }
            b'#' if matches!(b.get(i + 1), Some(b'>' | b'-')) => {
                i += 2;
                if b.get(i) == Some(&b'>') {
                    i += 1;
                }
                T::Cmp
            }
            b'-' if b.get(i + 1) == Some(&b'>') => {
                i += 2;
                if b.get(i) == Some(&b'>') {
                    i += 1;
                }
                T::Cmp
            }
            b'@' if matches!(b.get(i + 1), Some(b'>' | b'?'))
                || (b.get(i + 1) == Some(&b'@')
                    && !b
                        .get(i + 2)
                        .is_some_and(|x| x.is_ascii_alphanumeric() || *x == b'_')) =>
            {
                i += 2;
                T::Cmp
            }
            b'?' => {
                i += 1;
                if matches!(b.get(i), Some(b'|' | b'&')) {
                    i += 1;
                }
                T::Cmp
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                T::Cast
            }
            b'#' => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                T::Comment
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = s[i + 2..].ffind("*/").map_or(b.len(), |p| i + 2 + p + 2);
                T::Comment
            }
            b'@' => {
                i += 1;
                while i < b.len()
                    && (b[i] == b'@'
                        || b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'.')
                {
                    i += 1;
                }
                T::Var
            }
            b'=' => {
                // `==` / `===` (JavaScript, NoSQL `$where`) compare like `=`.
                i += 1;
                while b.get(i) == Some(&b'=') && i < st + 3 {
                    i += 1;
                }
                T::Cmp
            }
            b'<' | b'>' | b'!' => {
                i += 1;
                if matches!(b.get(i), Some(b'=' | b'>' | b'<'))
                    || (c == b'<' && b.get(i) == Some(&b'@'))
                {
                    i += 1;
                }
                if c == b'<' && b.get(i - 1) == Some(&b'=') && b.get(i) == Some(&b'>') {
                    i += 1; // `<=>`
                }
                if c == b'!' && i == st + 1 {
                    T::Op
                } else {
                    T::Cmp
                }
            }
            b'|' | b'&' => {
                i += 1;
                if b.get(i) == Some(&c) {
                    i += 1;
                    T::Logic
                } else {
                    T::Op
                }
            }
            // `~`, `~*`: PostgreSQL's regular-expression match, a comparison.
            b'~' => {
                i += 1;
                if b.get(i) == Some(&b'*') {
                    i += 1;
                }
                T::Cmp
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b':' => {
                i += 1;
                T::Op
            }
            b'(' => {
                i += 1;
                T::LParen
            }
            b')' => {
                i += 1;
                T::RParen
            }
            b',' => {
                i += 1;
                T::Comma
            }
            b';' => {
                i += 1;
                T::Semi
            }
            b'.' => {
                i += 1;
                T::Dot
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                i += b[i..]
                    .iter()
                    .take_while(|&&x| WORD_BYTE[usize::from(x)])
                    .count();
                T::Word
            }
            _ => {
                i += 1;
                while i < b.len() && !s.is_char_boundary(i) {
                    i += 1;
                }
                T::Other
            }
        };
        out.push(Tok {
            t,
            start: st,
            end: i,
        });
    }
    out
}

pub fn word<'a>(s: &'a str, t: &Tok) -> &'a str {
    &s[t.start..t.end]
}

pub fn is_w(s: &str, t: &Tok, ws: &[&str]) -> bool {
    // Bytes: a `str` slice would check both ends for char boundaries on every call, and
    // rules ask this of every token.
    t.t == T::Word && {
        let w = &s.as_bytes()[t.start..t.end];
        ws.iter().any(|x| x.as_bytes() == w)
    }
}

/// Next meaningful token index at or after `i` (comments skipped).
pub fn next(toks: &[Tok], mut i: usize) -> Option<usize> {
    while i < toks.len() {
        if toks[i].t != T::Comment {
            return Some(i);
        }
        i += 1;
    }
    None
}
