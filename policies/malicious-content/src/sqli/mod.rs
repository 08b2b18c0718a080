//! SQL injection: a small SQL tokenizer (in the spirit of libinjection) and rules over the
//! token stream — UNION SELECT, stacked statements, tautologies, comment truncation, time
//! functions, SQL-only identifiers — tried as-is and in the "quote already open" context.

mod extra;
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
    if let Some(p) = lower.ffind("/*+")
        && lower[p + 3..].starts_with(|c: char| c.is_ascii_alphabetic() || c == ' ')
    {
        return Some(Hit::deny("sqli.comment", p, "SQL optimizer hint comment"));
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
    let lower = if lower.contains(['\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{b4}']) {
        norm = lower
            .replace(['\u{2018}', '\u{2019}', '\u{b4}'], "'")
            .replace(['\u{201c}', '\u{201d}'], "\"");
        norm.as_str()
    } else {
        lower
    };
    let toks = tokenize(lower, 0);
    if let Some(h) = rules(lower, &toks, false).or_else(|| extra(lower, &toks, None)) {
        return Some(h);
    }
    // Quote-break contexts (as libinjection's): the value closes a string literal the query
    // opened with `'`, `"` or a backtick.
    for qc in ['\'', '"', '`'] {
        let Some(q) = lower.find(qc) else { continue };
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
        if let Some(mut h) = rules(lower, &toks, true).or_else(|| extra(lower, &toks, Some(q))) {
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
        ] {
            assert!(hit(b).is_none(), "{b}: {:?}", hit(b));
        }
    }
}
