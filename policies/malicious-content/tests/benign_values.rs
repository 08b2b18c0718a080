//! Realistic benign values that must stay `allow`: URLs in webhooks, names, prose, markdown,
//! code snippets in developer-forum posts, JSON API bodies.

mod common;

use gavel_policy_sdk::Decision;
use serde_json::json;

fn findings(event: serde_json::Value) -> (Decision, Vec<String>) {
    common::evaluate(&event)
}

fn query(name: &str, value: &str) -> serde_json::Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/items",
        "rawQueryString": "", "headers": {"host": "api.example.org"},
        "queryStringParameters": {name: value},
        "requestContext": {"http": {"method": "GET", "path": "/api/items"}},
        "isBase64Encoded": false
    })
}

fn json_body(body: serde_json::Value) -> serde_json::Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/items",
        "rawQueryString": "", "headers": {"host": "api.example.org", "content-type": "application/json"},
        "body": body.to_string(),
        "requestContext": {"http": {"method": "POST", "path": "/api/items"}},
        "isBase64Encoded": false
    })
}

fn form(body: &str) -> serde_json::Value {
    json!({
        "resource": "/submit", "path": "/submit", "httpMethod": "POST",
        "headers": {"Host": "api.example.org", "Content-Type": "application/x-www-form-urlencoded",
                    "X-User-Name": "john doe", "Referer": "https://www.example.com/contact?ref=nav"},
        "body": body, "isBase64Encoded": false
    })
}

fn path(p: &str) -> serde_json::Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": p,
        "rawQueryString": "", "headers": {"host": "api.example.org"},
        "requestContext": {"http": {"method": "GET", "path": p}},
        "isBase64Encoded": false
    })
}

fn assert_allow(what: &str, event: serde_json::Value) -> Option<String> {
    let (d, rules) = findings(event);
    (d != Decision::Allow).then(|| format!("{what:?} -> {d:?} {rules:?}"))
}

const QUERY_VALUES: &[&str] = &[
    "https://example.com",
    "https://example.com/",
    "http://example.com",
    "https://foo.bar",
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "https://www.example.com/some/path?utm_source=newsletter&utm_medium=email",
    "https://medium.com/@someone/my-first-post-1234",
    "https://cdn.example.net/assets/app.js",
    "https://docs.example.com/guide/install.html#linux",
    "john doe",
    "John Doe",
    "Jane O'Brien",
    "it's 5 o'clock",
    "rock 'n' roll",
    "don't--stop",
    "order by date",
    "1-2-3",
    "He is 6' and 200 lbs (90 kg)",
    "1) first item",
    "c == '='",
    "Q&A: what's new? (and what's not)",
    "Mary-Kate Olsen",
    "#{name}",
    "Hello #{name}, your order is ready",
    "#hashtag",
    "what is a file?",
    "file",
    "ftp",
    "config.json",
    "package.json",
    "debug.log",
    "my .env file is not loaded",
    "see the docs at docs/setup.md",
    "localhost",
    "127.0.0.1",
    "data:image/png;base64,iVBORw0KGgo=",
    "2024-01-15T10:30:00Z",
    "1.2.3",
    "Loading...",
    "wait... what?",
    "src/main.rs",
    "users/123/avatar.png",
    r#"{"id":"evt_test","type":"payment_intent.succeeded"}"#,
    r#"{"merchant_id":"MLEFBHHSJGVHD","type":"payment.updated","event_id":"c3c5"}"#,
    r#"[{"id":"1","cat":"books"},{"id":"2","ls":"x"}]"#,
];

const BODIES: &[&str] = &[
    r#"{"url": "https://example.com/webhook", "events": ["push", "pull_request"]}"#,
    r#"{"callback_url": "https://hooks.example.com/cb?id=42", "secret": "s3cr3t"}"#,
    r#"{"name": "John Doe", "email": "john.doe@example.com", "company": "Acme, Inc."}"#,
    r#"{"title": "Quoting in SQL", "body": "When you write SELECT name FROM users WHERE id = 1, the value is a number; for strings use quotes."}"#,
    r#"{"comment": "I tried `select * from orders where status = 'open'` and it returned nothing. Any idea?"}"#,
    r#"{"bio": "Rust developer. I like **markdown**, _emphasis_ and [links](https://example.com)."}"#,
    r#"{"post": "To configure it, copy .env.example to .env and set the API key."}"#,
    r#"{"template": "Hello #{name}, welcome to #{company}!"}"#,
    r#"{"snippet": "for f in *.txt; do echo $f; done"}"#,
    r#"{"message": "The server at https://api.example.com returned 503, retrying in 5 seconds"}"#,
    r#"{"avatar": "https://images.example.com/u/123.png", "homepage": "https://johndoe.dev"}"#,
    r#"{"links": ["https://github.com/rust-lang/rust", "https://crates.io/crates/serde"]}"#,
    r#"{"address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"}}"#,
    r#"{"text": "Meet me at 5 and bring the files from the shared drive"}"#,
    r#"{"description": "Our product fetches data from your CRM and syncs it nightly."}"#,
];

const FORMS: &[&str] = &[
    "name=john+doe&city=new+york",
    "name=john%20doe&message=hi+there",
    "first=john&last=doe&email=john.doe%40example.com",
    "comment=I+think+the+price+is+too+high+%26+the+delivery+is+slow",
    "website=https%3A%2F%2Fjohndoe.dev&name=John+Doe",
];

const PATHS: &[&str] = &[
    "/.well-known/openid-configuration",
    "/.well-known/acme-challenge/abc123",
    "/api/v1/users/john.doe",
    "/docs/getting-started",
    "/static/app.3f2a1c.js",
];

#[test]
fn benign_values_allowed() {
    let mut bad = Vec::new();
    for v in QUERY_VALUES {
        bad.extend(assert_allow(v, query("q", v)));
        bad.extend(assert_allow(v, query("url", v)));
    }
    for b in BODIES {
        let body: serde_json::Value = serde_json::from_str(b).unwrap();
        bad.extend(assert_allow(b, json_body(body)));
    }
    for f in FORMS {
        bad.extend(assert_allow(f, form(f)));
    }
    for p in PATHS {
        bad.extend(assert_allow(p, path(p)));
    }
    assert!(bad.is_empty(), "benign values flagged:\n{}", bad.join("\n"));
}

fn with_header(name: &str, value: &str) -> serde_json::Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/items",
        "rawQueryString": "", "headers": {"host": "api.example.org", name: value},
        "requestContext": {"http": {"method": "GET", "path": "/api/items"}},
        "isBase64Encoded": false
    })
}

#[test]
fn forwarded_for_scanned_only_when_it_is_not_an_address_list() {
    for v in [
        "203.0.113.7",
        "203.0.113.7, 10.0.0.1",
        "2001:db8::1, [2001:db8::2]:443",
        "unknown, 198.51.100.2",
    ] {
        assert_eq!(
            findings(with_header("x-forwarded-for", v)).0,
            Decision::Allow,
            "{v}"
        );
    }
    let (d, rules) = findings(with_header(
        "x-forwarded-for",
        "<?=phpinfo()?>, 203.0.113.7",
    ));
    assert_eq!(d, Decision::Deny, "{rules:?}");
    // Other plumbing headers stay unscanned whatever they hold.
    let (d, _) = findings(with_header("accept", "<?=phpinfo()?>"));
    assert_eq!(d, Decision::Allow);
}
