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

/// `template.yaml` with the defaults of `values` replaced, so the linters see that deployment.
fn with_defaults(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        let start = text
            .find(&format!("\n  {name}:\n"))
            .unwrap_or_else(|| panic!("parameter {name} not found"));
        let default = start
            + text[start..]
                .find("\n    Default: ")
                .unwrap_or_else(|| panic!("parameter {name} has no Default"));
        let end = default + 1 + text[default + 1..].find('\n').expect("line end");
        text.replace_range(default..end, &format!("\n    Default: \"{value}\""));
    }
    text
}

/// cfn-lint checks each value against the parameter's constraints and the resources it makes; `sam
/// validate --lint` translates it. Both with every new parameter set (the Rules are checked by
/// check_template.py, which neither tool evaluates).
#[test]
fn linters_pass_with_every_new_parameter_set() {
    let venv = root().join(".venv-sam/bin");
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let sets: &[(&str, &[(&str, &str)])] = &[
        (
            "vpc",
            &[
                (
                    "SubnetIds",
                    "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
                ),
                ("SecurityGroupIds", "sg-0123456789abcdef0"),
            ],
        ),
        (
            "boundary",
            &[
                (
                    "PermissionsBoundaryArn",
                    "arn:aws:iam::123456789012:policy/org/Boundary",
                ),
                ("CentralAccount", "True"),
                ("OrganizationId", "o-a1b2c3d4e5"),
            ],
        ),
        (
            "trim-horizon",
            &[
                (
                    "KinesisStreamArn",
                    "arn:aws:kinesis:us-east-1:123456789012:stream/logs",
                ),
                ("KinesisStartingPosition", "TRIM_HORIZON"),
            ],
        ),
        (
            "key-in-secrets-manager",
            &[(
                "SyslogTlsClientKeySecretArn",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:siem/key-AbCdEf",
            )],
        ),
        (
            "key-in-ssm-with-kms",
            &[
                (
                    "SyslogTlsClientKeySecretArn",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/siem/key",
                ),
                (
                    "SyslogTlsClientKeyKmsKeyArn",
                    "arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab",
                ),
            ],
        ),
        (
            "context",
            &[
                ("ExtraFields", "env=prod,team=payments"),
                ("ForwardLogGroupTags", "True"),
            ],
        ),
        (
            "all-log-groups",
            &[
                ("SubscribeAllLogGroups", "True"),
                (
                    "LogFilterPattern",
                    "{ $.eventSource = \\\"ecr.amazonaws.com\\\" }",
                ),
            ],
        ),
    ];
    let dir = root().join("target/template-sets");
    std::fs::create_dir_all(&dir).expect("target/template-sets");
    for (label, values) in sets {
        let path = dir.join(format!("{label}.yaml"));
        std::fs::write(&path, with_defaults(&template, values)).expect("write the template copy");
        run(Command::new(venv.join("cfn-lint")).arg(&path));
        let text = run(Command::new(venv.join("sam"))
            .args(["validate", "--lint", "--region", "us-east-1", "-t"])
            .arg(&path)
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_DEFAULT_REGION", "us-east-1"));
        assert!(text.contains("is a valid SAM Template"), "{label}: {text}");
    }
    // The substitution itself works: a value the patterns refuse makes cfn-lint fail.
    let path = dir.join("refused.yaml");
    std::fs::write(&path, with_defaults(&template, &[("SubnetIds", "vpc-1")])).expect("write");
    let output = Command::new(venv.join("cfn-lint"))
        .arg(&path)
        .output()
        .expect("cfn-lint");
    assert!(
        !output.status.success(),
        "cfn-lint accepted SubnetIds=vpc-1"
    );
}
