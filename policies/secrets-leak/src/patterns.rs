//! The literal signatures of response data leakage (after OWASP CRS 950–956) and stack traces.
//!
//! Each literal is matched ASCII-case-insensitively by one automaton, then confirmed by a
//! [`Check`] that looks at the bytes around it (word boundaries, exact case, what follows).

/// How a literal hit is confirmed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Check {
    /// The literal alone is enough.
    Plain,
    /// Exact case, not preceded or followed by an alphanumeric (a class name).
    Name,
    /// Exact case, word start, followed by `:` or ` (` (Ruby `NameError: …`, `SyntaxError (…`).
    RubyName,
    /// Exact case, word start, followed by an upper-case letter (`ActiveRecord::RecordNotFound`).
    Namespace,
    /// `Exception` / `Error` ending a qualified Java or .NET class name.
    QualifiedClass,
    /// `ERROR 1064 (42000)` (MySQL client format).
    MysqlCode,
    /// `ORA-00933:` / `PLS-00103:`.
    OracleCode,
    /// `<title>404.14 - …` (IIS error page).
    IisTitle,
    /// `\inetpub` or `/inetpub`.
    Inetpub,
    /// `WSO 4.2.6</title>` (web shell title).
    WsoTitle,
    /// `<?php `, `<? `, `<?= ` (PHP source).
    PhpOpen,
    /// `<% … %>` / `<%= … %>` (ERB / ASP template source).
    ErbTag,
    /// `#{name.attr}` (Ruby / Slim interpolation).
    Interpolation,
    /// Python `Traceback (most recent call last):` followed by a real frame.
    PyTraceback,
    /// `(File.java:12)` / `(Unknown Source)` / `(Native Method)` after `at `.
    JavaFrame,
    /// `at fn (/path/file.js:12:34)`.
    NodeFrame,
    /// `:line 42` after `at ` (.NET).
    DotnetFrame,
    /// `Stack trace:` followed by `#0 ` (PHP).
    PhpTrace,
    /// `goroutine 1 [running]:` (Go panic).
    GoRoutine,
    /// `file.rb:10:in `method'` (Ruby backtrace).
    RubyFrame,
}

use Check::*;

/// `(literal, rule id, check)`.
pub type Pattern = (&'static str, &'static str, Check);

const SQL: &str = "leak.sql-error";
const JAVA: &str = "leak.java-error";
const PHP: &str = "leak.php-error";
const PHPSRC: &str = "leak.php-source";
const IIS: &str = "leak.iis-error";
const ASPNET: &str = "leak.aspnet-error";
const SHELL: &str = "leak.web-shell";
const RUBY: &str = "leak.ruby-error";
const TEMPLATE: &str = "leak.template-source";
const TRACE: &str = "leak.stack-trace";
const LISTING: &str = "leak.directory-listing";

/// Every signature. Lower-case literals are matched case-insensitively.
pub const PATTERNS: &[Pattern] = &[
    // --- SQL errors (CRS 951) ---
    ("you have an error in your sql syntax", SQL, Plain),
    (
        "the used select statements have different number of columns",
        SQL,
        Plain,
    ),
    ("supplied argument is not a valid mysql", SQL, Plain),
    ("valid mysql result", SQL, Plain),
    ("warning: mysql_", SQL, Plain),
    ("mysql_fetch_array()", SQL, Plain),
    ("mysql_num_rows()", SQL, Plain),
    (
        "check the manual that corresponds to your mysql server version",
        SQL,
        Plain,
    ),
    ("com.mysql.jdbc", SQL, Plain),
    ("mysqlclient.", SQL, Plain),
    ("xpath syntax error:", SQL, Plain),
    ("malformed gtid set specification", SQL, Plain),
    ("sqlstate[", SQL, Plain),
    ("error ", SQL, MysqlCode),
    ("pg_query()", SQL, Plain),
    ("pg_exec()", SQL, Plain),
    ("postgresql query failed", SQL, Plain),
    ("valid postgresql link", SQL, Plain),
    ("valid postgresql result", SQL, Plain),
    ("invalid input syntax for", SQL, Plain),
    ("unterminated quoted string at or near", SQL, Plain),
    ("syntax error at or near", SQL, Plain),
    ("org.postgresql.util", SQL, Plain),
    ("npgsql.", SQL, Plain),
    (
        "unclosed quotation mark after the character string",
        SQL,
        Plain,
    ),
    ("incorrect syntax near", SQL, Plain),
    ("microsoft ole db provider for sql server", SQL, Plain),
    ("microsoft ole db provider for odbc drivers", SQL, Plain),
    ("[odbc sql server driver]", SQL, Plain),
    ("[sql server native client", SQL, Plain),
    ("mssql_query()", SQL, Plain),
    ("sqlsrv_query", SQL, Plain),
    ("conversion failed when converting the", SQL, Plain),
    ("system.data.sqlclient.", SQL, Plain),
    ("microsoft jet database engine", SQL, Plain),
    ("[odbc microsoft access driver]", SQL, Plain),
    (
        "syntax error (missing operator) in query expression",
        SQL,
        Plain,
    ),
    ("ORA-", SQL, OracleCode),
    ("PLS-", SQL, OracleCode),
    ("quoted string not properly terminated", SQL, Plain),
    ("sql command not properly ended", SQL, Plain),
    ("oracle.jdbc.", SQL, Plain),
    ("oci_parse", SQL, Plain),
    ("oci_execute", SQL, Plain),
    ("db2 sql error", SQL, Plain),
    ("[ibm][cli driver]", SQL, Plain),
    ("sqlcode=-", SQL, Plain),
    ("com.ibm.db2", SQL, Plain),
    ("[dm_query_e_", SQL, Plain),
    ("[dm_query2_e_", SQL, Plain),
    ("dynamic sql error", SQL, Plain),
    ("org.firebirdsql", SQL, Plain),
    ("ibase_query", SQL, Plain),
    ("[frontbase inc.]", SQL, Plain),
    ("[frontbase odbc]", SQL, Plain),
    ("org.hsqldb.", SQL, Plain),
    ("com.informix.jdbc", SQL, Plain),
    ("[informix]", SQL, Plain),
    ("ifx_query", SQL, Plain),
    ("[ingres odbc driver]", SQL, Plain),
    ("[actian][ingres", SQL, Plain),
    ("unexpected end of command in statement", SQL, Plain),
    ("maxdb_query()", SQL, Plain),
    ("maxdb::query()", SQL, Plain),
    ("sqlite3::query()", SQL, Plain),
    ("sqlite_query()", SQL, Plain),
    ("[sqlite3.query]", SQL, Plain),
    ("system.data.sqlite.", SQL, Plain),
    ("sqlite3.operationalerror", SQL, Plain),
    ("org.sqlite.", SQL, Plain),
    ("sqliteexception", SQL, Plain),
    ("sybase: server message", SQL, Plain),
    ("warning: sybase", SQL, Plain),
    ("com.sybase.jdbc", SQL, Plain),
    ("sybsql", SQL, Plain),
    // --- Java errors (CRS 952) ---
    ("Exception", JAVA, QualifiedClass),
    ("Error", JAVA, QualifiedClass),
    // --- PHP errors (CRS 953100) ---
    ("<b>warning</b>:", PHP, Plain),
    ("<b>fatal error</b>:", PHP, Plain),
    ("<b>parse error</b>:", PHP, Plain),
    ("<b>notice</b>:", PHP, Plain),
    ("php warning:", PHP, Plain),
    ("php fatal error:", PHP, Plain),
    ("php parse error:", PHP, Plain),
    ("php notice:", PHP, Plain),
    ("fatal error: uncaught", PHP, Plain),
    ("failed to open stream:", PHP, Plain),
    ("failed opening required", PHP, Plain),
    ("call to undefined function", PHP, Plain),
    ("call to a member function", PHP, Plain),
    ("allowed memory size of", PHP, Plain),
    // --- PHP source (CRS 953120) ---
    ("<?", PHPSRC, PhpOpen),
    // --- IIS (CRS 954) ---
    ("inetpub", IIS, Inetpub),
    ("<title>", IIS, IisTitle),
    ("iis 7.5 detailed error", IIS, Plain),
    ("iis 8.5 detailed error", IIS, Plain),
    ("iis 10.0 detailed error", IIS, Plain),
    // --- ASP.NET (CRS 950150) ---
    ("ViewStateException", ASPNET, Name),
    ("HttpRequestValidationException", ASPNET, Name),
    ("HttpCompileException", ASPNET, Name),
    ("HttpParseException", ASPNET, Name),
    ("HttpUnhandledException", ASPNET, Name),
    ("HttpException", ASPNET, Name),
    ("HttpRequestWrapper", ASPNET, Name),
    ("HttpResponseWrapper", ASPNET, Name),
    ("HttpServerUtilityWrapper", ASPNET, Name),
    ("HttpSessionStateWrapper", ASPNET, Name),
    ("HttpStaticObjectsCollectionWrapper", ASPNET, Name),
    ("HttpApplicationStateWrapper", ASPNET, Name),
    ("HttpContextWrapper", ASPNET, Name),
    ("server error in '/' application", ASPNET, Plain),
    (
        "asp.net is configured to show verbose error messages",
        ASPNET,
        Plain,
    ),
    ("exception details: system.", ASPNET, Plain),
    ("--- end of inner exception stack trace ---", ASPNET, Plain),
    // --- Web shells (CRS 955) ---
    (".:ncc:. shell", SHELL, Plain),
    ("simple php backdoor", SHELL, Plain),
    ("winx shell", SHELL, Plain),
    ("r57 shell", SHELL, Plain),
    ("r57shell", SHELL, Plain),
    ("c99shell", SHELL, Plain),
    ("<title>c99", SHELL, Plain),
    ("c100 shell", SHELL, Plain),
    ("wso ", SHELL, WsoTitle),
    ("ru24postwebshell", SHELL, Plain),
    ("webshell akmal", SHELL, Plain),
    ("aspydrvsinfo", SHELL, Plain),
    ("<title>rhtools", SHELL, Plain),
    ("b374k", SHELL, Plain),
    ("<title>mini shell", SHELL, Plain),
    ("<title>ani-shell", SHELL, Plain),
    ("<title>php shell", SHELL, Plain),
    ("<title>aspxspy", SHELL, Plain),
    ("<title>phpspy", SHELL, Plain),
    ("<title>jspspy", SHELL, Plain),
    ("<title>gamma web shell", SHELL, Plain),
    ("indoxploit", SHELL, Plain),
    ("locus7shell", SHELL, Plain),
    ("nix remote web-shell", SHELL, Plain),
    ("<title>dive shell", SHELL, Plain),
    ("loader'z web shell", SHELL, Plain),
    ("h4ntu shell", SHELL, Plain),
    ("phpjackal", SHELL, Plain),
    ("kadot universal shell", SHELL, Plain),
    ("<title>nstview", SHELL, Plain),
    ("dxshell", SHELL, Plain),
    ("simattacker", SHELL, Plain),
    ("ctt shell", SHELL, Plain),
    ("<title>cyber shell", SHELL, Plain),
    ("gfs web-shell", SHELL, Plain),
    ("safe0ver shell", SHELL, Plain),
    ("<title>sh3ll", SHELL, Plain),
    ("<title>greenwood", SHELL, Plain),
    // --- Ruby errors (CRS 956100) ---
    ("ActiveRecord::", RUBY, Namespace),
    ("ActionController::", RUBY, Namespace),
    ("ActionView::", RUBY, Namespace),
    ("ActionDispatch::", RUBY, Namespace),
    ("ActiveModel::", RUBY, Namespace),
    ("ActiveSupport::", RUBY, Namespace),
    ("AbstractController::", RUBY, Namespace),
    ("NoMethodError", RUBY, RubyName),
    ("NameError", RUBY, RubyName),
    ("ArgumentError", RUBY, RubyName),
    ("TypeError", RUBY, RubyName),
    ("SyntaxError", RUBY, RubyName),
    ("ZeroDivisionError", RUBY, RubyName),
    ("LoadError", RUBY, RubyName),
    ("NotImplementedError", RUBY, RubyName),
    ("FrozenError", RUBY, RubyName),
    ("SystemStackError", RUBY, RubyName),
    ("Errno::", RUBY, Namespace),
    // --- Template source (CRS 956110) ---
    ("<%", TEMPLATE, ErbTag),
    ("#{", TEMPLATE, Interpolation),
    // --- Stack traces ---
    ("traceback (most recent call last):", TRACE, PyTraceback),
    (".java:", TRACE, JavaFrame),
    ("(unknown source)", TRACE, JavaFrame),
    ("(native method)", TRACE, JavaFrame),
    (".js:", TRACE, NodeFrame),
    (".ts:", TRACE, NodeFrame),
    (".mjs:", TRACE, NodeFrame),
    (".cjs:", TRACE, NodeFrame),
    (":line ", TRACE, DotnetFrame),
    ("stack trace:", TRACE, PhpTrace),
    ("[running]:", TRACE, GoRoutine),
    (".rb:", TRACE, RubyFrame),
    // --- Directory listings ---
    ("<title>index of /", LISTING, Plain),
    ("<h1>index of /", LISTING, Plain),
    ("[to parent directory]", LISTING, Plain),
    ("<title>directory listing for /", LISTING, Plain),
];

/// What a rule reports.
pub struct RuleInfo {
    /// Rule id.
    pub id: &'static str,
    /// Finding message.
    pub message: &'static str,
    /// Default severity.
    pub severity: gavel_policy_sdk::Severity,
    /// Default decision.
    pub decision: gavel_policy_sdk::Decision,
}

/// Rule metadata for every leak rule.
pub fn rule_info(id: &str) -> RuleInfo {
    use gavel_policy_sdk::{Decision::*, Severity::*};
    let (message, severity, decision) = match id {
        SQL => (
            "database error message in the response (SQL information leakage)",
            Medium,
            Alert,
        ),
        JAVA => ("Java exception in the response", Medium, Alert),
        PHP => ("PHP error message in the response", Medium, Alert),
        PHPSRC => ("PHP source code in the response", High, Alert),
        IIS => (
            "IIS error page or install path in the response",
            Medium,
            Alert,
        ),
        ASPNET => ("ASP.NET exception in the response", Medium, Alert),
        SHELL => ("web shell page in the response", Critical, Deny),
        RUBY => ("Ruby / Rails exception in the response", Medium, Alert),
        TEMPLATE => ("unrendered template source in the response", Low, Alert),
        TRACE => ("stack trace in the response", Medium, Alert),
        LISTING => ("directory listing in the response", Medium, Alert),
        _ => ("data leakage in the response", Low, Alert),
    };
    RuleInfo {
        id: leak_id(id),
        message,
        severity,
        decision,
    }
}

fn leak_id(id: &str) -> &'static str {
    [
        SQL, JAVA, PHP, PHPSRC, IIS, ASPNET, SHELL, RUBY, TEMPLATE, TRACE, LISTING,
    ]
    .into_iter()
    .find(|r| *r == id)
    .unwrap_or("leak.other")
}

/// Every leak rule id (for settings validation and docs).
pub const LEAK_RULES: &[&str] = &[
    SQL, JAVA, PHP, PHPSRC, IIS, ASPNET, SHELL, RUBY, TEMPLATE, TRACE, LISTING,
];
