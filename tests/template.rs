//! `template.yaml`: cfn-lint and `sam validate --lint` pass, and the template keeps its contract with
//! the code (variables, redaction rule names, SAR metadata, EventBridge patterns, least privilege,
//! failure destination, the dashboard's metrics).

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_syslog_forwarder::config::{REQUIRED_IN_LAMBDA, VARIABLES};
use aws_syslog_forwarder::filters::Rule;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("cannot run the template checks");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    text
}

#[test]
fn cfn_lint_and_sam_validate_pass() {
    let text = run(Command::new(root().join("scripts/validate-template.sh")).current_dir(root()));
    assert!(text.contains("is a valid SAM Template"), "{text}");
}

#[test]
fn template_keeps_its_contract_with_the_code() {
    let python = root().join(".venv-sam/bin/python");
    assert!(
        python.exists(),
        "{} not found: run `make test`, which installs cfn-lint there",
        python.display()
    );
    let text = run(Command::new(python)
        .arg(Path::new("scripts/check_template.py"))
        .arg("template.yaml")
        .arg(env!("CARGO_PKG_VERSION"))
        .arg(REQUIRED_IN_LAMBDA.join(","))
        .arg(VARIABLES.join(","))
        .arg(Rule::ALL.map(Rule::name).join(","))
        .current_dir(root()));
    assert!(text.contains("template: 0 problem(s)"), "{text}");
}

#[test]
fn readme_documents_every_variable() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let missing: Vec<&str> = VARIABLES
        .iter()
        .copied()
        .filter(|var| !readme.contains(&format!("`{var}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
}
