//! libinjection-style fingerprints. The first tokens of a value, read in one quote context (as
//! it is, or right after the quote that closes the developer's literal), are folded into a
//! short string of token classes; a few fingerprint shapes only an injection produces, whatever
//! the words in it, so new payloads of a known shape are caught without a word list.
//!
//! Classes: `s` string (in a quote context the first `s` is the developer's literal), `1`
//! number, `v` `@variable`, `n` other word, `f` SQL function before `(`, `k` clause keyword,
//! `B` `ORDER BY` / `GROUP BY`, `U` set operator, `E` statement verb, `&` boolean operator, `o`
//! operator or comparison, `c` trailing comment, `(`, `)`, `,`, `;`, `.`, `x` anything else.
//! Folding: `NOT` and unary signs are dropped, `db.t` is one word, arithmetic between operands
//! folds into the left one (`4821*2` is `1`), adjacent strings are one, `UNION ALL` is `U`, and
//! comments are whitespace unless they end the value.

use super::tokenizer::*;
use super::words::{SQL_FUNC_SET, TIME_FUNCS};
use crate::Hit;

/// Classes kept: enough for the shapes below, few enough to stay cheap on long values.
const FP_LEN: usize = 16;

struct Fp {
    cls: [u8; FP_LEN],
    /// Raw token index of each class (`usize::MAX` for the developer's literal).
    idx: [usize; FP_LEN],
    len: usize,
    /// Tokens were left after `FP_LEN` classes.
    more: bool,
}

impl Fp {
    fn s(&self) -> &[u8] {
        &self.cls[..self.len]
    }
    fn last(&self) -> Option<u8> {
        self.len.checked_sub(1).map(|k| self.cls[k])
    }
    fn push(&mut self, c: u8, i: usize) -> bool {
        if self.len == FP_LEN {
            self.more = true;
            return false;
        }
        self.cls[self.len] = c;
        self.idx[self.len] = i;
        self.len += 1;
        true
    }
}

fn word_class(w: &str, call: bool) -> u8 {
    if call && (SQL_FUNC_SET.contains(w) || TIME_FUNCS.contains(&w)) {
        return b'f';
    }
    match w {
        "or" | "and" | "xor" => b'&',
        "not" => 0,
        "like" | "rlike" | "regexp" | "glob" | "ilike" | "is" | "in" | "between" | "div"
        | "mod" | "sounds" | "similar" | "collate" | "escape" => b'o',
        "union" | "except" | "intersect" => b'U',
        "select" | "insert" | "update" | "delete" | "drop" | "create" | "alter" | "truncate"
        | "exec" | "execute" | "declare" | "shutdown" | "waitfor" | "grant" | "revoke" | "call"
        | "merge" | "handler" | "rename" => b'E',
        "from" | "where" | "having" | "limit" | "offset" | "into" | "as" | "null" | "true"
        | "false" | "case" | "when" | "then" | "else" | "end" | "all" | "distinct" | "top"
        | "values" | "procedure" | "by" | "asc" | "desc" | "table" | "set" => b'k',
        _ => b'n',
    }
}

fn operand(c: u8) -> bool {
    matches!(c, b'1' | b's' | b'v' | b'n')
}

/// Fold `toks` into a fingerprint; `lead` = the stream follows a quote break (the developer's
/// literal is the first `s`, and the parentheses right after the quote close the developer's).
fn build(s: &str, toks: &[Tok], lead: bool) -> Fp {
    let mut fp = Fp {
        cls: [0; FP_LEN],
        idx: [0; FP_LEN],
        len: 0,
        more: false,
    };
    let mut i = 0;
    if lead {
        fp.push(b's', usize::MAX);
        while toks.get(i).is_some_and(|t| t.t == T::RParen) {
            i += 1;
        }
    }
    // The last class pushed is an arithmetic operator (folds with the operands around it).
    let mut arith = false;
    // The last token was a dot joining two words.
    let mut joined = false;
    while i < toks.len() {
        let t = &toks[i];
        let c = match t.t {
            T::Comment => {
                // A run of comments: whitespace, or the end of the value.
                let Some(j) = next(toks, i) else {
                    fp.push(b'c', i);
                    break;
                };
                i = j;
                continue;
            }
            T::Str(_) => b's',
            T::Num => b'1',
            T::Var => b'v',
            T::Cmp | T::Cast => b'o',
            T::Op => {
                let w = word(s, t);
                // Unary sign: at the start or after an operator.
                if matches!(w, "-" | "+" | "~" | "!")
                    && fp
                        .last()
                        .is_none_or(|l| matches!(l, b'o' | b'&' | b'(' | b',' | b';'))
                {
                    i += 1;
                    continue;
                }
                b'o'
            }
            T::Logic => b'&',
            T::LParen => b'(',
            T::RParen => b')',
            T::Comma => b',',
            T::Semi => b';',
            T::Dot => {
                if matches!(fp.last(), Some(b'n' | b'f'))
                    && toks.get(i + 1).is_some_and(|x| x.t == T::Word)
                {
                    joined = true;
                    i += 1;
                    continue;
                }
                b'.'
            }
            T::Other => b'x',
            T::Word => {
                let w = word(s, t);
                if w.starts_with('`') {
                    b'n'
                } else {
                    let nxt = next(toks, i + 1);
                    let call = nxt.is_some_and(|k| toks[k].t == T::LParen);
                    let mut c = word_class(w, call);
                    if (w == "order" || w == "group")
                        && let Some(k) = nxt
                        && is_w(s, &toks[k], &["by"])
                    {
                        c = b'B';
                        i = k;
                    }
                    if c == b'U' {
                        while let Some(k) = next(toks, i + 1)
                            && is_w(s, &toks[k], &["all", "distinct"])
                        {
                            i = k;
                        }
                    }
                    c
                }
            }
        };
        i += 1;
        if c == 0 {
            continue;
        }
        if joined {
            joined = false;
            if matches!(c, b'n' | b'f') {
                // `utl_inaddr.get_host_name`, `db.t`: one name; a call when the last part is.
                fp.cls[fp.len - 1] = c;
                continue;
            }
        }
        if c == b's' && fp.last() == Some(b's') {
            continue;
        }
        if operand(c) && arith && fp.len >= 2 && operand(fp.cls[fp.len - 2]) {
            fp.len -= 1;
            arith = false;
            continue;
        }
        if !fp.push(c, i - 1) {
            break;
        }
        arith = c == b'o' && t.t == T::Op;
    }
    fp
}

/// The comparison operators of a tautology or a blind condition.
fn comparison(s: &str, toks: &[Tok], i: usize) -> bool {
    toks.get(i).is_some_and(|t| {
        t.t == T::Cmp && !matches!(word(s, t), "->" | "->>" | "#>" | "#>>" | "#-")
            || is_w(s, t, &["like", "rlike", "regexp", "between"])
    })
}

/// `<left> o <right>` at `from` in the fingerprint, where the left side is a literal or a call
/// / parenthesised expression closed before the operator (`1=`, `(4821)=`, `foo(1)>`,
/// `count(*)>`), and the right side an operand. Returns the operator's position.
/// `any_call`: the call may be of any name (`gtid_subset(…)=`), not only a SQL function.
fn condition(s: &str, toks: &[Tok], fp: &Fp, from: usize, any_call: bool) -> Option<usize> {
    let rest = fp.s().get(from..)?;
    let mut depth = 0u32;
    let mut p = None;
    for (j, &c) in rest.iter().enumerate() {
        match c {
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1)?,
            b'o' if depth == 0 => {
                p = Some(j);
                break;
            }
            b';' | b'c' => return None,
            _ if depth == 0 && !matches!(c, b'1' | b's' | b'v' | b'n' | b'f') => return None,
            _ => {}
        }
    }
    let Some(p) = p else {
        // `('1'='1`, `((1=1`: a condition in parentheses the developer's closing ones end.
        let open = rest.iter().take_while(|&&c| c == b'(').count();
        return (open > 0
            && rest.len() >= open + 3
            && matches!(rest[open], b'1' | b's' | b'v')
            && rest[open + 1] == b'o'
            && comparison(s, toks, fp.idx[from + open + 1])
            && matches!(rest[open + 2], b'1' | b's' | b'v' | b'n' | b'f' | b'('))
        .then_some(from + open + 1);
    };
    if p == 0 || !comparison(s, toks, fp.idx[from + p]) {
        return None;
    }
    let left = &rest[..p];
    let literal = left.len() == 1 && matches!(left[0], b'1' | b's' | b'v');
    let call = left.len() >= 2
        && left[left.len() - 1] == b')'
        && (left[0] == b'('
            || (left[0] == b'f' || (any_call && left[0] == b'n')) && left[1] == b'(');
    let right = rest
        .get(p + 1)
        .is_some_and(|c| matches!(c, b'1' | b's' | b'v' | b'n' | b'f' | b'(' | b'k'));
    ((literal || call) && right).then_some(from + p)
}

/// Fingerprint checks for one context; `broke` = offset of the quote the stream starts after.
pub fn check(s: &str, toks: &[Tok], broke: Option<usize>) -> Option<Hit> {
    // Every shape below starts with a number or `(` (as-is), or with a boolean operator, a
    // comparison or `;` right after the quote: skip the fold for anything else (prose).
    let first = toks.iter().find(|t| match t.t {
        T::Comment => false,
        T::RParen => broke.is_none(),
        T::Op => broke.is_some() || !matches!(word(s, t), "-" | "+" | "~" | "!"),
        _ => true,
    })?;
    let starts = match broke {
        None => matches!(first.t, T::Num | T::LParen) || is_w(s, first, &["order", "group"]),
        Some(_) => {
            matches!(first.t, T::Logic | T::Cmp | T::Semi)
                || is_w(s, first, &["or", "and", "xor", "like"])
        }
    };
    if !starts {
        return None;
    }
    let fp = build(s, toks, broke.is_some());
    let f = fp.s();
    let at = |k: usize| toks.get(fp.idx[k]).map_or(broke.unwrap_or(0), |t| t.start);
    // `1; COPY (SELECT '') TO PROGRAM 'id'`: PostgreSQL's COPY running a shell command.
    if let Some(j) = f.windows(2).position(|w| w == b";n")
        && is_w(s, &toks[fp.idx[j + 1]], &["copy"])
        && crate::text::find_word(s, "program").is_some()
    {
        return Some(Hit::deny(
            "sqli.fingerprint",
            at(j + 1),
            "stacked COPY ... PROGRAM",
        ));
    }
    if let Some(q) = broke {
        // `x'='x`, `1'='1`, `'='`, `admin' like 'admin`: the closed literal compared with a
        // string that the developer's own closing quote completes. The quote closes a literal
        // (one word comes before it and nothing else: not `x = b'='`) and the other string is
        // a plain word (not a quoted operator such as `'='` or `split('=')`).
        if f.starts_with(b"sos")
            && (f.len() == 3 || matches!(f[3], b'c' | b'&' | b';'))
            && q > 0
            && s[..q]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'@' | b'-'))
            && toks
                .get(fp.idx[1])
                .is_some_and(|t| matches!(word(s, t), "=" | "<>" | "!=" | "==" | "like"))
            && toks.get(fp.idx[2]).is_some_and(|t| {
                let w = &word(s, t)[1..];
                let w = if t.t == T::Str(true) {
                    &w[..w.len() - 1]
                } else {
                    w
                };
                !w.is_empty() && w.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            })
        {
            return Some(Hit::deny(
                "sqli.fingerprint",
                q,
                "quote closed, then a string comparison",
            ));
        }
        // `'||'a'||'`: the literal concatenated with strings (Oracle, PostgreSQL).
        if f.len() >= 3
            && f.len() % 2 == 1
            && f.iter().enumerate().all(|(j, &c)| {
                if j % 2 == 0 {
                    c == b's'
                } else {
                    c == b'&' && word(s, &toks[fp.idx[j]]) == "||"
                }
            })
        {
            return Some(Hit::deny(
                "sqli.fingerprint",
                q,
                "quote closed, then string concatenation",
            ));
        }
        // `' AND (4821)=(4821`, `' AND foo(1)=1`, `' OR NOT 1=2`: a condition after the quote.
        if f.starts_with(b"s&")
            && let Some(p) = condition(s, toks, &fp, 2, true)
        {
            return Some(Hit::deny(
                "sqli.fingerprint",
                at(p),
                "quote closed, then a boolean condition",
            ));
        }
        return None;
    }
    // As-is: a number the query takes, then SQL.
    if f.first() != Some(&b'1') {
        // `(SELECT 1)`, `(select 'a')`, `ORDER BY (SELECT 1)`: a scalar subquery as the whole
        // value or as the sort key.
        let k = usize::from(f.first() == Some(&b'B'));
        if f[k..].starts_with(b"(E")
            && is_w(s, &toks[fp.idx[k + 1]], &["select"])
            && f.get(k + 2)
                .is_some_and(|c| matches!(c, b'1' | b's' | b'v' | b'f'))
            && f.contains(&b')')
        {
            return Some(Hit::deny("sqli.fingerprint", at(k), "scalar subquery"));
        }
        return None;
    }
    let mut k = 1;
    while f.get(k) == Some(&b')') {
        k += 1;
    }
    let rest = &f[k..];
    // `1 ORDER BY 3`, `1) GROUP BY 1,2-- -`: column-count probing.
    if rest.first() == Some(&b'B')
        && !fp.more
        && match rest.get(1) {
            Some(b'1') => rest[2..].iter().all(|c| matches!(c, b'1' | b',' | b'c')),
            Some(b'n') => rest.len() == 3 && rest[2] == b'c',
            _ => false,
        }
    {
        return Some(Hit::deny(
            "sqli.fingerprint",
            at(k),
            "number, then ORDER/GROUP BY a column",
        ));
    }
    // `1)-- -`, `1))#`: the developer's parentheses closed, the rest commented out.
    if k > 1 && rest == b"c" && !fp.more {
        let c = word(s, &toks[fp.idx[k]]);
        let tail = c.trim_start_matches(['-', '#']);
        if tail
            .bytes()
            .all(|c| matches!(c, b'-' | b'+' | b' ' | b'\t'))
        {
            return Some(Hit::deny(
                "sqli.fingerprint",
                at(k),
                "parenthesis closed, then comment",
            ));
        }
    }
    // `1 OR NOT 4821=4822`, `1 AND (4821)=(4821)`, `1 AND foo(1)=1`.
    if rest.first() == Some(&b'&')
        && let Some(p) = condition(s, toks, &fp, k + 1, false)
    {
        let lit = |c: u8| matches!(c, b'1' | b's');
        let strong = lit(f[p - 1]) && f.get(p + 1).is_some_and(|&c| lit(c));
        return Some(Hit {
            rule: "sqli.fingerprint",
            strong,
            at: at(k),
            msg: "number, then a boolean condition",
        });
    }
    // `1=(SELECT 1)`, `1,(SELECT …)`, `1 AND (SELECT 1)`: a number, then a scalar subquery.
    if rest.len() >= 3
        && matches!(rest[0], b'o' | b',' | b'&')
        && rest[1] == b'('
        && rest[2] == b'E'
        && is_w(s, &toks[fp.idx[k + 2]], &["select"])
        && rest
            .get(3)
            .is_some_and(|c| matches!(c, b'1' | b's' | b'v' | b'f' | b'(' | b'o'))
    {
        return Some(Hit::deny(
            "sqli.fingerprint",
            at(k),
            "number, then subquery",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(v: &str, lead: bool) -> String {
        let l = v.to_ascii_lowercase();
        let toks = tokenize(&l, 0);
        String::from_utf8(build(&l, &toks, lead).s().to_vec()).unwrap()
    }

    #[test]
    fn fingerprints() {
        assert_eq!(fp("1 or not 4821=4822", false), "1&1o1");
        assert_eq!(fp("1 union all select null,version()#", false), "1UEk,f()c");
        assert_eq!(fp("1 order by 3-- -", false), "1B1c");
        assert_eq!(fp("and utl_inaddr.get_host_name(1)=1", true), "s&n(1)o1");
        assert_eq!(fp("-1 and 4821*2=4822", false), "1&1o1");
        assert_eq!(fp("='x", true), "sos");
        assert_eq!(fp("/**/and/**/1=1--", true), "s&1o1c");
    }
}
