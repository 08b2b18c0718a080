//! Rules over one token stream (as-is or after a quote break).

use super::tokenizer::*;
use super::words::*;
use crate::Hit;

pub fn is_operand(s: &str, t: &Tok) -> bool {
    matches!(t.t, T::Num | T::Str(_) | T::Var) || (t.t == T::Word && !is_w(s, t, LOGIC_WORDS))
}

/// Whether the text reads as prose: several plain words that are not SQL, and not buried in
/// the parentheses and commas of an expression (`CONCAT(0x71,(SELECT MID((IFNULL(CAST(…`).
pub fn prose(s: &str, toks: &[Tok]) -> bool {
    let glue = toks
        .iter()
        .filter(|t| matches!(t.t, T::LParen | T::RParen | T::Comma | T::Semi))
        .count();
    let plain = plain_words(s, toks);
    // Many parentheses and commas only outweigh the words when the text has a query's
    // clause words too (code calling `max(…)` is not a query).
    plain >= 3
        && (plain >= glue.div_ceil(2)
            || !toks.iter().any(|t| {
                is_w(
                    s,
                    t,
                    &[
                        "select", "from", "where", "union", "having", "group", "order", "insert",
                        "update",
                    ],
                )
            }))
}

fn plain_words(s: &str, toks: &[Tok]) -> usize {
    toks.iter()
        .filter(|t| t.t == T::Word && t.end - t.start > 2)
        .filter(|t| {
            let w = word(s, t);
            !STMT_VERBS.contains(&w)
                && !LOGIC_WORDS.contains(&w)
                && !SQL_FUNC_SET.contains(w)
                && !matches!(
                    w,
                    "from"
                        | "into"
                        | "table"
                        | "null"
                        | "all"
                        | "not"
                        | "then"
                        | "else"
                        | "case"
                        | "when"
                        | "end"
                        | "limit"
                        | "order"
                        | "group"
                        | "by"
                )
        })
        .count()
}

/// `from` at `i` followed by a table name (`t`, `db.t`, `` `t` ``) and a clause that continues
/// a query: `limit`, `where <col> <cmp>`, `group by` / `order by` `<col>`.
fn from_clause(s: &str, toks: &[Tok], i: usize) -> bool {
    let mut k = i + 1;
    let mut quoted = false;
    // The name: words joined by dots.
    loop {
        let Some(x) = toks.get(k) else { return false };
        if x.t != T::Word {
            return false;
        }
        quoted |= word(s, x).starts_with('`') || word(s, x).contains('_');
        k += 1;
        if toks.get(k).is_some_and(|d| d.t == T::Dot) {
            quoted = true;
            k += 1;
        } else {
            break;
        }
    }
    let Some(c) = toks.get(k) else { return false };
    let after = |m: usize| toks.get(m).map(|x| (x.t, word(s, x)));
    match word(s, c) {
        "limit" => quoted || matches!(after(k + 1), Some((T::Num, _))),
        "where" => {
            matches!(after(k + 1), Some((T::Word, _)))
                && matches!(after(k + 2), Some((T::Cmp | T::LParen, _)))
                || matches!(after(k + 1), Some((T::Word, w)) if SQL_FUNC_SET.contains(w))
        }
        "group" | "order" => {
            matches!(after(k + 1), Some((T::Word, "by")))
                && matches!(after(k + 2), Some((T::Word | T::Num, _)))
        }
        _ => false,
    }
}

/// Rules over one token stream. `broke` = the stream starts right after a quote that closed
/// the developer's string literal.
pub fn rules(s: &str, toks: &[Tok], broke: bool) -> Option<Hit> {
    let n = toks.len();
    // Only a few rules ask, and only once their tokens match: prose rarely gets that far.
    let prose_once = std::cell::OnceCell::new();
    let is_prose = || *prose_once.get_or_init(|| prose(s, toks));
    for i in 0..n {
        let t = &toks[i];
        if t.t == T::Word {
            let w = word(s, t);
            match w {
                "union" => {
                    let mut j = next(toks, i + 1);
                    while let Some(k) = j {
                        if toks[k].t == T::LParen || is_w(s, &toks[k], &["all", "distinct"]) {
                            j = next(toks, k + 1);
                        } else {
                            break;
                        }
                    }
                    if j.is_some_and(|k| is_w(s, &toks[k], &["select", "values"])) {
                        return Some(Hit::deny("sqli.union", t.start, "UNION SELECT"));
                    }
                }
                "select" => {
                    // SELECT ... FROM, or SELECT of a function / column list / star.
                    let lim = (i + 12).min(n);
                    if toks[i + 1..lim].iter().any(|x| is_w(s, x, &["from"])) && !is_prose() {
                        return Some(Hit::deny(
                            "sqli.statement",
                            t.start,
                            "SELECT ... FROM statement",
                        ));
                    }
                    if let Some(k) = next(toks, i + 1) {
                        let x = &toks[k];
                        let fcall = x.t == T::Word
                            && next(toks, k + 1).is_some_and(|m| toks[m].t == T::LParen);
                        // `I tried select * from t where ...` in a forum post: SQL quoted
                        // mid-sentence, not a value that starts an injection.
                        let mid_prose =
                            is_prose() && toks[..i].iter().filter(|t| t.t == T::Word).count() >= 2;
                        if (x.t == T::Op && word(s, x) == "*" && !mid_prose)
                            || x.t == T::Var
                            || x.t == T::LParen
                            || (fcall && !is_prose())
                            || (broke && x.t != T::Word)
                        {
                            return Some(Hit::deny("sqli.statement", t.start, "SELECT expression"));
                        }
                    }
                }
                "insert" | "replace" if i + 1 < n && is_w(s, &toks[i + 1], &["into"]) => {
                    return Some(Hit::deny(
                        "sqli.statement",
                        t.start,
                        "INSERT INTO statement",
                    ));
                }
                "delete" if next(toks, i + 1).is_some_and(|k| is_w(s, &toks[k], &["from"])) => {
                    return Some(Hit::deny(
                        "sqli.statement",
                        t.start,
                        "DELETE FROM statement",
                    ));
                }
                "update"
                    if toks[i + 1..(i + 6).min(n)]
                        .iter()
                        .any(|x| is_w(s, x, &["set"]))
                        && !is_prose() =>
                {
                    return Some(Hit::deny(
                        "sqli.statement",
                        t.start,
                        "UPDATE ... SET statement",
                    ));
                }
                "drop" | "create" | "alter" | "truncate"
                    if next(toks, i + 1).is_some_and(|k| {
                        is_w(
                            s,
                            &toks[k],
                            &[
                                "table",
                                "database",
                                "schema",
                                "user",
                                "procedure",
                                "function",
                                "view",
                                "index",
                                "trigger",
                                "login",
                            ],
                        )
                    }) =>
                {
                    return Some(Hit::deny("sqli.statement", t.start, "DDL statement"));
                }
                // `FROM t WHERE a=`, `FROM `db`.`t` LIMIT`, `FROM t GROUP BY c`: the value
                // starts with the FROM clause of a query.
                "from" if next(toks, 0) == Some(i) && from_clause(s, toks, i) => {
                    return Some(Hit::deny("sqli.statement", t.start, "FROM clause"));
                }
                // `DROP sampletable;--`: a statement verb, one name, then the rest of the
                // developer's query commented out.
                "drop" | "truncate"
                    if next(toks, i + 1).is_some_and(|k| {
                        toks[k].t == T::Word && {
                            let mut m = k + 1;
                            if toks.get(m).is_some_and(|x| x.t == T::Semi) {
                                m += 1;
                            }
                            // `--` then a blank or nothing (`--infodir` is an option).
                            toks.get(m).is_some_and(|x| {
                                x.t == T::Comment
                                    && !word(s, x).strip_prefix("--").is_some_and(|r| {
                                        r.starts_with(|c: char| c.is_ascii_alphanumeric())
                                    })
                            })
                        }
                    }) =>
                {
                    return Some(Hit::deny("sqli.statement", t.start, "DDL statement"));
                }
                "exec" | "execute"
                    if next(toks, i + 1).is_some_and(|k| {
                        let x = &toks[k];
                        x.t == T::LParen
                            || x.t == T::Var
                            || (x.t == T::Word
                                && (word(s, x).starts_with("xp_")
                                    || word(s, x).starts_with("sp_")
                                    || word(s, x) == "master"
                                    || word(s, x) == "immediate"))
                    }) =>
                {
                    return Some(Hit::deny("sqli.statement", t.start, "EXEC statement"));
                }
                "declare" if next(toks, i + 1).is_some_and(|k| toks[k].t == T::Var) => {
                    return Some(Hit::deny("sqli.statement", t.start, "DECLARE statement"));
                }
                "waitfor"
                    if next(toks, i + 1).is_some_and(|k| is_w(s, &toks[k], &["delay", "time"])) =>
                {
                    return Some(Hit::deny("sqli.time", t.start, "WAITFOR DELAY"));
                }
                _ => {}
            }
            // Function calls.
            if let Some(k) = next(toks, i + 1)
                && toks[k].t == T::LParen
            {
                if TIME_FUNCS.contains(&w) {
                    return Some(Hit::deny("sqli.time", t.start, "time-based SQL function"));
                }
                if SQL_FUNC_SET.contains(w) && !is_prose() {
                    // Nested SQL calls or a call after a broken quote are unambiguous.
                    let nested = toks[k + 1..(k + 4).min(n)].iter().any(|x| {
                        x.t == T::Word
                            && (SQL_FUNC_SET.contains(word(s, x)) || word(s, x) == "select")
                    });
                    let strong = broke || nested;
                    return Some(Hit {
                        rule: "sqli.function",
                        strong,
                        at: t.start,
                        msg: "SQL function call",
                    });
                }
            }
        }
        // Tautology: logic operand cmp operand (`or 1=1`, `' or 'a'='a`, `|| 2>1`).
        let logic = (t.t == T::Word && is_w(s, t, &["or", "and", "xor"])) || t.t == T::Logic;
        if logic
            && let Some(a) = next(toks, i + 1)
            && is_operand(s, &toks[a])
        {
            if let Some(c) = next(toks, a + 1) {
                let cmp = toks[c].t == T::Cmp
                    || is_w(
                        s,
                        &toks[c],
                        &["like", "rlike", "regexp", "is", "between", "in", "sounds"],
                    );
                if cmp && let Some(bi) = next(toks, c + 1) {
                    let bt = &toks[bi];
                    if is_operand(s, bt) || bt.t == T::LParen || is_w(s, bt, &["not", "null"]) {
                        let same = word(s, &toks[a]).trim_matches(['\'', '"'])
                            == word(s, bt).trim_matches(['\'', '"']);
                        let numeric = toks[a].t == T::Num && bt.t == T::Num;
                        // `==` is code (`and ch == ':'`) unless the comparison is constant.
                        let code_eq = word(s, &toks[c]).starts_with("==");
                        if broke || same || numeric || (!code_eq && (i == 0 || !is_prose())) {
                            let strong = broke || same || numeric;
                            return Some(Hit {
                                rule: "sqli.tautology",
                                strong,
                                at: t.start,
                                msg: "boolean tautology",
                            });
                        }
                    }
                }
            }
            // `' or true`, `' and 1` right after a broken quote.
            if broke && i == 0 && is_w(s, &toks[a], &["true", "false", "null"]) {
                return Some(Hit::alert(
                    "sqli.tautology",
                    t.start,
                    "boolean condition after quote",
                ));
            }
        }
        // Stacked query: `; <verb> <something>`.
        if t.t == T::Semi
            && let Some(k) = next(toks, i + 1)
            && is_w(s, &toks[k], STMT_VERBS)
            && next(toks, k + 1).is_some()
            && !is_prose()
        {
            return Some(Hit::deny(
                "sqli.stacked",
                toks[k].start,
                "stacked SQL statement",
            ));
        }
    }
    if broke && n > 0 {
        // Comment truncation: `admin'--`, `x')#`.
        let mut k = 0;
        while k < n && toks[k].t == T::RParen {
            k += 1;
        }
        if k < n && toks[k].t == T::Comment {
            return Some(Hit::deny(
                "sqli.comment",
                toks[k].start,
                "quote closed then comment",
            ));
        }
        if k < n
            && toks[k].t == T::Semi
            && next(toks, k + 1).is_some_and(|m| toks[m].t == T::Comment)
        {
            return Some(Hit::deny(
                "sqli.comment",
                toks[k].start,
                "quote closed then comment",
            ));
        }
    }
    None
}
