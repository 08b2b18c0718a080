//! Turns a function result into the texts to scan, each with the JSON pointer it came from.
//!
//! A JSON result is flattened: every object key and string value becomes one line of a
//! single buffer (so a key id and its secret in sibling fields stay "near each other"), and
//! `segments` maps buffer offsets back to pointers. An API-Gateway-style result's `body`
//! string is decoded (base64 when `isBase64Encoded`) and scanned as its own text, since it is
//! what the client receives.

use base64::Engine;
use serde_json::Value;

/// One text to scan.
pub struct ScanText {
    /// The text.
    pub text: String,
    /// `(start offset, pointer)` pairs, sorted by offset.
    segments: Vec<(usize, String)>,
}

impl ScanText {
    fn single(text: String, pointer: &str) -> Self {
        Self {
            text,
            segments: vec![(0, pointer.to_string())],
        }
    }

    /// The pointer of the field containing byte `offset`.
    pub fn pointer_at(&self, offset: usize) -> &str {
        let i = self.segments.partition_point(|(start, _)| *start <= offset);
        self.segments
            .get(i.saturating_sub(1))
            .map(|(_, p)| p.as_str())
            .unwrap_or("/result")
    }
}

/// Caps keep a hostile multi-megabyte result inside the evaluation deadline.
pub struct Limits {
    /// Bytes scanned per result.
    pub max_bytes: usize,
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Texts to scan in a result. `json` is the parsed result when it was JSON.
pub fn texts(raw: &[u8], json: Option<&Value>, limits: &Limits) -> Vec<ScanText> {
    let mut out = Vec::new();
    match json {
        Some(value) => {
            if let Some(body) = http_body(value) {
                out.push(ScanText::single(
                    cut(body, limits.max_bytes),
                    "/result/body",
                ));
            }
            let mut flat = ScanText {
                text: String::new(),
                segments: Vec::new(),
            };
            flatten(
                value,
                &mut String::from("/result"),
                &mut flat,
                limits.max_bytes,
                0,
            );
            if !flat.text.is_empty() {
                out.push(flat);
            }
        }
        None => {
            let text =
                String::from_utf8_lossy(&raw[..raw.len().min(limits.max_bytes)]).into_owned();
            out.push(ScanText::single(text, "/result"));
        }
    }
    out
}

/// The `body` of an API Gateway / ALB / Function URL proxy result, decoded.
fn http_body(value: &Value) -> Option<String> {
    let obj = value.as_object()?;
    let body = obj.get("body")?.as_str()?;
    if !(obj.contains_key("statusCode")
        || obj.contains_key("isBase64Encoded")
        || obj.contains_key("headers"))
    {
        return None;
    }
    if obj.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.as_bytes())
            })
            .ok()?;
        return Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    // The flattened pass already sees a plain body; only decoded bodies need their own text.
    None
}

/// Depth cap mirrors serde_json's own recursion limit.
const MAX_DEPTH: usize = 128;

fn flatten(value: &Value, path: &mut String, out: &mut ScanText, max: usize, depth: usize) {
    if out.text.len() >= max || depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => push(out, s, path, max),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                flatten(item, path, out, max, depth + 1);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_pointer(k));
                // Keys carry context ("SecretAccessKey"), so they are scanned with the value.
                if v.is_string() {
                    let line = format!("{k}: {}", v.as_str().unwrap_or(""));
                    push(out, &line, path, max);
                } else {
                    push(out, k, path, max);
                    flatten(v, path, out, max, depth + 1);
                }
                path.truncate(len);
            }
        }
        Value::Number(n) => push(out, &n.to_string(), path, max),
        _ => {}
    }
}

fn push(out: &mut ScanText, s: &str, path: &str, max: usize) {
    let room = max.saturating_sub(out.text.len());
    if room == 0 {
        return;
    }
    out.segments.push((out.text.len(), path.to_string()));
    let mut end = s.len().min(room);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.text.push_str(&s[..end]);
    out.text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: Limits = Limits { max_bytes: 1 << 20 };

    #[test]
    fn flattens_with_pointers() {
        let v = json!({"a": {"b/c": "x"}, "list": ["y"]});
        let t = texts(b"", Some(&v), &LIMITS);
        assert_eq!(t.len(), 1);
        let at = t[0].text.find('y').unwrap();
        assert_eq!(t[0].pointer_at(at), "/result/list/0");
        let at = t[0].text.find(": x").unwrap();
        assert_eq!(t[0].pointer_at(at), "/result/a/b~1c");
    }

    #[test]
    fn decodes_base64_bodies() {
        let v = json!({"statusCode": 200, "body": "aGVsbG8gd29ybGQ=", "isBase64Encoded": true});
        let t = texts(b"", Some(&v), &LIMITS);
        assert_eq!(t[0].text, "hello world");
        assert_eq!(t[0].pointer_at(3), "/result/body");
    }

    #[test]
    fn raw_text_and_caps() {
        let t = texts(b"plain text result", None, &Limits { max_bytes: 5 });
        assert_eq!(t[0].text, "plain");
    }
}
