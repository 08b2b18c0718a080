//! Token-sequence fingerprints that complement [`super::rules`]: PostgreSQL casts and JSON
//! operators, bare comparisons that are always true, SQL operators standing alone, aliases
//! (`) AS x FROM`), and the short shapes libinjection flags right after a quote break
//! (`';`, `'or'a`, `x'|email--`, `'union a`).

use super::tokenizer::*;
use crate::Hit;
use crate::text::FastFind;

/// PostgreSQL type names seen after `::` in casts.
const PG_TYPES: &[&str] = &[
    "bigint",
    "bit",
    "bool",
    "boolean",
    "box",
    "bytea",
    "char",
    "cidr",
    "circle",
    "date",
    "decimal",
    "double",
    "float",
    "float4",
    "float8",
    "inet",
    "int",
    "int2",
    "int4",
    "int8",
    "integer",
    "interval",
    "json",
    "jsonb",
    "jsonpath",
    "line",
    "lseg",
    "macaddr",
    "money",
    "name",
    "numeric",
    "oid",
    "path",
    "point",
    "polygon",
    "real",
    "regclass",
    "regproc",
    "regtype",
    "smallint",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "tsquery",
    "tsvector",
    "uuid",
    "varbit",
    "varchar",
    "xml",
];

/// Words that only appear as SQL operators or clauses.
const OP_WORDS: &[&str] = &[
    "rlike", "regexp", "xor", "notnull", "isnull", "glob", "collate", "similar", "sounds", "ilike",
];

/// Keywords that make a short token run after a quote break read as SQL.
const CLAUSE_WORDS: &[&str] = &[
    "or",
    "and",
    "xor",
    "not",
    "is",
    "like",
    "ilike",
    "rlike",
    "regexp",
    "glob",
    "collate",
    "notnull",
    "isnull",
    "mod",
    "div",
    "in",
    "between",
    "sounds",
    "similar",
    "escape",
    "having",
    "where",
    "order",
    "group",
    "limit",
    "union",
    "select",
    "null",
    "all",
    "any",
    "some",
    "exists",
    "case",
    "when",
    "then",
    "procedure",
    "into",
    "from",
];

/// Statement keywords that may directly follow a quote break.
const BREAK_VERBS: &[&str] = &[
    "union",
    "select",
    "alter",
    "drop",
    "insert",
    "delete",
    "update",
    "exec",
    "execute",
    "declare",
    "create",
    "truncate",
    "shutdown",
    "waitfor",
    "grant",
    "revoke",
    "except",
    "intersect",
    "having",
    "order",
    "group",
];

fn meaningful(toks: &[Tok]) -> Vec<Tok> {
    toks.iter().copied().filter(|t| t.t != T::Comment).collect()
}

fn num(s: &str, t: &Tok) -> Option<f64> {
    if t.t != T::Num {
        return None;
    }
    word(s, t).parse().ok()
}

/// Comparison starting at `i`: `=`, `<=>`, `!=`, `like`, `not regexp`, `is not`, ...
/// Returns (index after the operator, operator text of the last token).
fn comparison<'a>(s: &'a str, m: &[Tok], i: usize) -> Option<(usize, &'a str)> {
    let mut k = i;
    if k < m.len() && is_w(s, &m[k], &["not"]) {
        k += 1;
    }
    let t = m.get(k)?;
    let op = word(s, t);
    let ok = t.t == T::Cmp
        || is_w(
            s,
            t,
            &["like", "rlike", "regexp", "glob", "is", "ilike", "similar"],
        );
    if !ok {
        return None;
    }
    k += 1;
    if op == "is" && k < m.len() && is_w(s, &m[k], &["not"]) {
        k += 1;
    }
    if op == "similar" && k < m.len() && is_w(s, &m[k], &["to"]) {
        k += 1;
    }
    Some((k, op))
}

/// `1=1`, `42 like 42`, `'a'='a'`, `11!=1`, `1 is not 2`: a comparison between literals
/// that is always true (or of identical operands).
fn literal_tautology(s: &str, m: &[Tok]) -> Option<Hit> {
    for i in 0..m.len() {
        let a = &m[i];
        if !matches!(a.t, T::Num | T::Str(_)) {
            continue;
        }
        let prev_ok = i == 0
            || matches!(m[i - 1].t, T::Comma | T::LParen | T::Logic)
            || is_w(
                s,
                &m[i - 1],
                &["or", "and", "xor", "where", "having", "when"],
            );
        if !prev_ok {
            continue;
        }
        let Some((k, op)) = comparison(s, m, i + 1) else {
            continue;
        };
        let Some(b) = m.get(k) else { continue };
        if !matches!(b.t, T::Num | T::Str(_)) {
            continue;
        }
        let end_ok = k + 1 == m.len()
            || matches!(m[k + 1].t, T::RParen | T::Semi | T::Logic)
            || is_w(s, &m[k + 1], &["or", "and", "xor"]);
        if !end_ok {
            continue;
        }
        let ta = word(s, a).trim_matches(['\'', '"']);
        let tb = word(s, b).trim_matches(['\'', '"']);
        let negated = op == "is" && k >= 2 && is_w(s, &m[k - 1], &["not"])
            || op == "!="
            || op == "<>"
            || (i + 1 < m.len() && is_w(s, &m[i + 1], &["not"]));
        let truth = match (num(s, a), num(s, b)) {
            (Some(x), Some(y)) => match op {
                "=" | "==" | "<=>" | "like" | "glob" | "regexp" | "rlike" | "is" => {
                    (x == y) != negated
                }
                "!=" | "<>" => x != y,
                "<" => x < y,
                ">" => x > y,
                "<=" => x <= y,
                ">=" => x >= y,
                _ => false,
            },
            _ => (ta == tb) != negated && !ta.is_empty(),
        };
        // A lone `5>3` is arithmetic trivia; equality of identical literals or a
        // negated/regexp comparison is the tautology idiom.
        let idiom = ta == tb || negated || !matches!(op, "<" | ">" | "<=" | ">=");
        if truth && idiom {
            let strong = i > 0 && m[i - 1].t != T::Comma;
            return Some(Hit {
                rule: "sqli.tautology",
                strong,
                at: a.start,
                msg: "always-true comparison of literals",
            });
        }
    }
    None
}

/// A value that is nothing but an SQL operator: `RLIKE`, `<=>`, `IS NULL`, `IN (1,2)`.
fn lone_operator(s: &str, m: &[Tok]) -> Option<Hit> {
    let first = m.first()?;
    let hit = Hit::alert("sqli.operator", first.start, "bare SQL operator");
    match m.len() {
        1 if is_w(s, first, OP_WORDS) || (first.t == T::Cmp && word(s, first) == "<=>") => {
            return Some(hit);
        }
        2 | 3
            if is_w(s, first, &["is", "like", "not"])
                && is_w(s, &m[m.len() - 1], &["null", "notnull"]) =>
        {
            return Some(hit);
        }
        _ => {}
    }
    if is_w(s, first, &["in", "not"]) {
        let mut k = 1;
        if is_w(s, first, &["not"]) && k < m.len() && is_w(s, &m[k], &["in"]) {
            k += 1;
        }
        if m.get(k).is_some_and(|t| t.t == T::LParen) {
            let mut j = k + 1;
            let mut items = 0;
            while j < m.len() {
                match m[j].t {
                    T::Num | T::Str(true) => items += 1,
                    T::Comma | T::Op => {}
                    T::Word if items > 0 || j + 1 < m.len() => items += 1,
                    T::RParen => break,
                    _ => return None,
                }
                j += 1;
            }
            if items > 0 && (j >= m.len() || j + 1 == m.len()) {
                return Some(hit);
            }
        }
    }
    None
}

/// `) AS alias FROM`, `` ` AS `x` from ``, `1234 AS "foo" FROM t`.
fn alias_from(s: &str, m: &[Tok]) -> Option<Hit> {
    for i in 0..m.len().saturating_sub(2) {
        if !is_w(s, &m[i], &["as"]) || !is_w(s, &m[i + 2], &["from"]) {
            continue;
        }
        let alias = &m[i + 1];
        let quoted = matches!(alias.t, T::Str(_)) || word(s, alias).starts_with('`');
        let prev_sql = i == 0
            || matches!(m[i - 1].t, T::RParen | T::Num | T::Str(_) | T::Semi)
            || word(s, &m[i - 1]).starts_with('`')
            || word(s, &m[i - 1]) == "*";
        if (quoted || alias.t == T::Word) && prev_sql {
            return Some(Hit::deny(
                "sqli.statement",
                m[i].start,
                "column alias ... FROM",
            ));
        }
    }
    None
}

/// Shapes right after a quote break.
fn after_break(s: &str, m: &[Tok], q: usize) -> Option<Hit> {
    let mut k = 0;
    while k < m.len()
        && (m[k].t == T::RParen || m[k].t == T::Str(true) && m[k].end - m[k].start == 2)
    {
        k += 1;
    }
    let first = m.get(k)?;
    if first.t == T::Semi {
        return Some(Hit::deny(
            "sqli.stacked",
            first.start,
            "quote closed then statement end",
        ));
    }
    // A quote after a space and before a letter opens prose (`Die "Union von`).
    let b = s.as_bytes();
    let opening =
        q > 0 && b[q - 1] == b' ' && b.get(q + 1).is_some_and(|c| c.is_ascii_alphabetic());
    if is_w(s, first, BREAK_VERBS) && !s[first.end..].starts_with(['\'', '"', '`']) && !opening {
        return Some(Hit::deny(
            "sqli.statement",
            first.start,
            "quote closed then SQL keyword",
        ));
    }
    // `'or'a`, `' or 1`, `\'and`, `' or abc!`: a boolean operator right after the quote.
    let logic = is_w(
        s,
        first,
        &["or", "and", "xor", "div", "like", "rlike", "regexp"],
    ) || first.t == T::Logic;
    if logic {
        let rest = &m[k + 1..];
        let short = rest.len() <= 3
            && rest.iter().all(|t| {
                matches!(
                    t.t,
                    T::Num | T::Str(_) | T::Word | T::Var | T::Cmp | T::Op | T::Other | T::LParen
                )
            });
        let bare = rest.is_empty() || s[first.end..].trim().is_empty();
        // Words with a second quoted run and no operator between them are prose (`the
        // students' and teachers' rooms`, `aisle 5' or aisle 6'`), not an expression.
        let operator = rest
            .iter()
            .skip(1)
            .any(|t| !matches!(t.t, T::Word | T::Num | T::Str(_)));
        let quoted = rest.iter().any(|t| matches!(t.t, T::Str(_)));
        if short
            && (bare || !matches!(rest[0].t, T::Word) || (rest.len() >= 2 && (operator || !quoted)))
        {
            return Some(Hit::deny(
                "sqli.tautology",
                first.start,
                "quote closed then boolean operator",
            ));
        }
    }
    None
}

/// `x'|email--`, `user'collate nocase--`, `'or(id glob 1)--`: a short SQL-ish run between
/// the quote break and a trailing comment or `;`.
fn comment_tail(s: &str, toks: &[Tok]) -> Option<Hit> {
    let last = toks.iter().rposition(|t| !matches!(t.t, T::Comment))?;
    let ends_comment = last + 1 < toks.len();
    let ends_semi = toks[last].t == T::Semi;
    if !(ends_comment || ends_semi) {
        return None;
    }
    let body = &toks[..if ends_semi { last } else { last + 1 }];
    if body.is_empty() || body.len() > 10 {
        return None;
    }
    let sqlish = body.iter().any(|t| {
        matches!(t.t, T::Op | T::Cmp | T::Logic | T::LParen | T::Cast) || is_w(s, t, CLAUSE_WORDS)
    });
    sqlish.then(|| Hit::deny("sqli.comment", body[0].start, "quote break, SQL, comment"))
}

/// Values that are exactly a well-known integer/float overflow probe.
const MAGIC_NUMBERS: &[&str] = &[
    "4294967295",
    "4294967296",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "2.2250738585072007e-308",
    "2.2250738585072011e-308",
    "1e309",
];

/// Clause shapes outside a quote break.
fn shapes(s: &str, m: &[Tok]) -> Option<Hit> {
    let first = m.first()?;
    if MAGIC_NUMBERS.contains(&s.trim()) {
        return Some(Hit::alert("sqli.operator", 0, "numeric overflow probe"));
    }
    // `|| langCode == '`, `&&(l=!0)`, `AND (name = "`, `HAVING 1=`: a chained condition.
    if is_w(s, first, &["or", "and", "xor", "having", "where"]) || first.t == T::Logic {
        let mut k = 1;
        if m.get(k).is_some_and(|t| t.t == T::LParen) {
            k += 1;
        }
        if m.get(k)
            .is_some_and(|t| matches!(t.t, T::Word | T::Num | T::Str(_) | T::Var))
            && m.get(k + 1).is_some_and(|t| t.t == T::Cmp)
            && m.len() <= k + 4
        {
            return Some(Hit::alert(
                "sqli.tautology",
                first.start,
                "chained boolean condition",
            ));
        }
    }
    for i in 0..m.len() {
        let t = &m[i];
        // `SET @var`: server variable assignment.
        if is_w(s, t, &["set"]) && m.get(i + 1).is_some_and(|x| x.t == T::Var) {
            return Some(Hit::deny("sqli.statement", t.start, "SET @variable"));
        }
        // `; drop` at the end of a value.
        if t.t == T::Semi
            && i + 2 == m.len()
            && is_w(
                s,
                &m[i + 1],
                &["drop", "alter", "truncate", "delete", "insert", "shutdown"],
            )
        {
            return Some(Hit::alert("sqli.stacked", t.start, "stacked SQL keyword"));
        }
        // `CASE WHEN x THEN`, `) when 234 then`.
        if is_w(s, t, &["when"])
            && i > 0
            && (is_w(s, &m[i - 1], &["case"]) || m[i - 1].t == T::RParen)
            && m[i + 1..(i + 5).min(m.len())]
                .iter()
                .any(|x| is_w(s, x, &["then"]))
        {
            return Some(Hit::deny("sqli.statement", t.start, "CASE WHEN ... THEN"));
        }
        // `) like (`.
        if is_w(s, t, &["like", "rlike", "regexp"])
            && i > 0
            && m[i - 1].t == T::RParen
            && m.get(i + 1).is_some_and(|x| x.t == T::LParen)
        {
            return Some(Hit::alert("sqli.operator", t.start, "parenthesised LIKE"));
        }
        // `name LIKE '` left open.
        if is_w(s, t, &["like"]) && i + 2 == m.len() && m[i + 1].t == T::Str(false) && i > 0 {
            return Some(Hit::alert("sqli.operator", t.start, "open LIKE pattern"));
        }
    }
    // `DROP/*x*/table`: an inline comment standing in for whitespace after a verb.
    let toks_full = m; // comments are dropped from `m`; check the raw text.
    let _ = toks_full;
    for verb in [
        "drop", "select", "union", "insert", "delete", "update", "alter",
    ] {
        if let Some(p) = crate::text::find_word(s, verb)
            && s[p + verb.len()..].starts_with("/*")
        {
            return Some(Hit::deny("sqli.comment", p, "comment used as whitespace"));
        }
    }
    if m.len() == 2 && is_w(s, first, &["order", "group"]) && is_w(s, &m[1], &["by"]) {
        return Some(Hit::alert(
            "sqli.operator",
            first.start,
            "bare ORDER/GROUP BY",
        ));
    }
    None
}

/// Extra token rules; `broke` = offset of the quote the stream starts after.
pub fn extra(s: &str, toks: &[Tok], broke: Option<usize>) -> Option<Hit> {
    let m = meaningful(toks);
    for (i, t) in m.iter().enumerate() {
        if t.t == T::Cast && m.get(i + 1).is_some_and(|x| is_w(s, x, PG_TYPES)) {
            return Some(Hit::deny("sqli.cast", t.start, "PostgreSQL type cast"));
        }
        if is_w(s, t, &["except", "intersect", "minus"])
            && m.get(i + 1).is_some_and(|x| is_w(s, x, &["select"]))
        {
            return Some(Hit::deny("sqli.union", t.start, "set operator SELECT"));
        }
        if is_w(s, t, &["select"])
            && m.get(i + 1)
                .is_some_and(|x| x.t == T::Num && word(s, x).starts_with("0x"))
        {
            return Some(Hit::deny(
                "sqli.statement",
                t.start,
                "SELECT of a hex literal",
            ));
        }
        // MySQL `1.e(` / `1.e.tables` scientific-notation keyword splitting.
        if t.t == T::Num {
            let w = word(s, t);
            if let Some(p) = w.ffind(".e")
                && w[..p].bytes().all(|c| c.is_ascii_digit())
                && !w[p + 2..].starts_with(|c: char| c.is_ascii_digit())
                && (w.len() > p + 2 || m.get(i + 1).is_some_and(|x| x.t == T::LParen))
            {
                return Some(Hit::deny("sqli.keyword", t.start, "numeric keyword split"));
            }
        }
        // PostgreSQL JSON operators between a string and an operand, after a boolean.
        if t.t == T::Cmp
            && matches!(
                word(s, t),
                "->" | "->>" | "#>" | "#>>" | "#-" | "@>" | "<@" | "?" | "?|" | "?&" | "@?" | "@@"
            )
            && i > 0
            && matches!(m[i - 1].t, T::Str(_) | T::Word)
            && m.get(i + 1)
                .is_some_and(|x| matches!(x.t, T::Str(_) | T::Num | T::Word))
            && m.iter().any(|x| {
                matches!(x.t, T::Cast | T::Logic) || is_w(s, x, &["or", "and", "array", "select"])
            })
        {
            return Some(Hit::deny(
                "sqli.operator",
                t.start,
                "PostgreSQL JSON operator",
            ));
        }
    }
    if let Some(h) = alias_from(s, &m) {
        return Some(h);
    }
    let Some(q) = broke else {
        if let Some(h) = literal_tautology(s, &m) {
            return Some(h);
        }
        if let Some(h) = lone_operator(s, &m) {
            return Some(h);
        }
        if let Some(h) = shapes(s, &m) {
            return Some(h);
        }
        // Leading boolean operator with a literal operand: `or 88`, `xor 5>`, `OR 1#`.
        if let Some(first) = m.first()
            && (is_w(s, first, &["or", "xor", "and"]) || first.t == T::Logic)
            && let Some(a) = m.get(1)
            && matches!(a.t, T::Num | T::Str(_) | T::Var)
            && m.len() <= 4
            && m[2..]
                .iter()
                .all(|x| matches!(x.t, T::Cmp | T::Op | T::Other))
        {
            return Some(Hit::alert(
                "sqli.tautology",
                first.start,
                "leading boolean operator",
            ));
        }
        return None;
    };
    if let Some(h) = after_break(s, &m, q) {
        return Some(h);
    }
    comment_tail(s, toks)
}
