//! SQL injection: a small SQL tokenizer (in the spirit of libinjection) and rules over the
//! token stream — UNION SELECT, stacked statements, tautologies, comment truncation, time
//! functions, SQL-only identifiers — and libinjection-style fingerprints of the folded token
//! stream ([`fingerprint`]), tried as-is and in the "quote already open" context.

mod extra;
mod fingerprint;
mod rules;
mod tokenizer;
mod words;

use crate::text::FastFind;
use crate::text::{find_any, find_any_word};
use crate::{Ctx, Hit};
use extra::extra;
use rules::rules;
use tokenizer::tokenize;
use words::{SQL_IDENTS, SQL_WORDS};

/// Keywords that an attacker splits with inline comments to slip past word filters.
const SPLIT_KEYWORDS: &[&str] = &[
    "select",
    "union",
    "insert",
    "update",
    "delete",
    "drop",
    "truncate",
    "alter",
    "create",
    "from",
    "where",
    "having",
    "exec",
    "execute",
    "declare",
    "waitfor",
    "delay",
    "sleep",
    "benchmark",
    "concat",
    "information_schema",
    "order",
    "group",
    "limit",
    "values",
    "table",
];

/// `DR/**/OP`, `UN/*x*/ION`, `S/**/EL/**/ECT`: a SQL keyword with comments inside it (MySQL
/// drops them, word filters do not see the word).
fn split_keyword(lower: &str) -> Option<Hit> {
    let b = lower.as_bytes();
    let alnum = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    let mut from = 0;
    while let Some(q) = lower[from..].find("/*") {
        let p = from + q;
        from = p + 2;
        let start = p - b[..p].iter().rev().take_while(|c| alnum(c)).count();
        if start == p {
            continue;
        }
        let mut word = lower[start..p].to_string();
        let mut at = p;
        // Comment, word part, comment, word part, … while they touch.
        while lower[at..].starts_with("/*") && word.len() <= 24 {
            let Some(e) = lower[at + 2..].find("*/") else {
                break;
            };
            let rs = at + 2 + e + 2;
            let re = rs + b[rs..].iter().take_while(|c| alnum(c)).count();
            if re == rs {
                break;
            }
            word.push_str(&lower[rs..re]);
            if SPLIT_KEYWORDS.contains(&word.as_str()) {
                return Some(Hit::deny(
                    "sqli.comment",
                    start,
                    "SQL keyword split by comments",
                ));
            }
            at = re;
        }
    }
    None
}

/// Scan one value.
pub fn scan(_orig: &str, lower: &str, _ctx: Ctx) -> Option<Hit> {
    if lower.len() < 2 {
        return None;
    }
    if let Some(p) = lower.ffind("/*!")
        && lower[p + 3..]
            .starts_with(|c: char| c.is_ascii_digit() || c.is_ascii_alphabetic() || c == ' ')
    {
        return Some(Hit::deny("sqli.comment", p, "MySQL executable comment"));
    }
    if let Some(p) = lower.ffind("/*") {
        let r = lower[p + 2..].trim_start_matches([' ', '\t', '\n']);
        if r.strip_prefix('+')
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphabetic() || c == ' '))
        {
            return Some(Hit::deny("sqli.comment", p, "SQL optimizer hint comment"));
        }
        if let Some(h) = split_keyword(lower) {
            return Some(h);
        }
    }
    if let Some((p, _)) = find_any(lower, SQL_IDENTS) {
        return Some(Hit::deny("sqli.keyword", p, "SQL schema/system identifier"));
    }
    if let Some((p, _)) = find_any_word(lower, SQL_WORDS) {
        return Some(Hit::deny(
            "sqli.keyword",
            p,
            "SQL Server / database object name",
        ));
    }
    // Typographic quotes act as quotes for lenient collations and sloppy escaping.
    let norm;
    // (Their UTF-8 encodings start with 0xE2 or 0xC2: most text has neither byte.)
    let lower = if crate::grams::has_any_byte(lower, &[0xe2, 0xc2])
        && lower.contains(['\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{b4}'])
    {
        norm = lower
            .replace(['\u{2018}', '\u{2019}', '\u{b4}'], "'")
            .replace(['\u{201c}', '\u{201d}'], "\"");
        norm.as_str()
    } else {
        lower
    };
    let toks = tokenize(lower, 0);
    if let Some(h) = rules(lower, &toks, false)
        .or_else(|| extra(lower, &toks, None))
        .or_else(|| fingerprint::check(lower, &toks, None))
    {
        return Some(h);
    }
    // Quote-break contexts (as libinjection's): the value closes a string literal the query
    // opened with `'`, `"` or a backtick.
    let mut breaks: Vec<(char, usize)> = Vec::new();
    for qc in ['\'', '"', '`'] {
        if !crate::grams::has_any_byte(lower, &[qc as u8]) {
            continue;
        }
        let Some(q) = lower.find(qc) else { continue };
        breaks.push((qc, q));
        // `foo\''or'1`: the first quote is escaped; the one right after it closes the literal.
        if q > 0 && lower.as_bytes()[q - 1] == b'\\' && lower[q + 1..].starts_with(qc) {
            breaks.push((qc, q + 1));
        }
    }
    for (qc, q) in breaks {
        // A balanced quote opened after a space before a letter quotes text (markdown
        // `code`, 'words'); it does not close the developer's literal.
        let b = lower.as_bytes();
        if q > 0
            && b[q - 1] == b' '
            && b.get(q + 1).is_some_and(|c| c.is_ascii_alphabetic())
            && lower.matches(qc).count() % 2 == 0
        {
            continue;
        }
        let toks = tokenize(lower, q + 1);
        if let Some(mut h) = rules(lower, &toks, true)
            .or_else(|| extra(lower, &toks, Some(q)))
            .or_else(|| fingerprint::check(lower, &toks, Some(q)))
        {
            h.strong = h.strong || h.rule != "sqli.function";
            return Some(h);
        }
    }
    if let Some((p, _)) = find_any_word(
        lower,
        &[
            "$where",
            "$ne",
            "$eq",
            "$gt",
            "$gte",
            "$lt",
            "$lte",
            "$in",
            "$regex",
            "$nin",
            "$not",
            "$nor",
            "$and",
            "$or",
            "$exists",
            "$type",
            "$text",
            "$expr",
            "$elemmatch",
            "$lookup",
            "$function",
            "$accumulator",
            "$jsonschema",
            "$mod",
            "$size",
            "$all",
        ],
    ) && (lower.trim().starts_with('$') || lower.fcontains("[$"))
    {
        return Some(Hit::alert("sqli.nosql", p, "NoSQL query operator"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(s: &str) -> Option<Hit> {
        crate::scan_query_value(scan, s)
    }

    #[test]
    fn attacks() {
        for a in [
            "1 UNION ALL SELECT null,version()--",
            "' or '1'='1",
            "1 or 1=1",
            "admin'--",
            "1; drop table users",
            "1 and sleep(5)",
            "x' and (select*from(select(sleep(12)))a)--",
            "1 union/**/select 1",
            "' waitfor delay '0:0:5'--",
            "select * from users where id=1",
            "x' or 'a'='a",
            "1' and 1=1--",
            "password::int",
            "admin@example.com';",
            "user'collate nocase--",
            "') as cc FROM",
            "' union select",
            "DROP sampletable;--",
            "or 4975==4975'",
            "' || 1===1",
            "from `db_miwf`.`sys_refindex` limit",
            "FROM termine GROUP BY tag1&sql_delimit",
            "FROM ack_variable WHERE name=\"cron_last\";",
            "DR/**/OP/*bypass deny listing*/sampletable",
            "1 un/**/ion sel/*x*/ect 1",
            "9999 or /* +optimizer hint */ true",
            "x' or email~all(array[email]);analyze--",
            "1 GROUP BY CONCAT(0x716a787671,(SELECT MID((IFNULL(CAST(a_1_18 AS CHAR),0x20)),1,54) FROM db_x.t ORDER BY id LIMIT 571,1),0x7178716b71,FLOOR(RAND(0)*2)) HAVING MIN(",
        ] {
            assert!(hit(a).is_some(), "{a}");
        }
    }

    #[test]
    fn benign() {
        for b in [
            "It is highly unlikely this is going to be a false positive",
            "bob's or alice's",
            "I like you!",
            "having fun",
            "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:47.0) Gecko/20100101 Firefox/47.0",
            "address=999, rue d'Arlon",
            "mother or daughter",
            "Die \"Union von Europa\"",
            "order of the day",
            "O'Brien; Smith",
            "when ready then go",
            "such as Paris from London",
            "drop it; we will talk later",
            "from london where it rains",
            "from home, limit 5 per day",
            "From the team: order by friday",
            "from my desk",
            "a == b or c",
            "Drop unnecessary --infodir configure option.",
            "t5319: drop useless --buffer from cat-file",
            "elif double and ch == '\\\\':",
            "Drop me a line -- thanks",
            "see /* note */ below",
            "the price (approx.) is 5, (or 6), maybe",
            "a/*b*/c",
            "~/projects and ~user",
            "char in[] = \\\"a\\\";",
            "base = max(base, max(versions_dict.values()))",
            "f.write(buffer.getvalue().replace(b\"x\", b\"y\"))",
        ] {
            assert!(hit(b).is_none(), "{b}: {:?}", hit(b));
        }
    }
}
