//! The rule table: each rule is a pure function over one parsed CloudTrail record of
//! `ecr.amazonaws.com`, saying whether it fires and at which syslog severity.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::policy;
use crate::record::Severity;

/// One detection rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    /// MITRE ATT&CK technique.
    pub technique: &'static str,
    /// MITRE ATT&CK tactic of that technique.
    pub tactic: &'static str,
    /// The severity when the rule fires on a successful call, or `None` when it does not fire.
    pub matches: fn(&Trail) -> Option<Severity>,
}

/// The fields of a CloudTrail record the rules read. Everything else (session context, TLS details,
/// resources, most responses) is skipped without being built, which keeps tagging cheap.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow)]
    event_source: Cow<'a, str>,
    #[serde(borrow)]
    event_name: Cow<'a, str>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_identity: Option<Identity<'a>>,
    #[serde(rename = "sourceIPAddress", borrow, default)]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(default)]
    request_parameters: Option<Value>,
    #[serde(borrow, default)]
    response_elements: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    account_id: Option<Cow<'a, str>>,
}

/// One CloudTrail record of `ecr.amazonaws.com`, as the rules see it.
pub struct Trail<'a> {
    fields: Fields<'a>,
}

impl<'a> Trail<'a> {
    /// `None` for anything that is not a CloudTrail record of ECR (malformed JSON included).
    pub fn parse(text: &'a str) -> Option<Trail<'a>> {
        let fields: Fields = serde_json::from_str(text).ok()?;
        (fields.event_source == "ecr.amazonaws.com").then_some(Trail { fields })
    }

    pub fn event_name(&self) -> &str {
        &self.fields.event_name
    }

    pub fn error_code(&self) -> Option<&str> {
        self.fields.error_code.as_deref()
    }

    /// Who made the call: the identity's ARN, or the AWS service that made it.
    pub fn principal(&self) -> Option<&str> {
        let identity = self.fields.user_identity.as_ref()?;
        identity.arn.as_deref().or(identity.invoked_by.as_deref())
    }

    pub fn source_ip(&self) -> Option<&str> {
        self.fields.source_ip_address.as_deref()
    }

    pub fn request(&self, key: &str) -> Option<&Value> {
        self.fields.request_parameters.as_ref()?.get(key)
    }

    /// The account the call was made in (the owner of the repository or registry).
    pub fn account(&self) -> Option<&str> {
        self.fields.recipient_account_id.as_deref().or_else(|| {
            self.fields
                .user_identity
                .as_ref()
                .and_then(|i| i.account_id.as_deref())
        })
    }

    /// The response, parsed only for the rules that read it.
    fn response(&self) -> Option<Value> {
        serde_json::from_str(self.fields.response_elements?.get()).ok()
    }

    /// The policy document of a `SetRepositoryPolicy` / `PutRegistryPolicy` call.
    fn policy(&self) -> Option<Value> {
        let text = self.request("policyText")?;
        match text {
            Value::String(text) => serde_json::from_str(text).ok(),
            // Some tools log the parsed document.
            Value::Object(_) => Some(text.clone()),
            _ => None,
        }
    }
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "ecr-forced-repository-delete",
        technique: "T1485",
        tactic: "TA0040",
        matches: |t| {
            (t.event_name() == "DeleteRepository" && forced(t)).then_some(Severity::Critical)
        },
    },
    Rule {
        id: "ecr-repository-delete",
        technique: "T1485",
        tactic: "TA0040",
        matches: |t| {
            (t.event_name() == "DeleteRepository" && !forced(t)).then_some(Severity::Notice)
        },
    },
    Rule {
        id: "ecr-image-delete",
        technique: "T1485",
        tactic: "TA0040",
        matches: |t| (t.event_name() == "BatchDeleteImage").then_some(Severity::Warning),
    },
    Rule {
        id: "ecr-scan-on-push-disabled",
        technique: "T1562.001",
        tactic: "TA0005",
        matches: |t| scan_on_push_disabled(t).then_some(Severity::Error),
    },
    Rule {
        id: "ecr-tag-mutability-enabled",
        technique: "T1578",
        tactic: "TA0005",
        matches: |t| {
            let mutable = matches!(
                t.request("imageTagMutability").and_then(Value::as_str),
                Some("MUTABLE" | "MUTABLE_WITH_EXCLUSION")
            );
            (t.event_name() == "PutImageTagMutability" && mutable).then_some(Severity::Error)
        },
    },
    Rule {
        id: "ecr-lifecycle-policy-put",
        technique: "T1484",
        tactic: "TA0004",
        matches: |t| {
            (t.event_name() == "PutLifecyclePolicy").then(|| {
                if lifecycle_has_first_priority_rule(t) {
                    Severity::Error
                } else {
                    Severity::Notice
                }
            })
        },
    },
    Rule {
        id: "ecr-repository-policy-changed",
        technique: "T1484",
        tactic: "TA0004",
        matches: |t| {
            matches!(
                t.event_name(),
                "SetRepositoryPolicy" | "DeleteRepositoryPolicy"
            )
            .then_some(Severity::Warning)
        },
    },
    Rule {
        id: "ecr-registry-policy-changed",
        technique: "T1484",
        tactic: "TA0004",
        matches: |t| {
            matches!(t.event_name(), "PutRegistryPolicy" | "DeleteRegistryPolicy")
                .then_some(Severity::Warning)
        },
    },
    Rule {
        id: "ecr-policy-public",
        technique: "T1530",
        tactic: "TA0009",
        matches: |t| {
            let public = sets_policy(t) && t.policy().is_some_and(|p| policy::allows_public(&p));
            public.then_some(Severity::Alert)
        },
    },
    Rule {
        id: "ecr-policy-cross-account",
        technique: "T1484",
        tactic: "TA0004",
        matches: |t| {
            let own = t.account().unwrap_or_default();
            let cross = sets_policy(t)
                && t.policy()
                    .is_some_and(|p| policy::allows_other_account(&p, own));
            cross.then_some(Severity::Warning)
        },
    },
    Rule {
        id: "ecr-repository-created",
        technique: "T1525",
        tactic: "TA0003",
        matches: |t| (t.event_name() == "CreateRepository").then_some(Severity::Notice),
    },
    Rule {
        id: "ecr-image-pushed",
        technique: "T1525",
        tactic: "TA0003",
        matches: |t| (t.event_name() == "PutImage").then_some(Severity::Informational),
    },
    Rule {
        id: "ecr-image-pulled",
        technique: "T1530",
        tactic: "TA0009",
        matches: |t| (t.event_name() == "BatchGetImage").then_some(Severity::Informational),
    },
    Rule {
        id: "ecr-scan-findings-high",
        technique: "T1204.003",
        tactic: "TA0002",
        matches: |t| {
            let [critical, high, _] = finding_counts(t)?;
            (critical + high > 0).then_some(Severity::Error)
        },
    },
    Rule {
        id: "ecr-scan-findings-medium",
        technique: "T1204.003",
        tactic: "TA0002",
        matches: |t| {
            let [critical, high, medium] = finding_counts(t)?;
            (critical + high == 0 && medium > 0).then_some(Severity::Warning)
        },
    },
];

fn forced(t: &Trail) -> bool {
    match t.request("force") {
        Some(Value::Bool(force)) => *force,
        Some(Value::String(force)) => force.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn sets_policy(t: &Trail) -> bool {
    matches!(t.event_name(), "SetRepositoryPolicy" | "PutRegistryPolicy")
}

/// `scanOnPush` turned off for a repository, or a registry scanning configuration without any
/// scan-on-push or continuous rule (so nothing is scanned automatically any more).
fn scan_on_push_disabled(t: &Trail) -> bool {
    match t.event_name() {
        "PutImageScanningConfiguration" => {
            let scan_on_push = t
                .request("imageScanningConfiguration")
                .and_then(|c| c.get("scanOnPush"));
            matches!(scan_on_push, Some(Value::Bool(false)))
                || matches!(scan_on_push, Some(Value::String(s)) if s.eq_ignore_ascii_case("false"))
        }
        "PutRegistryScanningConfiguration" => {
            let rules = t.request("rules").and_then(Value::as_array);
            !rules.is_some_and(|rules| {
                rules.iter().any(|rule| {
                    let frequency = rule.get("scanFrequency").and_then(Value::as_str);
                    let filtered = rule
                        .get("repositoryFilters")
                        .and_then(Value::as_array)
                        .is_some_and(|filters| !filters.is_empty());
                    matches!(frequency, Some("SCAN_ON_PUSH" | "CONTINUOUS_SCAN")) && filtered
                })
            })
        }
        _ => false,
    }
}

/// A lifecycle rule with `rulePriority` 1 is evaluated first and can expire images the others
/// would keep. A policy text that cannot be read might hold one, so it counts as having one.
fn lifecycle_has_first_priority_rule(t: &Trail) -> bool {
    let policy = match t.request("lifecyclePolicyText") {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
        Some(other @ Value::Object(_)) => Some(other.clone()),
        _ => None,
    };
    match policy
        .as_ref()
        .and_then(|p| p.get("rules"))
        .and_then(Value::as_array)
    {
        Some(rules) => rules
            .iter()
            .any(|r| r.get("rulePriority").and_then(Value::as_u64) == Some(1)),
        None => true,
    }
}

/// CRITICAL, HIGH and MEDIUM counts of a `DescribeImageScanFindings` response.
fn finding_counts(t: &Trail) -> Option<[u64; 3]> {
    if t.event_name() != "DescribeImageScanFindings" {
        return None;
    }
    let response = t.response()?;
    let counts = response
        .get("imageScanFindings")?
        .get("findingSeverityCounts")?;
    let count = |level: &str| counts.get(level).and_then(Value::as_u64).unwrap_or(0);
    Some([count("CRITICAL"), count("HIGH"), count("MEDIUM")])
}
