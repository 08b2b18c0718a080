//! The policy SDK's event views on arbitrary event bytes: `views::inputs_from_bytes` (HTTP
//! requests from API Gateway v1/v2, ALB and Function URL events with their bodies broken into
//! form / JSON / XML / multipart fields; SQS, SNS, S3 and EventBridge records; unknown shapes),
//! `HttpRequest::from_event`, `views::records`, every `cloudtrail` view and accessor, and every
//! `decode` / `redact` / `settings::glob` helper on each value the views produce.
#![no_main]

use gavel_policy_sdk::views::{self, HttpRequest};
use gavel_policy_sdk::{cloudtrail, decode, redact, settings};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// `views::MAX_INPUTS`: the cap that keeps hostile events from exploding the input list.
const MAX_INPUTS: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let inputs = views::inputs_from_bytes(data);
    assert!(inputs.len() <= MAX_INPUTS, "{} inputs", inputs.len());
    for input in &inputs {
        let _ = input.is_content();
        strings(&input.text());
    }
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        assert_eq!(inputs.len(), 1, "a non-JSON event is one raw input");
        return;
    };
    if let Some(req) = HttpRequest::from_event(&event) {
        assert!(!req.method.is_empty());
        for p in req.query.iter().chain(&req.headers).chain(&req.cookies) {
            let _ = req.header(&p.name);
            let _ = req.query_param(&p.name);
            assert!(p.location.starts_with('/'), "location {:?}", p.location);
        }
        let _ = req.body_text();
        if let Some(ct) = &req.content_type {
            strings(ct);
            let boundary = decode::multipart_boundary(ct);
            for part in decode::multipart_parts(&req.body, boundary.as_deref()) {
                let _ = (part.name, part.filename, part.content_type, part.data.len());
            }
        }
    }
    let _ = views::records(&event);
    for r in cloudtrail::records(&event) {
        let _ = (r.raw(), r.pointer(), r.pointer_to("eventName"));
        let _ = (r.event_source(), r.service(), r.event_name(), r.action());
        let _ = (
            r.aws_region(),
            r.recipient_account_id(),
            r.source_ip(),
            r.user_agent(),
        );
        let _ = (
            r.error_code(),
            r.error_message(),
            r.is_access_denied(),
            r.read_only(),
        );
        if let Some(v) = r.request_parameters() {
            let _ = cloudtrail::json_document(v);
            if let Some(map) = v.as_object() {
                for (k, item) in map {
                    let _ = r.request_str(k);
                    let _ = cloudtrail::json_document(item);
                }
            }
        }
        let _ = (
            r.response_elements(),
            r.additional_event_data(),
            r.bucket_name(),
        );
        for res in r.resources() {
            if let Some(arn) = res.arn {
                strings(arn);
            }
        }
        identity(r.user_identity());
        strings(r.event_name());
        if let Some(code) = r.error_code() {
            let _ = cloudtrail::is_access_denied_code(code);
        }
    }
    for n in cloudtrail::s3_notifications(&event) {
        let _ = (
            n.pointer(),
            n.event_name(),
            n.aws_region(),
            n.bucket(),
            n.bucket_arn(),
        );
        let _ = (n.principal_id(), n.source_ip(), n.is_anonymous());
        if let Some(key) = n.key() {
            strings(key);
        }
    }
    if let Some(ol) = cloudtrail::object_lambda(&event) {
        let _ = (ol.context(), ol.user_request_url(), ol.input_s3_url());
        for arn in [ol.access_point_arn(), ol.supporting_access_point_arn()]
            .into_iter()
            .flatten()
        {
            strings(arn);
        }
        identity(ol.user_identity());
    }
    if let Some(ui) = event.get("userIdentity") {
        identity(cloudtrail::Identity::new(Some(ui)));
    }
});

fn identity(id: cloudtrail::Identity<'_>) {
    let _ = (
        id.kind(),
        id.arn(),
        id.account_id(),
        id.principal_id(),
        id.user_name(),
    );
    let _ = (id.access_key_id(), id.invoked_by(), id.session_issuer_arn());
    let _ = (
        id.mfa_authenticated(),
        id.is_assumed_role(),
        id.is_anonymous(),
    );
    let _ = (id.principal_arn(), id.account());
}

/// Every string helper on one value.
fn strings(s: &str) {
    let _ = decode::pointer_join("/a", s);
    let plain = decode::percent_decode(s, false);
    let form = decode::percent_decode(s, true);
    assert!(plain.len() <= s.len().max(1) * 3 && form.len() <= s.len().max(1) * 3);
    let _ = decode::percent_decode_bytes(s.as_bytes(), true);
    let _ = decode::form_pairs(s);
    let _ = decode::unescape_js(s);
    let _ = decode::html_entities(s);
    if decode::looks_base64(s) {
        let _ = decode::base64_decode(s);
    }
    let _ = decode::base64_decode(s);
    let _ = decode::multipart_boundary(s);
    let _ = decode::multipart_parts(s.as_bytes(), None);
    let _ = redact::secret(s, 4);
    let n = s.len();
    let _ = redact::snippet(s, n / 3, n / 2);
    let _ = redact::snippet(s, n, 0);
    let (a, b) = s.split_at(s.floor_char_boundary(n / 2));
    let _ = settings::glob(a, b);
    let _ = cloudtrail::strip_api_version(s);
    let _ = cloudtrail::role_arn_of_session(s);
    let _ = cloudtrail::account_of_arn(s);
    let _ = cloudtrail::percent_decode(s);
    let _ = cloudtrail::access_point_name(s);
    let _ = cloudtrail::json_document(&Value::String(s.to_string()));
}
