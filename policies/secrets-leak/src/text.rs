//! Turns a function result into the texts to scan, each with the JSON pointer it came from.
//!
//! A JSON result is flattened: every object key and string value becomes one line of a
//! single buffer (so a key id and its secret in sibling fields stay "near each other"), and
//! `segments` maps buffer offsets back to pointers. An API-Gateway-style result's `body`
//! string is decoded (base64 when `isBase64Encoded`) and scanned as its own text, since it is
//! what the client receives.

use std::fmt::Write;

use base64::Engine;
use serde_json::Value;

/// One text to scan.
pub struct ScanText {
    /// The text.
    pub text: String,
    /// `(start offset, end of its pointer in pointers)` pairs, sorted by offset; each
    /// pointer starts where the one before it ends.
    segments: Vec<(usize, usize)>,
    /// The pointers of all segments, one after the other (one allocation, not one each).
    pointers: String,
}

impl ScanText {
    fn new(text: String) -> Self {
        Self {
            text,
            segments: Vec::new(),
            pointers: String::new(),
        }
    }

    fn single(text: String, pointer: &str) -> Self {
        let mut t = Self::new(text);
        t.start_segment(0, pointer);
        t
    }

    /// A new field starts at `offset`.
    fn start_segment(&mut self, offset: usize, pointer: &str) {
        self.pointers.push_str(pointer);
        self.segments.push((offset, self.pointers.len()));
    }

    /// The pointer of the field containing byte `offset`.
    pub fn pointer_at(&self, offset: usize) -> &str {
        let i = self.segments.partition_point(|(start, _)| *start <= offset);
        let i = i.saturating_sub(1);
        let Some(&(_, end)) = self.segments.get(i) else {
            return "/result";
        };
        let start = i.checked_sub(1).map_or(0, |j| self.segments[j].1);
        &self.pointers[start..end]
    }
}

/// Caps keep a hostile multi-megabyte result inside the evaluation deadline.
pub struct Limits {
    /// Bytes scanned per result.
    pub max_bytes: usize,
}

/// Appends `token` to a JSON pointer, escaped (RFC 6901).
fn push_token(path: &mut String, token: &str) {
    if token.contains(['~', '/']) {
        path.push_str(&token.replace('~', "~0").replace('/', "~1"));
    } else {
        path.push_str(token);
    }
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
            // The flattened text is about as long as the JSON: one allocation, no regrowth.
            let mut flat =
                ScanText::new(String::with_capacity(raw.len().min(limits.max_bytes) + 1));
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
        Value::String(s) => push(out, &[s], path, max),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                // Writing to a String cannot fail.
                let _ = write!(path, "/{i}");
                flatten(item, path, out, max, depth + 1);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                path.push('/');
                push_token(path, k);
                // Keys carry context ("SecretAccessKey"), so they are scanned with the value.
                if let Some(s) = v.as_str() {
                    push(out, &[k, ": ", s], path, max);
                } else {
                    push(out, &[k], path, max);
                    flatten(v, path, out, max, depth + 1);
                }
                path.truncate(len);
            }
        }
        Value::Number(n) => push(out, &[&n.to_string()], path, max),
        _ => {}
    }
}

/// Appends the line `parts` (concatenated), cut to the room left under `max`.
fn push(out: &mut ScanText, parts: &[&str], path: &str, max: usize) {
    let mut room = max.saturating_sub(out.text.len());
    if room == 0 {
        return;
    }
    out.start_segment(out.text.len(), path);
    for part in parts {
        let mut end = part.len().min(room);
        while !part.is_char_boundary(end) {
            end -= 1;
        }
        out.text.push_str(&part[..end]);
        if end < part.len() {
            break;
        }
        room -= end;
    }
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
    fn lines_are_cut_on_char_boundaries_and_keys_escaped() {
        let v = json!({"a~b/c": "é".repeat(10)});
        let t = texts(b"", Some(&v), &Limits { max_bytes: 12 });
        // `a~b/c: ` is 7 bytes; 5 more hold two `é`, not half of a third.
        assert_eq!(t[0].text, "a~b/c: éé\n");
        assert_eq!(t[0].pointer_at(8), "/result/a~0b~1c");
        let v = json!({"k": "v", "list": [1, "x"]});
        let t = texts(b"", Some(&v), &LIMITS);
        assert_eq!(t[0].text, "k: v\nlist\n1\nx\n");
        let pointers: Vec<&str> = [0, 5, 10, 12].map(|at| t[0].pointer_at(at)).to_vec();
        assert_eq!(
            pointers,
            [
                "/result/k",
                "/result/list",
                "/result/list/0",
                "/result/list/1"
            ]
        );
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
