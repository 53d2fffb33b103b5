"""Checks template.yaml for what cfn-lint and `sam validate` do not: the contract with the code.

Usage: check_template.py TEMPLATE VERSION REQUIRED_VARS KNOWN_VARS
(the variable lists comma-separated, as the code declares them). Prints each failure; exit 1 if any.
"""
import re
import sys

from cfnlint.decode import decode

template_path, version, required, known = sys.argv[1:5]
required, known = set(required.split(",")), set(known.split(","))
template, errors = decode(template_path)
failures = [f"cannot parse the template: {errors}"] if errors else []


def check(condition, message):
    if not condition:
        failures.append(message)


sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
check(sar.get("Name") == "aws-syslog-forwarder", "SAR Name must be aws-syslog-forwarder")
check(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", sar.get("Author", "")), "SAR Author: lowercase letters, digits, single hyphens")
check(sar.get("SemanticVersion") == version, f"SAR SemanticVersion {sar.get('SemanticVersion')} != Cargo.toml {version}")
for key in ["Description", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl", "Labels", "HomePageUrl", "SourceCodeUrl"]:
    check(sar.get(key), f"SAR metadata lacks {key}")
check(all(re.fullmatch(r"[a-zA-Z0-9+\-_:\\/@]{1,127}", label) for label in sar.get("Labels", [])), "SAR labels malformed")

for name, parameter in template["Parameters"].items():
    check(parameter.get("Description"), f"parameter {name} has no Description")
    constrained = any(k in parameter for k in ["AllowedValues", "AllowedPattern", "MinValue", "MaxValue", "MaxLength"])
    check(constrained, f"parameter {name} has no constraint")
for name in ["SyslogHost", "SyslogPort", "SyslogTls", "Organisation", "SyslogTlsCa", "SyslogFormat", "SyslogFraming",
             "SyslogMaxMessageBytes", "LogGroupName", "LogFilterPattern", "EcrScanRule", "InspectorScanRule",
             "ForwardEcrEvents", "MemorySize", "Timeout", "ReservedConcurrency", "LogRetentionDays", "Architecture",
             "SyslogTlsPinSha256", "SyslogTlsClientCert", "SyslogTlsClientKey", "Detections", "DetectionsDisable"]:
    check(name in template["Parameters"], f"parameter {name} is missing")
check(template["Parameters"]["SyslogPort"].get("Default") == 6514, "SyslogPort defaults to 6514")
check(template["Parameters"]["SyslogTls"].get("Default") == "True", "SyslogTls defaults to True")
check(template["Parameters"]["Architecture"].get("Default") == "arm64", "Architecture defaults to arm64")
check(template["Parameters"].get("SyslogTlsClientKey", {}).get("NoEcho") is True, "SyslogTlsClientKey is NoEcho")

resources = template["Resources"]
function = resources["ForwarderFunction"]["Properties"]
variables = set(function["Environment"]["Variables"])
check(variables <= known, f"the template sets variables the code does not read: {sorted(variables - known)}")
check(required <= variables, f"the template does not set required variables: {sorted(required - variables)}")
check(function["Runtime"] == "provided.al2023" and function["Handler"] == "bootstrap", "provided.al2023 / bootstrap")
check(resources["ForwarderFunction"].get("Metadata", {}).get("BuildMethod") == "rust-cargolambda", "BuildMethod rust-cargolambda")

actions = []
for policy in function["Policies"]:
    for statement in policy.get("Statement", []):
        acts = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions += acts
check([a for a in actions if a.startswith("ecr:")] == ["ecr:DescribeImageScanFindings"], f"ECR actions: {actions}")
check(not any("*" in a for a in actions), f"wildcard actions: {actions}")
check(set(actions) == {"ecr:DescribeImageScanFindings", "sqs:SendMessage"}, f"unexpected actions: {actions}")

invoke = function["EventInvokeConfig"]
check(invoke["MaximumRetryAttempts"] == 2, "EventInvokeConfig MaximumRetryAttempts 2")
check(invoke["DestinationConfig"]["OnFailure"]["Type"] == "SQS", "the failure destination is SQS")
check(resources["FailureQueue"]["Properties"].get("SqsManagedSseEnabled") is True, "the failure queue has SSE")

patterns = {
    "EcrScanEventRule": {"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"], "detail": {"scan-status": ["COMPLETE"]}},
    "InspectorScanEventRule": {"source": ["aws.inspector2"], "detail-type": ["Inspector2 Scan"],
                               "detail": {"scan-status": ["INITIAL_SCAN_COMPLETE"]}},
}
for name, pattern in patterns.items():
    check(resources[name]["Properties"]["EventPattern"] == pattern, f"{name} pattern differs from {pattern}")
for name, resource in resources.items():
    if resource["Type"] == "AWS::Events::Rule":
        for target in resource["Properties"]["Targets"]:
            check("DeadLetterConfig" in target and "RetryPolicy" in target, f"{name} target lacks DLQ or retry policy")

permission = resources["LogsInvokePermission"]["Properties"]
check(permission["Principal"] == "logs.amazonaws.com" and "SourceAccount" in permission and "SourceArn" in permission,
      "the logs permission is scoped by SourceAccount and SourceArn")
check(resources["LogSubscription"].get("Condition") == "SubscribeLogGroup", "the subscription is conditional")
check("LogGroupIsOwn" in template["Conditions"], "the template guards against subscribing the function's own log group")
for output in ["FunctionArn", "FunctionName", "FailureQueueUrl", "DashboardUrl", "SubscribeLogGroupCommand"]:
    check(output in template["Outputs"], f"output {output} is missing")

for failure in failures:
    print(f"template: {failure}")
print(f"template: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
