//! Java (Log4Shell lookups, OGNL/SpEL, deserialization gadgets and magic bytes, reflection)
//! and PHP (open tags, stream wrappers, dangerous functions called, serialized objects,
//! superglobals, config directives) injection.

use crate::text::FastFind;
use crate::text::{find_any, find_word, is_ident};
use crate::{Ctx, Hit};

/// Java: scan one value.
pub fn java(orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    // Log4Shell: `${jndi:`, with nested lookups folded away (`${${lower:j}ndi:`).
    if lower.fcontains("${") || lower.fcontains("$%7b") {
        let folded = fold_lookups(lower);
        if let Some(p) = find_any(
            &folded,
            &[
                "${jndi:",
                "jndi:ldap",
                "jndi:rmi",
                "jndi:dns",
                "jndi:iiop",
                "jndi:nis",
                "jndi:corba",
                "jndi:nds",
                "jndi:http",
            ],
        )
        .map(|x| x.0)
        {
            return Some(Hit::deny(
                "java.jndi",
                p.min(lower.len()),
                "Log4Shell JNDI lookup",
            ));
        }
        if let Some((p, _)) = find_any(
            lower,
            &[
                "${env:",
                "${sys:",
                "${java:",
                "${lower:",
                "${upper:",
                "${ctx:",
                "${date:",
                "${main:",
                "${base64:",
                "${::-",
                "${spring:",
                "${k8s:",
                "${docker:",
                "${web:",
                "${bundle:",
            ],
        ) {
            return Some(Hit::deny("java.lookup", p, "Log4j lookup expression"));
        }
    }
    if let Some((p, _)) = find_any(lower, &["jndi:ldap:", "jndi:rmi:", "jndi:dns:"]) {
        return Some(Hit::deny("java.jndi", p, "JNDI URL"));
    }
    // Deserialization magic: base64 `rO0AB`, hex `aced0005`, base64 of gzip'd stream `H4sIA`.
    if let Some(p) = orig
        .ffind("rO0AB")
        .or_else(|| orig.ffind("KztAAU"))
        .or_else(|| orig.ffind("Bzr4"))
        .or_else(|| orig.ffind("Cs7QAF"))
    {
        return Some(Hit::deny(
            "java.deserialization",
            p,
            "serialized Java object (base64)",
        ));
    }
    if let Some(p) = lower
        .ffind("aced0005")
        .or_else(|| lower.ffind("\u{ac}\u{ed}\u{0}\u{5}"))
    {
        return Some(Hit::deny(
            "java.deserialization",
            p,
            "serialized Java object (hex)",
        ));
    }
    if let Some((p, _)) = find_any(
        lower,
        &[
            "java.lang.",
            "java.io.",
            "java.net.",
            "java.nio.",
            "java.util.",
            "java.beans.",
            "java.rmi.",
            "javax.",
            "java.runtime",
            "java.processbuilder",
            "java.security.",
            "jdk.",
            "sun.misc.",
            "com.sun.",
            "org.apache.commons.collections",
            "org.springframework.",
            "org.codehaus.groovy",
            "bsh.interpreter",
            "com.mchange.",
            "org.hibernate.",
            "clojure.",
            "com.alibaba.fastjson",
            "com.opensymphony.",
            "org.apache.commons.",
            "org.omg.",
            "ognl.",
            "org.mozilla.javascript",
            "org.python.",
            "org.jruby.",
            "org.apache.xalan",
            "org.apache.bcel",
            "org.apache.catalina",
            "weblogic.",
            "com.caucho.",
            "freemarker.template",
            "groovy.lang.",
            "@type\":",
            "java.lang",
        ],
    ) && !lower[p..].starts_with("javax.faces.viewstate")
    {
        return Some(Hit::deny("java.class", p, "Java class reference"));
    }
    // `java.<anything>.runtime` / `...processbuilder`, and bare gadget package roots.
    if let Some(p) = crate::text::find_word(lower, "java") {
        let tok: &str = lower[p..]
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '$'))
            .next()
            .unwrap_or("");
        if tok.starts_with("java.")
            && (tok.fcontains(".runtime") || tok.fcontains("processbuilder"))
        {
            return Some(Hit::deny("java.class", p, "Java runtime class reference"));
        }
    }
    if let Some((p, _)) = find_any(
        lower,
        &["org.apache.commons", "com.opensymphony", "org.omg.corba"],
    ) {
        return Some(Hit::deny("java.class", p, "Java gadget package"));
    }
    if let Some((p, _)) = find_any(
        lower,
        &[
            "processbuilder",
            "invokertransformer",
            "instantiatetransformer",
            "chainedtransformer",
            "constanttransformer",
            "clonetransformer",
            "forclosure",
            "instantiatefactory",
            "prototypeserializationfactory",
            "prototypeclonefactory",
            "whileclosure",
            "invokerclosure",
            "templatesimpl",
            "getruntime",
            "runtime.exec",
            "runtime.",
            ".getclass(",
            "classloader",
            "class.module",
            "_memberaccess",
            "@ognlcontext",
            "ognl.",
            "#context",
            "#_memberaccess",
            "#request",
            "#response",
            "getdeclaredmethod",
            "getmethod(",
            ".invoke(",
            "newinstance(",
            "scriptenginemanager",
            "xstream",
            "xmldecoder",
            "java.lang.runtime",
            "springframework.context",
            "t(java",
            "t (java",
            "new java.",
            ".forname(",
            "bcel",
            "objectinputstream",
            "readobject",
            "lookupinterceptor",
            "jdbcrowsetimpl",
            "getoutputstream",
            "getinputstream",
        ],
    ) {
        return Some(Hit::deny("java.gadget", p, "Java code-execution gadget"));
    }
    // OGNL / EL expressions.
    if let Some((p, _)) = find_any(lower, &["%{(", "%{#", "${#", "#{", "${(", "%{@", "${@"]) {
        // `#{name}` is template interpolation (Ruby, JSF labels, i18n strings); an EL/OGNL
        // attack reaches for members: `#{T(java.lang.Runtime).getRuntime()}`, `%{#ctx[...]}`.
        let opener = if lower[p..].starts_with("#{") { 2 } else { 3 };
        let rest = &lower[p + opener..];
        let body = &rest[..rest.find('}').unwrap_or(rest.len())];
        let member_call = body.contains('(') && (body.contains('.') || body.contains('@'));
        if opener == 3 || member_call || body.contains(['#', '@', '[']) {
            return Some(Hit::deny("java.expression", p, "OGNL/EL expression"));
        }
    }
    // JSP upload names.
    if let Some(h) = ctx.header()
        && (h.fcontains("filename") || h.fcontains("file-name"))
    {
        let t = lower.trim_end_matches(['.', ' ']);
        if t.ends_with(".jsp") || t.ends_with(".jspx") || t.ends_with(".jspf") {
            return Some(Hit::deny("java.upload", 0, "JSP file upload"));
        }
    }
    None
}

/// `${${lower:j}${lower:n}di:` → `${jndi:`: keep the default/last char of nested lookups.
fn fold_lookups(lower: &str) -> String {
    let mut s = lower.replace("$%7b", "${").replace("%7d", "}");
    for _ in 0..4 {
        let Some(p) = s.ffind("${") else { break };
        let mut changed = false;
        // Innermost `${name:arg}` (no `${` inside) → arg (or the default after `:-`).
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        let _ = p;
        while let Some(st) = rest.ffind("${") {
            let body = &rest[st + 2..];
            let close = body.find('}');
            let inner_open = body.ffind("${");
            match (close, inner_open) {
                (Some(c), o) if o.is_none_or(|o| o > c) => {
                    let inner = &body[..c];
                    let repl = if let Some(d) = inner.ffind(":-") {
                        Some(inner[d + 2..].to_string())
                    } else {
                        inner
                            .split_once(':')
                            .filter(|(n, _)| *n != "jndi" && n.len() < 12)
                            .map(|(_, v)| v.to_string())
                    };
                    match repl {
                        Some(r) => {
                            out.push_str(&rest[..st]);
                            out.push_str(&r);
                            rest = &body[c + 1..];
                            changed = true;
                        }
                        None => {
                            out.push_str(&rest[..st + 2]);
                            rest = body;
                        }
                    }
                }
                _ => {
                    out.push_str(&rest[..st + 2]);
                    rest = body;
                }
            }
        }
        out.push_str(rest);
        s = out;
        if !changed {
            break;
        }
    }
    s
}

/// PHP functions that matter when called with input (or, in `php_syntax`, through a name
/// built from an array or a concatenation).
pub(crate) const PHP_FUNCS: &[&str] = &[
    "system",
    "exec",
    "shell_exec",
    "passthru",
    "popen",
    "proc_open",
    "pcntl_exec",
    "eval",
    "assert",
    "create_function",
    "call_user_func",
    "call_user_func_array",
    "preg_replace",
    "include",
    "include_once",
    "require",
    "require_once",
    "file_get_contents",
    "file_put_contents",
    "fopen",
    "fwrite",
    "fputs",
    "fread",
    "readfile",
    "file",
    "unlink",
    "base64_decode",
    "gzinflate",
    "gzuncompress",
    "gzdecode",
    "str_rot13",
    "phpinfo",
    "unserialize",
    "serialize",
    "move_uploaded_file",
    "copy",
    "rename",
    "chmod",
    "mkdir",
    "rmdir",
    "scandir",
    "glob",
    "opendir",
    "readdir",
    "highlight_file",
    "show_source",
    "php_uname",
    "getenv",
    "putenv",
    "ini_set",
    "ini_get",
    "set_time_limit",
    "dl",
    "mail",
    "curl_exec",
    "curl_init",
    "fsockopen",
    "pfsockopen",
    "stream_socket_client",
    "posix_getpwuid",
    "posix_kill",
    "posix_setuid",
    "array_map",
    "array_filter",
    "usort",
    "uasort",
    "register_shutdown_function",
    "register_tick_function",
    "ob_start",
    "var_dump",
    "print_r",
    "var_export",
    "extract",
    "parse_str",
    "define",
    "constant",
    "get_defined_vars",
    "get_defined_functions",
    "function_exists",
    "is_callable",
    "file_exists",
    "is_file",
    "is_dir",
    "is_writable",
    "fileperms",
    "touch",
    "symlink",
    "link",
    "tempnam",
    "tmpfile",
    "escapeshellcmd",
    "escapeshellarg",
    "hex2bin",
    "bin2hex",
    "chr",
    "ord",
    "strrev",
    "convert_uudecode",
    "str_replace",
    "substr",
    "implode",
    "explode",
    "urldecode",
    "rawurldecode",
    "htmlspecialchars_decode",
    "iterator_apply",
    "forward_static_call",
    "array_walk",
    "mb_ereg_replace",
    "ereg_replace",
    "simplexml_load_string",
];

/// PHP: scan one value.
pub fn php(orig: &str, lower: &str, ctx: Ctx) -> Option<Hit> {
    let _ = orig;
    // `<?php code`, `<?= expr`, `<? code`: an open tag followed by code, not an XML
    // declaration or processing instruction (`<?xml`, `<?xpacket`, `<?xsl-stylesheet`).
    let mut from = 0;
    while let Some(q) = lower[from..].ffind("<?") {
        let p = from + q;
        from = p + 2;
        let rest = &lower[p + 2..];
        let code = if let Some(r) = rest.strip_prefix("php") {
            r.starts_with(char::is_whitespace) && !r.trim().is_empty()
        } else if let Some(r) = rest.strip_prefix('=') {
            !r.trim().is_empty()
        } else if let Some(r) = rest
            .strip_prefix("xml")
            .filter(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-'))
        {
            // `<?xml :echo 1;` is not an XML declaration.
            let r = r.trim_start();
            !(r.starts_with("version") || r.starts_with("encoding") || r.starts_with("?>"))
        } else {
            rest.trim().is_empty()
                || (rest.starts_with(char::is_whitespace)
                    && rest.contains(['(', '$', ';', '"', '\'']))
                || rest.trim_start().starts_with("echo")
        };
        if code {
            return Some(Hit::deny("php.open-tag", p, "PHP open tag with code"));
        }
    }
    if let Some((p, t)) = find_any(
        lower,
        &[
            "[/php]", "{/php}", "[php]", "{php}", "[\\php]", "{\\php}", "?>",
        ],
    ) && (t != "?>" || lower.fcontains("echo") || lower.contains('$') || lower.contains('('))
    {
        return Some(Hit::deny("php.open-tag", p, "PHP template tag"));
    }
    if let Some((p, _)) = find_any(
        lower,
        &[
            "php://",
            "phar://",
            "zlib://",
            "glob://",
            "expect://",
            "data://text/plain;base64",
            "zip://",
            "compress.zlib://",
            "ogg://",
            "rar://",
            "ssh2.shell://",
            "ssh2.exec://",
            "ssh2.tunnel://",
            "ssh2.scp://",
            "ssh2.sftp://",
            "compress.bzip2://",
        ],
    ) {
        return Some(Hit::deny("php.wrapper", p, "PHP stream wrapper"));
    }
    // Serialized objects: O:8:"stdClass":1:{...}, a:2:{i:0;...}.
    // Each form has a colon second: visit the colons (memchr) instead of every byte.
    let b = lower.as_bytes();
    for colon in memchr::memchr_iter(b':', b) {
        let Some(i) = colon.checked_sub(1) else {
            continue;
        };
        if i > 4097 {
            break;
        }
        let w = &b[i..colon + 1];
        if (w == b"o:" || w == b"c:" || w == b"a:") && (i == 0 || !is_ident(b[i - 1])) {
            let rest = &lower[i + 2..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && rest[digits..].starts_with(if w == b"a:" { ":{" } else { ":\"" }) {
                let body = &rest[digits..];
                if w != b"a:"
                    || body.fcontains(";") && (body.fcontains("s:") || body.fcontains("i:"))
                {
                    return Some(Hit::deny("php.serialized", i, "serialized PHP object"));
                }
            }
        }
    }
    // Superglobals and variable-function tricks.
    if let Some((p, _)) = find_any(
        lower,
        &[
            "$_get",
            "$_post",
            "$_request",
            "$_server",
            "$_cookie",
            "$_files",
            "$_env",
            "$_session",
            "$globals",
            "$http_raw_post_data",
            "$http_",
            "php_self",
        ],
    ) {
        return Some(Hit::deny("php.variable", p, "PHP superglobal"));
    }
    if let Some(p) = lower
        .ffind("${'")
        .or_else(|| lower.ffind("${\""))
        .or_else(|| lower.ffind("${`"))
    {
        return Some(Hit::deny("php.variable", p, "PHP variable variable"));
    }
    // Function called: name, optional whitespace / comments, `(`. Also `(system)('id')` and
    // string-built names `'sys'.'tem'`.
    let folded = if lower.fcontains("/*")
        || (lower.fcontains("//") && crate::grams::has_any_byte(lower, b"\n"))
    {
        let mut stripped = crate::text::strip_comments(lower);
        if stripped.contains("//") && stripped.contains('\n') {
            stripped = strip_line_comments(&stripped);
        }
        crate::grams::Indexed::derived(lower, stripped)
    } else {
        crate::grams::Indexed::unchanged(lower)
    };
    // Calls: an identifier run, then quotes / `)` / whitespace, then `(`. Every name in
    // PHP_FUNCS is an identifier, so a match is exactly such a run (first one per name).
    let fb = folded.as_bytes();
    let mut calls: Vec<(usize, &str)> = Vec::new();
    for i in memchr::memchr_iter(b'(', fb) {
        let mut end = i;
        while end > 0
            && matches!(
                fb[end - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b')'
            )
        {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && is_ident(fb[start - 1]) {
            start -= 1;
        }
        if start == end || (start > 0 && matches!(fb[start - 1], b'.' | b'-' | b'/')) {
            continue;
        }
        calls.push((start, &folded[start..end]));
    }
    let mut sentence: Option<bool> = None;
    for f in PHP_FUNCS {
        if let Some(&(at, _)) = calls.iter().find(|(_, w)| w == f) {
            let wordy = matches!(
                *f,
                "file"
                    | "copy"
                    | "link"
                    | "touch"
                    | "define"
                    | "constant"
                    | "mail"
                    | "include"
                    | "require"
                    | "extract"
                    | "rename"
                    | "glob"
                    | "chr"
                    | "ord"
                    | "substr"
                    | "implode"
                    | "explode"
                    | "assert"
                    | "system"
                    | "exec"
                    | "eval"
            );
            // Prose guard: a common word followed by `(` inside a sentence.
            let sentence = *sentence.get_or_insert_with(|| {
                folded.split_whitespace().count() > 6
                    && !folded.contains(';')
                    && !folded.contains('$')
            });
            if !(wordy && sentence) {
                return Some(Hit {
                    rule: "php.function",
                    strong: !wordy || folded.contains(['$', ';', '\'', '"']),
                    at,
                    msg: "PHP function call",
                });
            }
        }
    }
    if let Some((p, _)) = find_any(lower, &["'.'", "\".\"", "' .'", "'. '", "\" .\""])
        && lower.contains('(')
        && lower.contains(')')
    {
        return Some(Hit::alert(
            "php.obfuscation",
            p,
            "string-concatenated PHP call",
        ));
    }
    // php.ini directives set through input.
    if let Some((p, _)) = find_any(
        lower,
        &[
            "auto_prepend_file",
            "auto_append_file",
            "allow_url_include",
            "allow_url_fopen",
            "disable_functions",
            "open_basedir",
            "safe_mode",
            "memory_limit",
            "unserialize_max_depth",
            "session.save_path",
            "register_globals",
            "display_errors",
            "error_log",
            "extension_dir",
            "upload_tmp_dir",
            "sendmail_path",
            "mail.force_extra_parameters",
        ],
    ) && (lower[p..].contains('=') || lower[..p].fcontains("-d"))
    {
        return Some(Hit::alert("php.config", p, "PHP configuration directive"));
    }
    // Uploads of PHP or session files.
    if let Some(h) = ctx.header()
        && (h.fcontains("filename") || h.fcontains("file-name"))
        && let Some(p) = php_filename(lower)
    {
        return Some(Hit::deny("php.upload", p, "PHP file upload"));
    }
    if matches!(ctx.kind, gavel_policy_sdk::views::InputKind::BodyFieldName)
        && let Some(p) = php_filename(lower)
    {
        return Some(Hit::deny("php.upload", p, "PHP file upload"));
    }
    crate::php_syntax::scan(lower)
}

/// Drop `//…` line comments that a newline ends (`exec //x\n (blah)`); a `//` with no newline
/// after it (a URL) stays.
fn strip_line_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("//") {
        let Some(nl) = rest[p..].find('\n') else {
            break;
        };
        out.push_str(&rest[..p]);
        out.push(' ');
        rest = &rest[p + nl..];
    }
    out.push_str(rest);
    out
}

fn php_filename(lower: &str) -> Option<usize> {
    let name = lower.rsplit(['/', '\\']).next().unwrap_or(lower);
    if name.starts_with("sess_") && name.len() > 10 {
        return Some(0);
    }
    let t = name.trim_end_matches(['.', ' ', '\t']);
    // The extension, with blanks after the dot dropped (`photo. php`) and a version suffix
    // allowed (`.php907`).
    if let Some((_, ext)) = t.rsplit_once('.') {
        let ext = ext.trim_start_matches([' ', '\t']);
        let base = ext.trim_end_matches(|c: char| c.is_ascii_digit());
        if matches!(ext, "phtml" | "phar" | "pht" | "phpt" | "phps" | "inc") || base == "php" {
            return Some(0);
        }
    }
    if name.fcontains(".php.") || name == ".htaccess" || name == ".user.ini" {
        return Some(0);
    }
    // Server and application configuration a web upload must never replace, also as a
    // renamed copy (`wp-config-php.bak`).
    if name.starts_with("wp-config")
        || CONFIG_FILES.contains(&t)
        || t.strip_prefix("config_")
            .is_some_and(|r| r.ends_with(".yml"))
    {
        return Some(0);
    }
    None
}

/// Configuration files by name (web server, PHP frameworks, environment, SSH).
const CONFIG_FILES: &[&str] = &[
    ".htpasswd",
    ".htdigest",
    "web.config",
    ".env",
    "config.yml",
    "parameters.yml",
    "security.yml",
    "services.yml",
    "routing.yml",
    "settings.php",
    "settings.local.php",
    "default.settings.php",
    "local.xml",
    "authorized_keys",
    ".bashrc",
    ".profile",
];

/// Whether `word` occurs as a word in `lower` (re-exported for tests).
pub fn has_word(lower: &str, word: &str) -> bool {
    find_word(lower, word).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_policy_sdk::views::InputKind;

    fn ctx() -> Ctx<'static> {
        Ctx {
            kind: &InputKind::QueryValue,
            name: "",
        }
    }

    #[test]
    fn php_upload_names() {
        for a in [
            "photo. php",
            "dangerous. phtml",
            "x/a.php907....",
            "shell.php5",
            "a.phar ",
            "dangerous.phpt",
        ] {
            assert!(php_filename(a).is_some(), "{a}");
        }
        for b in [
            "photo.png",
            "php",
            "notes. phpbook",
            "report.pdf",
            "index.html",
        ] {
            assert!(php_filename(b).is_none(), "{b}");
        }
    }

    #[test]
    fn java_attacks() {
        for a in [
            "${jndi:ldap://x/a}",
            "${${lower:j}ndi:ldap://x}",
            "${${::-j}${::-n}di:rmi://x}",
            "rO0ABXNy",
            "java.lang.Runtime",
            "%{(#_memberAccess)}",
        ] {
            assert!(java(a, &a.to_ascii_lowercase(), ctx()).is_some(), "{a}");
        }
        assert!(java("javascript is fun", "javascript is fun", ctx()).is_none());
    }

    #[test]
    fn php_attacks() {
        for a in [
            "<?php system('id'); ?>",
            "php://input",
            "O:8:\"stdClass\":0:{}",
            "system('id')",
            "$_GET['x']",
            "exec\t(blah)",
            "$ {'_VAR'.'IABLE_NAME'}",
            "$     {   CONSTANT   }",
            "$              {$a}",
            "${a}",
            "[system][0](ls);",
            "[ system ] [ 0 ] ( ls );",
            "(['system'])[0]('uname');",
            "(sy.(st).em)('uname');",
            "(string) {[system][0]} ('uname');",
            "(  [  system  ][  0  ])  {/* comment */0}  (  ls  );",
            "exec //comment\r\n (blah)",
        ] {
            assert!(php(a, &a.to_ascii_lowercase(), ctx()).is_some(), "{a}");
        }
        for b in [
            "richard.php@my-email.com",
            "the system (of the world) is big and very complex indeed",
            "<?xml version=\"1.0\"?>",
            "Hello ${name}, your order ${id} shipped",
            "see the [system](https://example.org/docs) page",
            "the (system) (see below) is [exec] (1)",
            "price: $ 5 {approx}",
            "cost: $ {amount} per month",
            "string(STRIP ${${list_var}} ${list_var})",
            "Total: $ {{price}}",
            "arr[0](x) and items[1].name",
            "see http://example.com/system\n(more below)",
        ] {
            assert!(php(b, &b.to_ascii_lowercase(), ctx()).is_none(), "{b}");
        }
    }
}
