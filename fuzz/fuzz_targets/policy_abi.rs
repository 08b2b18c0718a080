//! A policy's answer as raw guest memory, lifted by the host: a component (a hand-written
//! core module wrapped by wit-component) whose `evaluate` copies the event bytes to a fixed
//! address and returns that address as its `result<verdict, string>`. The fuzzer lays out
//! that memory — discriminants, list pointers and lengths, string bytes — and then corrupts
//! it, so the canonical ABI's checks (UTF-8, discriminants, out-of-bounds lists) and
//! `check_output` run on hostile output through the real `Engine::evaluate`.
//!
//! Oracle: without corruption the outcome must be exactly what the layout says (a verdict, a
//! `policy error`, or `malformed output` for bounds, bad UTF-8 or bad discriminants); with
//! corruption, any outcome but a panic.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use gavel::engine::{
    Decision, Engine, EngineBuilder, Evaluation, InvocationInput, LoadedPolicy, MAX_ACTIONS,
    MAX_FIELD_BYTES, MAX_FINDINGS, Phase, PolicySource,
};
use gavel::verdict::outcome_json;
use libfuzzer_sys::fuzz_target;

/// Where the guest puts the answer, and the most it copies.
const BASE: u32 = 0x1000;
const MAX_IMAGE: usize = 0xF000;

const GUEST: &str = r#"
(module
  (memory (export "memory") 4)
  (global $bump (mut i32) (i32.const 0x20000))
  ;; describe: {name: "abi-fuzz", version: "0.0.0", phases: [request]}
  (data (i32.const 0x100) "\40\01\00\00\08\00\00\00\48\01\00\00\05\00\00\00\50\01\00\00\01\00\00\00")
  (data (i32.const 0x140) "abi-fuzz")
  (data (i32.const 0x148) "0.0.0")
  (data (i32.const 0x150) "\00")
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $new_size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $new_size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (local.get $have))
                                                     (i32.const 16))
                                          (i32.const 1)))
                    (i32.const -1))
          (then unreachable))))
    (if (local.get $old_size)
      (then (memory.copy (local.get $p) (local.get $old) (local.get $old_size))))
    (global.set $bump (local.get $end))
    (local.get $p))
  (func (export "gavel:policy/policy@0.1.0#describe") (result i32) (i32.const 0x100))
  ;; ok(()): a zeroed result at 0x200
  (func (export "gavel:policy/policy@0.1.0#validate-settings") (param i32 i32) (result i32)
    (i32.const 0x200))
  ;; invocation (by pointer): event list at offset 28 (ptr) / 32 (len)
  (func (export "gavel:policy/policy@0.1.0#evaluate") (param $inv i32) (result i32)
    (local $len i32)
    (local.set $len (i32.load offset=32 (local.get $inv)))
    (if (i32.gt_u (local.get $len) (i32.const 0xF000)) (then (local.set $len (i32.const 0xF000))))
    (memory.copy (i32.const 0x1000) (i32.load offset=28 (local.get $inv)) (local.get $len))
    (i32.const 0x1000))
)
"#;

fn guest_component() -> Vec<u8> {
    let mut module = wat::parse_str(GUEST).expect("guest WAT");
    let mut resolve = wit_parser::Resolve::default();
    let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/wit");
    let (pkg, _) = resolve.push_dir(wit).expect("policies/wit");
    let world = resolve
        .select_world(&[pkg], Some("gavel-policy"))
        .expect("world");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed WIT");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .expect("componentize")
}

fn policy() -> &'static (Engine, LoadedPolicy) {
    static POLICY: OnceLock<(Engine, LoadedPolicy)> = OnceLock::new();
    POLICY.get_or_init(|| {
        let engine = EngineBuilder::new().build().expect("engine");
        let source = PolicySource {
            label: "abi-fuzz".into(),
            bytes: guest_component(),
            expected_sha256: None,
            precompiled: None,
        };
        let policy = engine.load(source, "{}").expect("load the abi-fuzz guest");
        (engine, policy)
    })
}

/// String bytes: usually UTF-8 text, sometimes not.
#[derive(Arbitrary, Debug)]
enum Str {
    Text(String),
    Raw(Vec<u8>),
    /// A text repeated past the 4 KiB bound.
    Long(char, u8),
}

impl Str {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Str::Text(s) => s.as_bytes().to_vec(),
            Str::Raw(b) => b.clone(),
            Str::Long(c, extra) => {
                let one = c.to_string();
                one.repeat(MAX_FIELD_BYTES / one.len() + usize::from(*extra % 8))
                    .into_bytes()
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct F {
    rule_id: Str,
    severity: u8,
    message: Str,
    location: Str,
    evidence: Str,
}

#[derive(Arbitrary, Debug)]
struct Answer {
    /// Corruptions: (offset into the image, little-endian word written there). Not the last
    /// field, which `arbitrary` fills with all remaining bytes: most inputs have none, so the
    /// exact oracle applies to most runs.
    pokes: Vec<(u16, u32)>,
    /// `result` discriminant: 0 ok, 1 err, anything else invalid.
    tag: u8,
    /// `decision` discriminant: 0..=2 valid.
    decision: u8,
    findings: Vec<F>,
    /// Copies of the last finding, to cross `MAX_FINDINGS`.
    more_findings: u16,
    actions: Vec<Str>,
    more_actions: u8,
    error: Str,
}

/// The image and what the host must make of it when it is not corrupted.
fn layout(a: &Answer) -> (Vec<u8>, Expect) {
    let mut img = vec![0u8; 24];
    let mut valid_utf8 = true;
    let mut push_str = |img: &mut Vec<u8>, at: usize, s: &[u8]| {
        valid_utf8 &= std::str::from_utf8(s).is_ok();
        let ptr = BASE + img.len() as u32;
        img.extend_from_slice(s);
        img[at..at + 4].copy_from_slice(&ptr.to_le_bytes());
        img[at + 4..at + 8].copy_from_slice(&(s.len() as u32).to_le_bytes());
    };
    img[0] = a.tag;
    let expect = if a.tag == 1 {
        let e = a.error.bytes();
        push_str(&mut img, 4, &e);
        if valid_utf8 {
            Expect::PolicyError
        } else {
            Expect::Malformed
        }
    } else {
        img[4] = a.decision;
        let mut findings: Vec<&F> = a.findings.iter().collect();
        if let Some(last) = a.findings.last() {
            findings.extend(std::iter::repeat_n(
                last,
                usize::from(a.more_findings % 300),
            ));
        }
        let mut actions: Vec<&Str> = a.actions.iter().collect();
        if let Some(last) = a.actions.last() {
            actions.extend(std::iter::repeat_n(last, usize::from(a.more_actions % 80)));
        }
        // Finding records: 36 bytes, align 4; action strings: 8 bytes.
        let f_at = img.len();
        img.resize(f_at + 36 * findings.len(), 0);
        img[8..12].copy_from_slice(&(BASE + f_at as u32).to_le_bytes());
        img[12..16].copy_from_slice(&(findings.len() as u32).to_le_bytes());
        let a_at = img.len();
        img.resize(a_at + 8 * actions.len(), 0);
        img[16..20].copy_from_slice(&(BASE + a_at as u32).to_le_bytes());
        img[20..24].copy_from_slice(&(actions.len() as u32).to_le_bytes());
        let (mut too_long, mut no_rule, mut bad_severity) = (false, false, false);
        for (i, f) in findings.iter().enumerate() {
            let at = f_at + 36 * i;
            img[at + 8] = f.severity;
            bad_severity |= f.severity > 3;
            for (off, s) in [
                (0, &f.rule_id),
                (12, &f.message),
                (20, &f.location),
                (28, &f.evidence),
            ] {
                let b = s.bytes();
                too_long |= b.len() > MAX_FIELD_BYTES;
                no_rule |= off == 0 && b.is_empty();
                push_str(&mut img, at + off, &b);
            }
        }
        for (i, s) in actions.iter().enumerate() {
            let b = s.bytes();
            too_long |= b.len() > MAX_FIELD_BYTES;
            push_str(&mut img, a_at + 8 * i, &b);
        }
        // The host checks lengths as it lifts, in field order, and a rule id after: an answer
        // both malformed and over a bound is refused for whichever it meets first.
        let over = findings.len() > MAX_FINDINGS || actions.len() > MAX_ACTIONS || too_long;
        if a.tag > 1 || a.decision > 2 {
            Expect::Malformed
        } else if bad_severity || !valid_utf8 {
            if over {
                Expect::MalformedOrOutOfBounds
            } else {
                Expect::Malformed
            }
        } else if over || no_rule {
            Expect::OutOfBounds
        } else {
            Expect::Verdict(findings.len(), actions.len())
        }
    };
    (img, expect)
}

#[derive(Debug, PartialEq)]
enum Expect {
    Verdict(usize, usize),
    PolicyError,
    /// Refused by the canonical ABI (bad UTF-8, discriminant).
    Malformed,
    /// Refused for a bound (as it is lifted, or by `check_output`).
    OutOfBounds,
    MalformedOrOutOfBounds,
}

fuzz_target!(|a: Answer| {
    let (mut img, mut expect) = layout(&a);
    if img.len() > MAX_IMAGE {
        return;
    }
    for (off, word) in &a.pokes {
        let at = usize::from(*off) % img.len().max(1);
        let end = (at + 4).min(img.len());
        img[at..end].copy_from_slice(&word.to_le_bytes()[..end - at]);
        expect = Expect::Malformed; // anything goes, short of a panic
    }
    let corrupted = !a.pokes.is_empty();
    let (engine, policy) = policy();
    let input = InvocationInput {
        request_id: "abi".into(),
        event: img,
        ..InvocationInput::default()
    };
    let mut evaluation = Evaluation::new(input, Phase::Request);
    let outcome = engine.evaluate(policy, &mut evaluation, Decision::Alert);
    let _ = outcome_json(&outcome);
    if let Some(e) = &outcome.error {
        assert!(e.len() <= 2 * MAX_FIELD_BYTES, "error of {} bytes", e.len());
        assert_eq!(outcome.decision, Decision::Alert);
    }
    if corrupted {
        return;
    }
    let error = outcome.error.as_deref().unwrap_or("");
    match expect {
        Expect::Verdict(f, n) => {
            assert!(outcome.error.is_none(), "refused a valid answer: {error}");
            assert_eq!((outcome.findings.len(), outcome.actions.len()), (f, n));
        }
        Expect::PolicyError => assert!(error.starts_with("policy error: "), "{error:?}"),
        Expect::OutOfBounds => assert!(error.starts_with("malformed output: "), "{error:?}"),
        Expect::Malformed => assert!(
            error.starts_with("malformed output or instantiation failure: "),
            "{error:?}"
        ),
        Expect::MalformedOrOutOfBounds => {
            assert!(error.starts_with("malformed output"), "{error:?}")
        }
    }
});
