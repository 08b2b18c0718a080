//! Typed views of Lambda events: one normalised HTTP request for every HTTP front door, the
//! records of queue/notification/storage/bus events, and the flat list of attacker-controlled
//! values ("scan inputs") that content policies inspect.
//!
//! Locations are RFC 6901 JSON pointers into the event. A pointer that continues past a string
//! (`/body/user/name`, `/Records/0/Sns/Message/content`) points into the document that string
//! carries (a form, JSON or multipart body; a JSON message).

use serde_json::Value;
use std::borrow::Cow;

use crate::decode::{base64_decode, form_pairs, percent_decode, pointer_join};

/// Which front door delivered an HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpSource {
    /// API Gateway REST API (payload format 1.0), incl. custom authorizer `REQUEST` events.
    ApiGatewayV1,
    /// API Gateway HTTP API (payload format 2.0).
    ApiGatewayV2,
    /// Application Load Balancer target.
    Alb,
    /// Lambda Function URL (payload format 2.0 with a `lambda-url` domain).
    FunctionUrl,
}

/// One named value of a request, decoded, with where it sits in the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Name (header names lower-cased).
    pub name: String,
    /// Decoded value.
    pub value: String,
    /// JSON pointer to the value in the event.
    pub location: String,
}

/// A normalised HTTP request, whichever front door delivered it.
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    /// Which event shape this came from.
    pub source: HttpSource,
    /// Upper-case method (`GET` when the event does not say).
    pub method: String,
    /// The path as sent (still percent-encoded where the client encoded it).
    pub path: String,
    /// Pointer to the path (`/path` or `/rawPath`).
    pub path_location: String,
    /// Query parameters, decoded, one entry per value.
    pub query: Vec<Param>,
    /// Headers with lower-cased names, one entry per value.
    pub headers: Vec<Param>,
    /// Cookies (`name=value` pairs) from `cookies` (v2) or the `cookie` header.
    pub cookies: Vec<Param>,
    /// Body bytes, base64-decoded when `isBase64Encoded` (else borrowed from the event).
    pub body: Cow<'a, [u8]>,
    /// Pointer to the body (`/body`).
    pub body_location: String,
    /// `content-type` header value, lower-cased, parameters included.
    pub content_type: Option<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl<'a> HttpRequest<'a> {
    /// Build the view when `event` is an API Gateway v1/v2, ALB or Function URL request.
    pub fn from_event(event: &'a Value) -> Option<HttpRequest<'a>> {
        let obj = event.as_object()?;
        let ctx = obj.get("requestContext");
        let v2_method = ctx
            .and_then(|c| c.get("http"))
            .and_then(|h| str_at(h, "method"));
        let is_v2 = obj.get("version").and_then(Value::as_str) == Some("2.0")
            && (obj.contains_key("rawPath") || v2_method.is_some());
        let source = if is_v2 {
            let domain = ctx.and_then(|c| str_at(c, "domainName")).unwrap_or("");
            if domain.contains(".lambda-url.") {
                HttpSource::FunctionUrl
            } else {
                HttpSource::ApiGatewayV2
            }
        } else if obj.contains_key("httpMethod") && obj.contains_key("path") {
            if ctx.and_then(|c| c.get("elb")).is_some() {
                HttpSource::Alb
            } else {
                HttpSource::ApiGatewayV1
            }
        } else {
            return None;
        };
        let method = if is_v2 {
            v2_method
        } else {
            str_at(event, "httpMethod")
        }
        .unwrap_or("GET")
        .to_ascii_uppercase();
        let path_key = if is_v2 { "rawPath" } else { "path" };
        let path = str_at(event, path_key)
            .or_else(|| {
                ctx.and_then(|c| c.get("http"))
                    .and_then(|h| str_at(h, "path"))
            })
            .unwrap_or("/")
            .to_string();

        let mut req = HttpRequest {
            source,
            method,
            path,
            path_location: format!("/{path_key}"),
            query: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Cow::Borrowed(&[]),
            body_location: "/body".into(),
            content_type: None,
        };
        // ALB passes query strings exactly as the client encoded them; the others decode.
        let decode_query = source == HttpSource::Alb;
        if !params(
            event,
            "multiValueQueryStringParameters",
            decode_query,
            false,
            &mut req.query,
        ) && !params(
            event,
            "queryStringParameters",
            decode_query,
            false,
            &mut req.query,
        ) && let Some(raw) = str_at(event, "rawQueryString")
        {
            for (name, value) in form_pairs(raw) {
                req.query.push(Param {
                    name,
                    value,
                    location: "/rawQueryString".into(),
                });
            }
        }
        if !params(event, "multiValueHeaders", false, true, &mut req.headers) {
            params(event, "headers", false, true, &mut req.headers);
        }
        if let Some(cookies) = event.get("cookies").and_then(Value::as_array) {
            for (i, c) in cookies.iter().enumerate() {
                if let Some(c) = c.as_str() {
                    push_cookie(c, format!("/cookies/{i}"), &mut req.cookies);
                }
            }
        } else {
            for h in req.headers.iter().filter(|h| h.name == "cookie") {
                for c in h.value.split(';') {
                    push_cookie(c, h.location.clone(), &mut req.cookies);
                }
            }
        }
        req.content_type = req.header("content-type").map(|c| c.to_ascii_lowercase());
        if let Some(body) = str_at(event, "body") {
            let b64 = event
                .get("isBase64Encoded")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            req.body = match b64.then(|| base64_decode(body)).flatten() {
                Some(decoded) => Cow::Owned(decoded),
                None => Cow::Borrowed(body.as_bytes()),
            };
        }
        Some(req)
    }

    /// First value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// First value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

fn push_cookie(c: &str, location: String, out: &mut Vec<Param>) {
    let c = c.trim();
    if c.is_empty() {
        return;
    }
    let (name, value) = c.split_once('=').unwrap_or(("", c));
    out.push(Param {
        name: name.trim().to_string(),
        value: value.trim().to_string(),
        location,
    });
}

/// Collect a `{name: value}` or `{name: [values]}` map; returns whether the map was present.
fn params(event: &Value, key: &str, decode: bool, lower: bool, out: &mut Vec<Param>) -> bool {
    let Some(map) = event.get(key).and_then(Value::as_object) else {
        return false;
    };
    let base = format!("/{key}");
    for (name, v) in map {
        let loc = pointer_join(&base, name);
        let shown = if lower {
            name.to_ascii_lowercase()
        } else if decode {
            percent_decode(name, true)
        } else {
            name.clone()
        };
        let mut push = |value: &str, location: String| {
            let value = if decode {
                percent_decode(value, true)
            } else {
                value.to_string()
            };
            out.push(Param {
                name: shown.clone(),
                value,
                location,
            });
        };
        match v {
            Value::String(s) => push(s, loc),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = item.as_str() {
                        push(s, format!("{loc}/{i}"));
                    }
                }
            }
            _ => {}
        }
    }
    !map.is_empty()
}

/// One record of a queue, notification, storage or bus event.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An SQS message.
    Sqs {
        /// Message id.
        message_id: String,
        /// Message body.
        body: String,
        /// Pointer to the body.
        location: String,
    },
    /// An SNS notification.
    Sns {
        /// Topic ARN.
        topic_arn: String,
        /// Subject, when set.
        subject: Option<String>,
        /// Message text.
        message: String,
        /// Pointer to the message.
        location: String,
    },
    /// An S3 event notification.
    S3 {
        /// Event name, e.g. `ObjectCreated:Put`.
        event_name: String,
        /// Bucket name.
        bucket: String,
        /// Object key, URL-decoded (`+` is a space, as S3 encodes it).
        key: String,
        /// Object size when known.
        size: Option<u64>,
        /// Pointer to the key.
        location: String,
    },
    /// An EventBridge event (the whole event is the record).
    EventBridge {
        /// `source`, e.g. `aws.ec2`.
        source: String,
        /// `detail-type`.
        detail_type: String,
        /// `detail` object.
        detail: Value,
    },
}

/// The records of an SQS, SNS, S3 or EventBridge event; empty for other events.
pub fn records(event: &Value) -> Vec<Record> {
    let mut out = Vec::new();
    if let (Some(source), Some(detail_type)) =
        (str_at(event, "source"), str_at(event, "detail-type"))
    {
        out.push(Record::EventBridge {
            source: source.to_string(),
            detail_type: detail_type.to_string(),
            detail: event.get("detail").cloned().unwrap_or(Value::Null),
        });
        return out;
    }
    let Some(recs) = event.get("Records").and_then(Value::as_array) else {
        return out;
    };
    for (i, r) in recs.iter().enumerate() {
        let src = str_at(r, "eventSource")
            .or_else(|| str_at(r, "EventSource"))
            .unwrap_or("");
        match src {
            "aws:sqs" => out.push(Record::Sqs {
                message_id: str_at(r, "messageId").unwrap_or("").into(),
                body: str_at(r, "body").unwrap_or("").into(),
                location: format!("/Records/{i}/body"),
            }),
            "aws:sns" => {
                let sns = r.get("Sns").unwrap_or(&Value::Null);
                out.push(Record::Sns {
                    topic_arn: str_at(sns, "TopicArn").unwrap_or("").into(),
                    subject: str_at(sns, "Subject").map(String::from),
                    message: str_at(sns, "Message").unwrap_or("").into(),
                    location: format!("/Records/{i}/Sns/Message"),
                })
            }
            "aws:s3" => {
                let s3 = r.get("s3").unwrap_or(&Value::Null);
                let obj = s3.get("object").unwrap_or(&Value::Null);
                out.push(Record::S3 {
                    event_name: str_at(r, "eventName").unwrap_or("").into(),
                    bucket: s3
                        .get("bucket")
                        .and_then(|b| str_at(b, "name"))
                        .unwrap_or("")
                        .into(),
                    key: percent_decode(str_at(obj, "key").unwrap_or(""), true),
                    size: obj.get("size").and_then(Value::as_u64),
                    location: format!("/Records/{i}/s3/object/key"),
                })
            }
            _ => {}
        }
    }
    out
}

/// What part of an event a scan input came from; content policies pick detectors by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// The request path, as sent.
    Path,
    /// A query parameter name.
    QueryName,
    /// A query parameter value.
    QueryValue,
    /// A header value; carries the lower-cased header name.
    Header(String),
    /// A cookie name.
    CookieName,
    /// A cookie value.
    Cookie,
    /// The whole request body, decoded from base64 when flagged so.
    Body,
    /// A field name or JSON key inside the body, or a multipart file name.
    BodyFieldName,
    /// A form value, JSON string leaf or XML text/attribute inside the body.
    BodyField,
    /// One multipart part's content.
    MultipartPart,
    /// An SQS body or SNS message, or a string leaf of a JSON document carried there.
    MessageBody,
    /// An S3 object key (URL-decoded). A name, not content.
    ObjectKey,
    /// A string leaf of an EventBridge event's `detail`.
    EventDetail,
    /// A string leaf of an event of unknown shape.
    Other,
    /// A non-JSON event, whole.
    Raw,
}

/// One attacker-influenced value to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanInput<'a> {
    /// JSON pointer to the value.
    pub location: String,
    /// The value's bytes (UTF-8 text in nearly all cases); a request body is borrowed from
    /// the event, the other values are copies.
    pub data: Cow<'a, [u8]>,
    /// Where the value came from.
    pub kind: InputKind,
}

impl<'a> ScanInput<'a> {
    fn new(location: impl Into<String>, data: impl Into<Vec<u8>>, kind: InputKind) -> Self {
        Self {
            location: location.into(),
            data: Cow::Owned(data.into()),
            kind,
        }
    }

    /// The same input, owning its bytes.
    pub fn into_owned(self) -> ScanInput<'static> {
        ScanInput {
            location: self.location,
            data: Cow::Owned(self.data.into_owned()),
            kind: self.kind,
        }
    }

    /// The value as text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }

    /// Whether the value is content (can carry a payload) rather than a name such as an
    /// S3 key.
    pub fn is_content(&self) -> bool {
        self.kind != InputKind::ObjectKey
    }
}

/// Caps that keep hostile events from exploding the input list.
const MAX_INPUTS: usize = 4096;
const MAX_NESTING: usize = 4;

/// Enumerate the attacker-influenced values of an event, whatever its shape: HTTP request
/// parts (with the body broken into fields), SQS/SNS messages (and the JSON they carry), S3
/// keys, EventBridge detail leaves, and for unknown shapes every string leaf.
pub fn inputs(event: &Value) -> Vec<ScanInput<'_>> {
    let mut out = Vec::new();
    if let Some(req) = HttpRequest::from_event(event) {
        http_inputs(req, &mut out);
    } else if let Some(first) = records(event).first() {
        if let Record::EventBridge { .. } = first {
            if let Some(detail) = event.get("detail") {
                leaves(
                    detail,
                    "/detail".into(),
                    InputKind::EventDetail,
                    0,
                    &mut out,
                );
            }
        } else {
            record_inputs(event, &mut out);
        }
    } else {
        leaves(
            event,
            String::new(),
            InputKind::Other,
            MAX_NESTING,
            &mut out,
        );
    }
    out.truncate(MAX_INPUTS);
    out
}

/// The inputs of an event given as bytes: JSON events as [`inputs`], anything else as one
/// [`InputKind::Raw`] input.
pub fn inputs_from_bytes(event: &[u8]) -> Vec<ScanInput<'static>> {
    match serde_json::from_slice::<Value>(event) {
        Ok(v) => inputs(&v).into_iter().map(ScanInput::into_owned).collect(),
        Err(_) => vec![ScanInput::new("", event, InputKind::Raw)],
    }
}

fn http_inputs<'a>(req: HttpRequest<'a>, out: &mut Vec<ScanInput<'a>>) {
    out.push(ScanInput::new(
        req.path_location.clone(),
        req.path.as_bytes(),
        InputKind::Path,
    ));
    for q in &req.query {
        if !q.name.is_empty() {
            out.push(ScanInput::new(
                q.location.clone(),
                q.name.as_bytes(),
                InputKind::QueryName,
            ));
        }
        out.push(ScanInput::new(
            q.location.clone(),
            q.value.as_bytes(),
            InputKind::QueryValue,
        ));
    }
    for h in &req.headers {
        let kind = InputKind::Header(h.name.clone());
        out.push(ScanInput::new(h.location.clone(), h.value.as_bytes(), kind));
    }
    for c in &req.cookies {
        if !c.name.is_empty() {
            out.push(ScanInput::new(
                c.location.clone(),
                c.name.as_bytes(),
                InputKind::CookieName,
            ));
        }
        out.push(ScanInput::new(
            c.location.clone(),
            c.value.as_bytes(),
            InputKind::Cookie,
        ));
    }
    if !req.body.is_empty() {
        // The body input borrows the event's string (copied only when base64 was decoded):
        // bodies are the large values, and a copy of 6 MB is milliseconds of fresh sandbox
        // memory. It goes before its fields, which are read from it first.
        let at = out.len();
        body_parts(
            &req.body,
            req.content_type.as_deref(),
            &req.body_location,
            out,
        );
        out.insert(
            at,
            ScanInput {
                location: req.body_location,
                data: req.body,
                kind: InputKind::Body,
            },
        );
    }
}

/// The fields of a body by content type (or by sniffing when the type is missing, since
/// attackers choose the header); the raw body goes before them.
fn body_parts(body: &[u8], content_type: Option<&str>, base: &str, out: &mut Vec<ScanInput<'_>>) {
    let ct = content_type.unwrap_or("");
    let trimmed = body.trim_ascii_start();
    if ct.contains("multipart/") || (ct.is_empty() && trimmed.starts_with(b"--")) {
        let boundary = crate::decode::multipart_boundary(ct);
        for part in crate::decode::multipart_parts(body, boundary.as_deref()) {
            let loc = pointer_join(base, &part.name);
            if let Some(f) = &part.filename {
                out.push(ScanInput::new(
                    loc.clone(),
                    f.as_bytes(),
                    InputKind::BodyFieldName,
                ));
            }
            out.push(ScanInput::new(loc, part.data, InputKind::MultipartPart));
        }
        return;
    }
    if (trimmed.starts_with(b"{") || trimmed.starts_with(b"[") || ct.contains("json"))
        && let Ok(doc) = serde_json::from_slice::<Value>(body)
    {
        leaves(
            &doc,
            base.to_string(),
            InputKind::BodyField,
            MAX_NESTING,
            out,
        );
        return;
    }
    if trimmed.starts_with(b"<") || ct.contains("xml") {
        xml_inputs(&String::from_utf8_lossy(body), base, out);
        return;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    if ct.contains("x-www-form-urlencoded") || (ct.is_empty() && text.contains('=')) {
        for (name, value) in form_pairs(text) {
            let loc = pointer_join(base, &name);
            if !name.is_empty() {
                out.push(ScanInput::new(loc.clone(), name, InputKind::BodyFieldName));
            }
            if !value.is_empty() {
                out.push(ScanInput::new(loc, value, InputKind::BodyField));
            }
        }
    }
}

/// Text nodes and attribute values of an XML (or HTML) body, without a full parser: enough
/// to give each value its own input.
fn xml_inputs(text: &str, base: &str, out: &mut Vec<ScanInput<'_>>) {
    let loc = base.to_string();
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        let node = rest[..lt].trim();
        if !node.is_empty() {
            out.push(ScanInput::new(
                loc.clone(),
                node.as_bytes(),
                InputKind::BodyField,
            ));
        }
        let after = &rest[lt..];
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        let tag = &after[..end];
        let mut t = tag;
        while let Some(eq) = t.find('=') {
            let v = t[eq + 1..].trim_start();
            let (val, next) = match v.chars().next() {
                Some(q @ ('"' | '\'')) => match v[1..].find(q) {
                    Some(e) => (&v[1..e + 1], &v[e + 2..]),
                    None => (&v[1..], ""),
                },
                _ => {
                    let e = v.find([' ', '>', '/']).unwrap_or(v.len());
                    (&v[..e], &v[e..])
                }
            };
            if !val.is_empty() {
                out.push(ScanInput::new(
                    loc.clone(),
                    val.as_bytes(),
                    InputKind::BodyField,
                ));
            }
            t = next;
        }
        rest = &after[end..];
    }
    let tail = rest.trim();
    if !tail.is_empty() && tail.len() != text.trim().len() {
        out.push(ScanInput::new(loc, tail.as_bytes(), InputKind::BodyField));
    }
}

fn record_inputs(event: &Value, out: &mut Vec<ScanInput<'_>>) {
    for rec in records(event) {
        match rec {
            Record::Sqs { body, location, .. } => message_inputs(&body, &location, out),
            Record::Sns {
                message, location, ..
            } => message_inputs(&message, &location, out),
            Record::S3 { key, location, .. } => {
                out.push(ScanInput::new(location, key, InputKind::ObjectKey))
            }
            Record::EventBridge { .. } => {}
        }
    }
    // SQS message attributes are sender-controlled too.
    if let Some(recs) = event.get("Records").and_then(Value::as_array) {
        for (i, r) in recs.iter().enumerate() {
            if let Some(attrs) = r.get("messageAttributes").and_then(Value::as_object) {
                for (name, a) in attrs {
                    if let Some(s) = a.get("stringValue").and_then(Value::as_str) {
                        let loc = pointer_join(&format!("/Records/{i}/messageAttributes"), name);
                        out.push(ScanInput::new(
                            loc + "/stringValue",
                            s,
                            InputKind::MessageBody,
                        ));
                    }
                }
            }
        }
    }
}

/// A message body, plus the string leaves of the JSON document it carries (SNS-in-SQS and
/// JSON-in-JSON are followed a few levels down).
fn message_inputs(text: &str, location: &str, out: &mut Vec<ScanInput<'_>>) {
    out.push(ScanInput::new(location, text, InputKind::MessageBody));
    if let Some(doc) = embedded_json(text) {
        leaves(
            &doc,
            location.to_string(),
            InputKind::MessageBody,
            MAX_NESTING - 1,
            out,
        );
    }
}

fn embedded_json(text: &str) -> Option<Value> {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Value>(t)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// String leaves of `v`; strings that carry a JSON document are followed `nest` more levels.
fn leaves(v: &Value, at: String, kind: InputKind, nest: usize, out: &mut Vec<ScanInput<'_>>) {
    if out.len() >= MAX_INPUTS {
        return;
    }
    match v {
        Value::String(s) => {
            if nest > 0
                && let Some(doc) = embedded_json(s)
            {
                out.push(ScanInput::new(at.clone(), s.as_bytes(), kind.clone()));
                return leaves(&doc, at, kind, nest - 1, out);
            }
            out.push(ScanInput::new(at, s.as_bytes(), kind));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, format!("{at}/{i}"), kind.clone(), nest, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let loc = pointer_join(&at, k);
                if kind == InputKind::BodyField {
                    // JSON keys in a request body are attacker-chosen (`{"$where": ...}`).
                    out.push(ScanInput::new(
                        loc.clone(),
                        k.as_bytes(),
                        InputKind::BodyFieldName,
                    ));
                }
                leaves(item, loc, kind.clone(), nest, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Fixture envelopes from the shared corpus (beside the repository in CI).
    fn fixtures() -> Vec<(String, Value)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/benign-envelopes.jsonl"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: {path} not found");
            return Vec::new();
        };
        text.lines()
            .map(|l| {
                let mut r: Value = serde_json::from_str(l).unwrap();
                (r["id"].as_str().unwrap().to_string(), r["event"].take())
            })
            .collect()
    }

    #[test]
    fn every_http_fixture_yields_a_view() {
        let fx = fixtures();
        let mut http = 0;
        for (id, ev) in &fx {
            let view = HttpRequest::from_event(ev);
            let http_shaped = (id.contains("apigw") || id.contains("alb"))
                && !id.contains("custom-auth-request")
                && !id.contains("custom-authorizer")
                && !id.contains("websocket-request-disconnect")
                && !id.contains("websocket-request-without-method");
            if http_shaped {
                let v = view.unwrap_or_else(|| panic!("{id}: no HTTP view"));
                assert!(v.path.starts_with('/'), "{id}: path {}", v.path);
                assert!(!v.method.is_empty());
                http += 1;
            } else if !id.contains("apigw") {
                assert!(view.is_none(), "{id}: unexpected HTTP view");
            }
        }
        if !fx.is_empty() {
            assert!(http >= 12, "only {http} HTTP fixtures");
        }
    }

    #[test]
    fn fixture_specifics() {
        let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
        if fx.is_empty() {
            return;
        }
        let v2 = HttpRequest::from_event(&fx["rr-apigw-v2-request-iam"]).unwrap();
        assert_eq!(v2.source, HttpSource::ApiGatewayV2);
        assert!(!v2.cookies.is_empty());
        assert!(v2.cookies[0].location.starts_with("/cookies/"));
        let mv = HttpRequest::from_event(&fx["rr-apigw-request-multi-value-parameters"]).unwrap();
        assert!(
            mv.query
                .iter()
                .any(|q| q.location.starts_with("/multiValueQueryStringParameters/"))
        );
        assert!(
            mv.headers
                .iter()
                .all(|h| h.name == h.name.to_ascii_lowercase())
        );
        let alb = HttpRequest::from_event(&fx["rr-alb-lambda-target-request-multivalue-headers"])
            .unwrap();
        assert_eq!(alb.source, HttpSource::Alb);
        // Queue, notification and storage fixtures become records and message inputs.
        assert!(matches!(
            records(&fx["rr-sqs-event-obj"])[0],
            Record::Sqs { .. }
        ));
        assert!(matches!(
            records(&fx["rr-sns-event"])[0],
            Record::Sns { .. }
        ));
        let s3 = records(&fx["rr-s3-event"]);
        assert!(matches!(&s3[0], Record::S3 { key, .. } if key == "Happy Face.jpg"));
        assert!(matches!(
            records(&fx["rr-eventbridge-event-obj"])[0],
            Record::EventBridge { .. }
        ));
        let sqs = inputs(&fx["rr-sqs-event-obj"]);
        assert!(
            sqs.iter()
                .any(|i| i.location == "/Records/0/body/a" && *i.data == *b"Test")
        );
        let sns = inputs(&fx["rr-sns-event-obj"]);
        assert!(
            sns.iter()
                .any(|i| i.location == "/Records/0/Sns/Message/foo")
        );
        let s3i = inputs(&fx["rr-s3-event"]);
        assert!(
            s3i.iter()
                .all(|i| i.kind == InputKind::ObjectKey && !i.is_content())
        );
        // Every fixture yields inputs without panicking.
        for (id, ev) in &fx {
            let _ = inputs(ev);
            let _ = records(ev);
            let _ = id;
        }
    }

    #[test]
    fn v1_multivalue_and_base64_body() {
        let ev = json!({
            "httpMethod": "post", "path": "/a/b",
            "multiValueQueryStringParameters": {"id": ["1", "2' or 1=1"]},
            "queryStringParameters": {"id": "2' or 1=1"},
            "multiValueHeaders": {"Content-Type": ["application/x-www-form-urlencoded"], "Cookie": ["s=1; t=x%20y"]},
            "body": "YT0xJmI9JTNDc2NyaXB0JTNF", "isBase64Encoded": true
        });
        let r = HttpRequest::from_event(&ev).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.query.len(), 2);
        assert_eq!(r.query[1].location, "/multiValueQueryStringParameters/id/1");
        assert_eq!(*r.body, *b"a=1&b=%3Cscript%3E");
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(r.cookies.len(), 2);
        let ins = inputs(&ev);
        assert!(ins.iter().any(|i| i.kind == InputKind::BodyField
            && *i.data == *b"<script>"
            && i.location == "/body/b"));
        assert!(ins.iter().any(|i| i.kind == InputKind::Body));
    }

    #[test]
    fn v2_raw_query_and_function_url() {
        let ev = json!({
            "version": "2.0", "rawPath": "/x", "rawQueryString": "q=a%2Bb+c",
            "cookies": ["a=b"], "headers": {"Host": "abc.lambda-url.us-east-1.on.aws"},
            "requestContext": {"domainName": "abc.lambda-url.us-east-1.on.aws", "http": {"method": "PUT"}},
            "body": "{\"user\": {\"name\": \"x\"}}", "isBase64Encoded": false
        });
        let r = HttpRequest::from_event(&ev).unwrap();
        assert_eq!(r.source, HttpSource::FunctionUrl);
        assert_eq!(r.method, "PUT");
        assert_eq!(r.query_param("q"), Some("a+b c"));
        assert_eq!(r.header("host"), Some("abc.lambda-url.us-east-1.on.aws"));
        let ins = inputs(&ev);
        assert!(
            ins.iter()
                .any(|i| i.location == "/body/user/name" && *i.data == *b"x")
        );
        assert!(
            ins.iter()
                .any(|i| i.location == "/body/user" && i.kind == InputKind::BodyFieldName)
        );
    }

    #[test]
    fn alb_query_is_decoded() {
        let ev = json!({"httpMethod": "GET", "path": "/", "requestContext": {"elb": {}},
            "queryStringParameters": {"a": "x%27+y"}});
        let r = HttpRequest::from_event(&ev).unwrap();
        assert_eq!(r.query_param("a"), Some("x' y"));
    }

    #[test]
    fn messages_and_fallbacks() {
        let sns_in_sqs = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "1",
            "body": "{\"Type\":\"Notification\",\"Message\":\"{\\\"content\\\":\\\"hi\\\"}\"}"}]});
        let ins = inputs(&sns_in_sqs);
        assert!(
            ins.iter()
                .any(|i| i.location == "/Records/0/body/Message/content" && *i.data == *b"hi")
        );
        let eb = json!({"source": "x", "detail-type": "y", "detail": {"a": ["b"]}});
        assert_eq!(
            inputs(&eb),
            vec![ScanInput::new("/detail/a/0", "b", InputKind::EventDetail)]
        );
        let other = json!({"a/b": {"c": "d"}});
        assert_eq!(inputs(&other)[0].location, "/a~1b/c");
        assert_eq!(inputs_from_bytes(b"not json")[0].kind, InputKind::Raw);
    }

    #[test]
    fn xml_and_multipart_bodies() {
        let ev = json!({"httpMethod": "POST", "path": "/", "headers": {"content-type": "application/xml"},
            "body": "<?xml version=\"1.0\"?><root><a probe=\"1=1\">text</a></root>"});
        let ins = inputs(&ev);
        assert!(ins.iter().any(|i| *i.data == *b"1=1"));
        assert!(ins.iter().any(|i| *i.data == *b"text"));
        let mp = json!({"httpMethod": "POST", "path": "/", "headers": {"content-type": "multipart/form-data; boundary=b"},
            "body": "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\nDATA\r\n--b--\r\n"});
        let ins = inputs(&mp);
        assert!(ins.iter().any(|i| i.kind == InputKind::MultipartPart
            && *i.data == *b"DATA"
            && i.location == "/body/f"));
    }
}
