//! `layer/template.yaml` (SAM): cfn-lint passes on it, and so does `tests/check-template.py`,
//! which checks what cfn-lint cannot see (it validates SAM resources unexpanded): a layer per
//! architecture, gavel attached to both example functions, least-privilege IAM for every
//! destination, and cfn-lint again on the template after the SAM transform. The checker is shown
//! to reject deliberately broken copies, so a pass means something.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gavel_e2e::paths::{repo_root, venv_python};

fn template() -> PathBuf {
    repo_root().join("layer/template.yaml")
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `tests/check-template.py` on a template with the venv's Python (PyYAML, cfn-lint,
/// aws-sam-translator); `transform: false` skips its slow last check (SAM transform + cfn-lint).
fn check(template: &Path, transform: bool) -> Output {
    let py = venv_python().unwrap_or_else(|e| panic!("{e}"));
    let script = repo_root().join("tests/check-template.py");
    Command::new(py)
        .arg(&script)
        .args((!transform).then_some("--no-transform"))
        .arg(template)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()))
}

#[test]
fn cfn_lint_passes() {
    let cfn_lint = repo_root().join(".venv/bin/cfn-lint");
    assert!(
        cfn_lint.is_file(),
        "{} missing: run tests/setup-venv.sh (make test does)",
        cfn_lint.display()
    );
    let out = Command::new(&cfn_lint)
        .arg(template())
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", cfn_lint.display()));
    // Exit 0 only without errors, warnings and informational findings alike.
    assert!(
        out.status.success(),
        "{}",
        show("cfn-lint layer/template.yaml", &out)
    );
}

#[test]
fn layers_attachment_and_least_privilege_hold() {
    let out = check(&template(), true);
    assert!(
        out.status.success(),
        "{}",
        show("check-template.py layer/template.yaml", &out)
    );
}

/// (what, text in the template, its replacement, what the checker must say).
const BREAKAGES: &[(&str, &str, &str, &str)] = &[
    (
        "queue permission widened to every queue",
        "Action: [sqs:SendMessage, sqs:GetQueueUrl]\n            Resource: !GetAtt VerdictQueue.Arn",
        "Action: [sqs:SendMessage, sqs:GetQueueUrl]\n            Resource: \"*\"",
        "Allow with Resource \"*\"",
    ),
    (
        "topic permission widened by a wildcard ARN",
        "Action: sns:Publish\n            Resource: !Ref VerdictTopic",
        "Action: sns:Publish\n            Resource: !Sub \"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*\"",
        "sns:Publish on a wildcard resource",
    ),
    (
        "exec wrapper dropped from the Python function",
        "          AWS_LAMBDA_EXEC_WRAPPER: /opt/gavel/wrapper\n",
        "",
        "AWS_LAMBDA_EXEC_WRAPPER must be /opt/gavel/wrapper",
    ),
    (
        "shim pointed at the hand-over script",
        "GAVEL_FUNCTION_BOOTSTRAP: /var/task/function",
        "GAVEL_FUNCTION_BOOTSTRAP: /var/task/bootstrap",
        "it would loop",
    ),
    (
        "x86_64 layer on an arm64 function",
        "Layers: [!If [IsArm64, !Ref GavelLayerArm64, !Ref GavelLayerX8664]]",
        "Layers: [!Ref GavelLayerX8664]",
        "gets gavel layers ['x86_64']",
    ),
    (
        "SAM's broad SQS managed policy",
        "Policies: [!Ref GavelDestinationsPolicy]",
        "Policies: [AWSLambdaSQSQueueExecutionRole]",
        "use explicit statements",
    ),
    (
        "responder batch without partial failures",
        "      FunctionResponseTypes: [ReportBatchItemFailures]\n",
        "",
        "no ReportBatchItemFailures",
    ),
];

#[test]
fn checker_rejects_broken_templates() {
    let text = std::fs::read_to_string(template())
        .unwrap_or_else(|e| panic!("{}: {e}", template().display()));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("template.yaml");
    for (what, from, to, expect) in BREAKAGES {
        assert!(
            text.contains(from),
            "{what}: layer/template.yaml no longer contains {from:?}; update this breakage"
        );
        std::fs::write(&path, text.replacen(from, to, 1))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = check(&path, false);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.code() == Some(1) && stdout.contains(expect),
            "{what}: expected exit 1 saying {expect:?}\n{}",
            show("check-template.py", &out)
        );
    }
}

/// The expanded-template pass is live too: cfn-lint's rule relating a queue's visibility timeout
/// to its consumer's timeout (E3505) only fires after the SAM transform.
#[test]
fn checker_lints_the_transformed_template() {
    let text = std::fs::read_to_string(template())
        .unwrap_or_else(|e| panic!("{}: {e}", template().display()));
    let from = "VisibilityTimeout: 180";
    assert!(
        text.contains(from),
        "layer/template.yaml no longer contains {from:?}; update this test"
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, text.replacen(from, "VisibilityTimeout: 10", 1))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = check(&path, true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(1) && stdout.contains("then cfn-lint: E3505"),
        "{}",
        show("check-template.py", &out)
    );
}
