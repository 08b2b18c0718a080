//! Crash inputs found by the `shipped_policies` fuzz target (`fuzz/`, docs/RELIABILITY.md),
//! kept byte for byte: each must give a verdict, never a panic (a trap in the sandbox, which
//! the host records as a policy error instead of the policy's verdict).

use gavel_policy_sdk::Invocation;
use gavel_policy_sdk::runtime::evaluate;
use malicious_content::MaliciousContent;

fn invocation(event: &[u8]) -> Invocation {
    Invocation::request(event.to_vec())
}

/// crash-904b584605ce94d761e74439d1401bc721fb04c3: an ALB event made non-JSON by two 0xff
/// bytes, scanned as raw text (U+FFFD after lossy decoding) inside an `<a ...>` tag.
#[test]
fn xss_handler_probe_inside_a_multibyte_character() {
    const EVENT: &[u8] = b"\
      {\"requestContext\":{\"elb\":{\"targetGroupArn\":\"arn:aws:elasticloadbalancing:us-east-1:123456\
      789012:targetgroup/lambda-target/abcdefgh\"}},\"httpMethod\":\"POST\",\"path\":\"/post\",\"multi\
      Val\x8a\x9aQueryStringParameters\":{},\"multiValueHeaders\":{\"user-agent\":[\"OWASP CRS test ag\
      ent\"],\"host\":[\"localhost\"],\"content-type\":[\"application/xml\"]},\"body\":\"<?xml version\
      =\\\"1.0\\\"?><root><a probe=\\\"h\xff\xffp://142601958/3\\\"></a></root>\",\"isBase64EncodeD\":\
      false}";
    assert_eq!(EVENT.len(), 428, "the artifact, byte for byte");
    evaluate::<MaliciousContent>(invocation(EVENT)).expect("a verdict");
}

/// An SQL injection under a JSON key longer than the host's 4 KiB field bound: the finding's
/// location (a JSON pointer through that key) made the host refuse the verdict as malformed
/// output, so `deny` became a policy error (`GAVEL_ON_POLICY_ERROR`, `alert` by default) and
/// enforce mode let the attack through. The SDK's `Report` now cuts fields to the bound.
#[test]
fn deny_survives_a_location_longer_than_the_host_bound() {
    let key = "x".repeat(5000);
    let body = serde_json::json!({ key: "1' OR '1'='1' --" }).to_string();
    let event = serde_json::json!({
        "version": "2.0", "rawPath": "/p", "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/p"}},
        "body": body, "isBase64Encoded": false
    });
    let verdict =
        evaluate::<MaliciousContent>(invocation(event.to_string().as_bytes())).expect("a verdict");
    assert_eq!(verdict.decision, gavel_policy_sdk::Decision::Deny);
    for f in &verdict.findings {
        for field in [&f.rule_id, &f.message, &f.location, &f.evidence] {
            assert!(
                field.len() <= 4096,
                "{} has a field of {} bytes",
                f.rule_id,
                field.len()
            );
        }
    }
}

/// crash-1ba5626d9dc988c98f14ec48839825d94969cbbd: a mutated CloudTrail-shaped event, not
/// JSON any more, whose lossily decoded text has `(){` right after a U+FFFD: the fork-bomb
/// rule sliced one byte past the separator, inside the 3-byte character.
#[test]
fn fork_bomb_name_after_a_multibyte_separator() {
    const EVENT: &[u8] = b"\
      {{\"xAmzRequestId\":\"requestId\",\"listObjectsContext\":{\"inputS3Url\":\"https:12:targetg{\
      \"version\":\"2.0\",\"routeKey\":\"$default\",\"rawPath\":\"/\",\"rawQueryString\":\"\",\"he\
      aders\":{\"accept\":\"*/*\",\"host\":\"localhost\",\"user-agent\":\"OWASP CRS test agent\",\"\
      content-type\":=Washington,L=Seattle,O=Amazon Web Services,OU=Security,CN=My Client\",\"vali\
      dity\":{\"notAfter\":\"Aug  5 00:28:21 2120 GMT\",\"notBefore\":\"Aug 29 00:28:21 2020 GMT\"\
      }}},\"domainName\":\"aaaaaaaaaa.execute-api.us-west-2.amazonaws.com\",\"domainPrefix\":\"aaa\
      aaaaaaa\",\"http\":{\"method\":\"POST\",\"path\":\"/\",\"protocol\":\"HTTP/1.1\",\"sourceIp\"\
      :\"1.2.3.4\",\"userAgent\":\"OWASP CRS test agent\"},\"requestId\":\"3560d717-7fcd-5534-aa55\
      -b4d6321b60e2\",\"routeKey\":\"$default\",\"stage\":\"$default\",\"time\":\"21/Apr/2020:15:0\
      8:21 +0000\",\"timeEpoch\":1587481701067},\"isBase64Encoded\":false,\"body\xde\xc5\xdd\x9c\x90\
      \x9b\x9a\xc8myfunction%28%29%7B+roup/lambda-target/\xe4abcdefgP^)7CC)7}$EI\"targetGroupArn\"\
      :\"arn:aws:elasticloadbalancing:us-elambda-111122223333.s3-object-lambda.us-east-1.amazonaws\
      .com\",\"Accept-Encoding\":\"identity\",\"X-Amz-Content-SHA256\":\"e3b0c44298fc1example\"}},\
      \"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"principalId\",\"arn\":\"arn:aws:iam\
      ::111122223333:user/username\",\"accountIxhtml:123456789012:targetgroup/lambdd\":\"111122223\
      333a-targCAR-STANDARD-ANTIVIRUS-TEST-FILE!echo+hello$H+H*                                   \
      \x20            \x1a           \",\"isBa\",\"accessKeyId\":\"accessKeyId\"},\"protocolVer+%s\
      7Dionse64Encoded\":fal\"s:\"1.e}01\"}\"}";
    assert_eq!(EVENT.len(), 1430, "the artifact, byte for byte");
    evaluate::<MaliciousContent>(invocation(EVENT)).expect("a verdict");
    // The rule still fires when a multi-byte character precedes the function name.
    let event = serde_json::json!({"queryStringParameters": {"q": "é:(){ :|:& };:"},
        "httpMethod": "GET", "path": "/"});
    let verdict =
        evaluate::<MaliciousContent>(invocation(event.to_string().as_bytes())).expect("a verdict");
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.rule_id == "rce.shell-syntax"),
        "{:?}",
        verdict.findings
    );
}
