//! SQL injection: a small SQL tokenizer (in the spirit of libinjection) and rules over the
//! token stream — UNION SELECT, stacked statements, tautologies, comment truncation, time
//! functions, SQL-only identifiers — tried as-is and in the "quote already open" context.

use crate::text::{find_any, find_any_word};
use crate::{Ctx, Hit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
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
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    t: T,
    start: usize,
    end: usize,
}

const MAX_TOKENS: usize = 4096;

fn tokenize(s: &str, start: usize) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
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
                T::Num
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                T::Comment
            }
            b'#' => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                T::Comment
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = s[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
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
                i += 1;
                T::Cmp
            }
            b'<' | b'>' | b'!' => {
                i += 1;
                if matches!(b.get(i), Some(b'=' | b'>' | b'<')) {
                    i += 1;
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
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'~' | b':' => {
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
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
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

const LOGIC_WORDS: &[&str] = &[
    "or", "and", "xor", "div", "having", "where", "rlike", "like", "regexp",
];
const STMT_VERBS: &[&str] = &[
    "select", "insert", "update", "delete", "drop", "create", "alter", "truncate", "exec",
    "execute", "declare", "shutdown", "waitfor", "grant", "revoke", "rename", "merge", "call",
    "set", "load", "handler", "replace", "union",
];
const TIME_FUNCS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "randomblob",
    "receive_message",
    "dbms_lock",
];
/// Functions that exist in SQL dialects and rarely as English followed by `(`.
const SQL_FUNCS: &[&str] = &[
    "concat",
    "concat_ws",
    "group_concat",
    "char",
    "chr",
    "ascii",
    "substring",
    "substr",
    "mid",
    "ord",
    "hex",
    "unhex",
    "cast",
    "convert",
    "extractvalue",
    "updatexml",
    "load_file",
    "version",
    "database",
    "schema",
    "current_user",
    "system_user",
    "session_user",
    "user",
    "md5",
    "sha1",
    "sha2",
    "ifnull",
    "isnull",
    "nullif",
    "coalesce",
    "count",
    "floor",
    "ceil",
    "rand",
    "left",
    "right",
    "length",
    "char_length",
    "lower",
    "upper",
    "lcase",
    "ucase",
    "json_extract",
    "json_keys",
    "xmltype",
    "nvl",
    "iif",
    "instr",
    "locate",
    "position",
    "strcmp",
    "make_set",
    "elt",
    "exp",
    "pow",
    "sqrt",
    "abs",
    "conv",
    "bin",
    "oct",
    "minute",
    "hour",
    "year",
    "now",
    "sysdate",
    "current_date",
    "values",
    "default",
    "if",
    "row",
    "name_const",
    "geometrycollection",
    "polygon",
    "multipoint",
    "linestring",
    "procedure",
    "utl_inaddr",
    "utl_http",
    "dbms_xmlgen",
    "to_char",
    "to_number",
    "string_agg",
    "array_agg",
    "xmlagg",
    "txid_current",
    "lo_import",
    "lo_export",
    "dblink",
    "openrowset",
    "opendatasource",
    "db_name",
    "user_name",
    "host_name",
    "object_id",
    "is_srvrolemember",
    "char_length",
    "bit_length",
    "octet_length",
    "soundex",
    "difference",
    "quotename",
    "replicate",
    "space",
    "stuff",
    "reverse",
    "trim",
    "ltrim",
    "rtrim",
    "lpad",
    "rpad",
    "repeat",
    "field",
    "find_in_set",
    "export_set",
    "inet_aton",
    "uuid",
    "last_insert_id",
    "row_count",
    "found_rows",
    "connection_id",
    "charset",
    "collation",
    "coercibility",
    "get_lock",
    "release_lock",
    "is_free_lock",
    "master_pos_wait",
    "encode",
    "decode",
    "compress",
    "uncompress",
    "aes_encrypt",
    "aes_decrypt",
    "des_encrypt",
    "encrypt",
    "password",
    "old_password",
    "crc32",
    "sha",
    "pg_read_file",
    "pg_ls_dir",
    "current_setting",
    "query_to_xml",
    "dbms_pipe",
    "dbms_utility",
    "ctxsys",
    "randomblob",
    "sqlite_version",
    "load_extension",
    "typeof",
    "unicode",
    "zeroblob",
    "printf",
    "julianday",
    "date",
    "time",
    "format",
    "month",
    "day",
    "week",
    "timestamp",
    "json_valid",
    "json_object",
    "json_array",
    "regexp_like",
    "regexp_substr",
    "likelihood",
    "unlikely",
    "group_by",
    "pg_read_binary_file",
    "exists",
];
/// Identifiers that only mean something to a database.
const SQL_IDENTS: &[&str] = &[
    "information_schema",
    "sysobjects",
    "syscolumns",
    "sysdatabases",
    "sysusers",
    "pg_catalog",
    "pg_shadow",
    "pg_user",
    "pg_tables",
    "mysql.user",
    "sqlite_master",
    "sqlite_schema",
    "xp_cmdshell",
    "sp_executesql",
    "sp_oacreate",
    "sp_makewebtask",
    "xp_regread",
    "xp_dirtree",
    "schema_name",
    "table_name",
    "column_name",
    "table_schema",
    "all_tables",
    "user_tables",
    "dba_users",
    "msysaccessobjects",
    "msysobjects",
    "sys.tables",
    "master..",
    "@@version",
    "@@datadir",
    "@@hostname",
    "@@servername",
    "into outfile",
    "into dumpfile",
    "nvarchar",
    "varchar(",
    "dbms_",
    "utl_http",
    "sys.all_",
    "v$version",
    "pg_sleep",
    "waitfor delay",
    "waitfor time",
    "procedure analyse",
    "sys.user",
    "mysql.db",
    "current_database",
];

fn word<'a>(s: &'a str, t: &Tok) -> &'a str {
    &s[t.start..t.end]
}

fn is_w(s: &str, t: &Tok, ws: &[&str]) -> bool {
    t.t == T::Word && ws.contains(&word(s, t))
}

/// Next meaningful token index at or after `i` (comments skipped).
fn next(toks: &[Tok], mut i: usize) -> Option<usize> {
    while i < toks.len() {
        if toks[i].t != T::Comment {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn is_operand(s: &str, t: &Tok) -> bool {
    matches!(t.t, T::Num | T::Str(_) | T::Var) || (t.t == T::Word && !is_w(s, t, LOGIC_WORDS))
}

/// Whether the text reads as prose: several plain words that are not SQL.
fn prose(s: &str, toks: &[Tok]) -> bool {
    let plain = toks
        .iter()
        .filter(|t| t.t == T::Word && t.end - t.start > 2)
        .filter(|t| {
            let w = word(s, t);
            !STMT_VERBS.contains(&w)
                && !LOGIC_WORDS.contains(&w)
                && !SQL_FUNCS.contains(&w)
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
        .count();
    plain >= 3
}

/// Rules over one token stream. `broke` = the stream starts right after a quote that closed
/// the developer's string literal.
fn rules(s: &str, toks: &[Tok], broke: bool) -> Option<Hit> {
    let n = toks.len();
    let is_prose = prose(s, toks);
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
                    if toks[i + 1..lim].iter().any(|x| is_w(s, x, &["from"])) && !is_prose {
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
                        if (x.t == T::Op && word(s, x) == "*")
                            || x.t == T::Var
                            || x.t == T::LParen
                            || (fcall && !is_prose)
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
                        && !is_prose =>
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
                if SQL_FUNCS.contains(&w) && !is_prose {
                    // Nested SQL calls or a call after a broken quote are unambiguous.
                    let nested = toks[k + 1..(k + 4).min(n)].iter().any(|x| {
                        x.t == T::Word
                            && (SQL_FUNCS.contains(&word(s, x)) || word(s, x) == "select")
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
                        if broke || same || numeric || i == 0 || !is_prose {
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
            && !is_prose
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

/// Scan one value.
pub fn scan(_orig: &str, lower: &str, _ctx: Ctx) -> Option<Hit> {
    if lower.len() < 2 {
        return None;
    }
    if let Some(p) = lower.find("/*!")
        && lower[p + 3..]
            .starts_with(|c: char| c.is_ascii_digit() || c.is_ascii_alphabetic() || c == ' ')
    {
        return Some(Hit::deny("sqli.comment", p, "MySQL executable comment"));
    }
    if let Some((p, _)) = find_any(lower, SQL_IDENTS) {
        return Some(Hit::deny("sqli.keyword", p, "SQL schema/system identifier"));
    }
    // Typographic quotes act as quotes for lenient collations and sloppy escaping.
    let norm;
    let lower = if lower.contains(['\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}']) {
        norm = lower
            .replace(['\u{2018}', '\u{2019}'], "'")
            .replace(['\u{201c}', '\u{201d}'], "\"");
        norm.as_str()
    } else {
        lower
    };
    let toks = tokenize(lower, 0);
    if let Some(h) = rules(lower, &toks, false) {
        return Some(h);
    }
    // Quote-break context: the value closes a string literal the query opened.
    if let Some(q) = lower.find(['\'', '"']) {
        let toks = tokenize(lower, q + 1);
        if let Some(mut h) = rules(lower, &toks, true) {
            h.strong = h.strong || h.rule != "sqli.function";
            return Some(h);
        }
    }
    if let Some((p, _)) = find_any_word(
        lower,
        &[
            "$where",
            "$ne",
            "$gt",
            "$regex",
            "$nin",
            "$not",
            "$expr",
            "$elemmatch",
            "$lookup",
        ],
    ) && (lower.trim().starts_with('$') || lower.contains("[$"))
    {
        return Some(Hit::alert("sqli.nosql", p, "NoSQL query operator"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_policy_sdk::views::InputKind;

    fn hit(s: &str) -> Option<Hit> {
        let l = s.to_ascii_lowercase();
        scan(
            s,
            &l,
            Ctx {
                kind: &InputKind::QueryValue,
            },
        )
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
        ] {
            assert!(hit(b).is_none(), "{b}: {:?}", hit(b));
        }
    }
}
