"""Checks template.yaml for what cfn-lint and `sam validate` do not: the contract with the code.

Usage: check_template.py TEMPLATE VERSION REQUIRED_VARS KNOWN_VARS [REDACT_RULES]
(the lists comma-separated, as the code declares them; REDACT_RULES the built-in redaction rule names).
Prints each failure; exit 1 if any.

Besides the structure, it evaluates the template (conditions, Rules, Fn::If/Sub/Join/Split) for a few
parameter sets, the way CloudFormation would, and checks what each deployment would really create.
"""
import json
import re
import sys

from cfnlint.decode import decode

template_path, version, required, known = sys.argv[1:5]
required, known = set(required.split(",")), set(known.split(","))
redact_rules = sys.argv[5].split(",") if len(sys.argv) > 5 else []
template, errors = decode(template_path)
failures = [f"cannot parse the template: {errors}"] if errors else []
with open(template_path, encoding="utf-8") as source:
    raw_text = source.read()


def check(condition, message):
    if not condition:
        failures.append(message)


def as_list(value):
    return value if isinstance(value, list) else [value]


def getatt(resource, attribute):
    return {"Fn::GetAtt": [resource, attribute]}


def ref(name):
    return {"Ref": name}


def leaves(value):
    """The values an Fn::If tree can take (AWS::NoValue left out)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        return leaves(value["Fn::If"][1]) + leaves(value["Fn::If"][2])
    return [] if value == ref("AWS::NoValue") else [value]


sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
check(sar.get("Name") == "aws-syslog-forwarder", "SAR Name must be aws-syslog-forwarder")
check(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", sar.get("Author", "")), "SAR Author: lowercase letters, digits, single hyphens")
check(sar.get("SemanticVersion") == version, f"SAR SemanticVersion {sar.get('SemanticVersion')} != Cargo.toml {version}")
for key in ["Description", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl", "Labels", "HomePageUrl", "SourceCodeUrl"]:
    check(sar.get(key), f"SAR metadata lacks {key}")
check(all(re.fullmatch(r"[a-zA-Z0-9+\-_:\\/@]{1,127}", label) for label in sar.get("Labels", [])), "SAR labels malformed")

parameters = template["Parameters"]
for name, parameter in parameters.items():
    check(parameter.get("Description"), f"parameter {name} has no Description")
    constrained = any(k in parameter for k in ["AllowedValues", "AllowedPattern", "MinValue", "MaxValue", "MaxLength"])
    check(constrained, f"parameter {name} has no constraint")
for name in ["SyslogHost", "SyslogPort", "SyslogTransport", "SyslogRelpWindow", "SyslogTls", "Organisation", "SyslogTlsCa", "SyslogFormat", "SyslogFraming",
             "SyslogMaxMessageBytes", "LogGroupName", "LogFilterPattern", "EcrScanRule", "InspectorScanRule",
             "ForwardEcrEvents", "MemorySize", "Timeout", "ReservedConcurrency", "LogRetentionDays", "Architecture",
             "SyslogTlsPinSha256", "SyslogTlsClientCert", "SyslogTlsClientKey", "Detections", "DetectionsDisable",
             "KinesisStreamArn", "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor",
             "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "RedriveFailureQueue", "CentralAccount",
             "SourceAccountIds", "OrganizationId", "FilterInclude", "FilterExclude", "Redact", "RedactRegex",
             "S3BucketArns", "S3KmsKeyArn", "S3NotificationQueueArn", "S3MaxObjectBytes", "SubnetIds",
             "SecurityGroupIds", "PermissionsBoundaryArn", "KinesisStartingPosition", "SubscribeAllLogGroups",
             "SyslogTlsClientKeySecretArn", "SyslogTlsClientKeyKmsKeyArn"]:
    check(name in parameters, f"parameter {name} is missing")
check(parameters["SyslogPort"].get("Default") == 6514, "SyslogPort defaults to 6514")
check(parameters["SyslogTls"].get("Default") == "True", "SyslogTls defaults to True")
check(parameters.get("SyslogTransport", {}).get("Default") == "tcp", "SyslogTransport defaults to tcp")
check(parameters.get("SyslogTransport", {}).get("AllowedValues") == ["tcp", "relp"], "SyslogTransport: AllowedValues tcp/relp")
check(parameters["Architecture"].get("Default") == "arm64", "Architecture defaults to arm64")
check(parameters.get("SyslogTlsClientKey", {}).get("NoEcho") is True, "SyslogTlsClientKey is NoEcho")
new_defaults = {"KinesisStreamArn": "", "BatchSize": 100, "MaximumBatchingWindowInSeconds": 1, "ParallelizationFactor": 1,
                "MaximumRetryAttempts": 10, "MaximumRecordAgeInSeconds": 86400, "RedriveFailureQueue": "False",
                "CentralAccount": "False", "SourceAccountIds": "", "OrganizationId": "", "FilterInclude": "",
                "FilterExclude": "", "Redact": "", "RedactRegex": "", "S3BucketArns": "",
                "S3KmsKeyArn": "", "S3NotificationQueueArn": "", "S3MaxObjectBytes": 1073741824, "SubnetIds": "",
                "SecurityGroupIds": "", "PermissionsBoundaryArn": "", "KinesisStartingPosition": "LATEST",
                "SubscribeAllLogGroups": "False", "SyslogTlsClientKeySecretArn": "", "SyslogTlsClientKeyKmsKeyArn": "",
                "ExtraFields": "", "ForwardLogGroupTags": "False"}
for name, default in new_defaults.items():
    check(parameters.get(name, {}).get("Default") == default, f"parameter {name} defaults to {default!r}")
for name in ["SubnetIds", "SecurityGroupIds"]:
    check(parameters.get(name, {}).get("Type") == "CommaDelimitedList", f"{name} is a CommaDelimitedList")
check(parameters.get("KinesisStartingPosition", {}).get("AllowedValues") == ["LATEST", "TRIM_HORIZON"],
      "KinesisStartingPosition: AllowedValues LATEST/TRIM_HORIZON")
for name in ["RedriveFailureQueue", "CentralAccount", "SubscribeAllLogGroups", "ForwardLogGroupTags"]:
    check(parameters.get(name, {}).get("AllowedValues") == ["True", "False"], f"{name}: AllowedValues True/False")
factor = parameters.get("ParallelizationFactor", {})
check((factor.get("MinValue"), factor.get("MaxValue")) == (1, 10), "ParallelizationFactor is 1-10")
# -1 means infinite for both: one poison record would stall its shard until it expires.
check(parameters.get("MaximumRetryAttempts", {}).get("MinValue", -1) >= 0, "MaximumRetryAttempts must not allow -1")
check(parameters.get("MaximumRecordAgeInSeconds", {}).get("MinValue", -1) >= 60, "MaximumRecordAgeInSeconds must not allow -1")
check(parameters.get("OrganizationId", {}).get("AllowedPattern") == "^(o-[a-z0-9]{10,32})?$", "OrganizationId pattern")
grouped = [p for group in template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"] for p in group["Parameters"]]
check(sorted(grouped) == sorted(parameters), f"parameters not in exactly one interface group: "
      f"{sorted(set(parameters) ^ set(grouped)) or sorted({p for p in grouped if grouped.count(p) > 1})}")

resources = template["Resources"]
conditions = template.get("Conditions", {})
function = resources["ForwarderFunction"]["Properties"]
variables = set(function["Environment"]["Variables"])
check(function["Environment"]["Variables"].get("SYSLOG_TRANSPORT") == ref("SyslogTransport"),
      "SYSLOG_TRANSPORT must be the SyslogTransport parameter")
check(variables <= known, f"the template sets variables the code does not read: {sorted(variables - known)}")
check(required <= variables, f"the template does not set required variables: {sorted(required - variables)}")
check(function["Environment"]["Variables"].get("S3_MAX_OBJECT_BYTES") == ref("S3MaxObjectBytes"),
      "S3_MAX_OBJECT_BYTES must be the S3MaxObjectBytes parameter")
check(function["Runtime"] == "provided.al2023" and function["Handler"] == "bootstrap", "provided.al2023 / bootstrap")
# Filters and redaction: each variable is its parameter, unchanged (an empty value turns it off).
for variable, parameter in {"SYSLOG_TLS_CLIENT_KEY_SECRET_ARN": "SyslogTlsClientKeySecretArn", "FILTER_INCLUDE": "FilterInclude", "FILTER_EXCLUDE": "FilterExclude", "REDACT": "Redact",
                            "REDACT_REGEX": "RedactRegex", "SYSLOG_EXTRA_FIELDS": "ExtraFields",
                            "LOG_GROUP_TAGS": "ForwardLogGroupTags"}.items():
    check(function["Environment"]["Variables"].get(variable) == ref(parameter), f"{variable} must be !Ref {parameter}")
# Regexes must fit in the function's 4 KB of environment together with the rest.
for name in ["FilterInclude", "FilterExclude", "RedactRegex"]:
    check(0 < parameters.get(name, {}).get("MaxLength", 0) <= 1024, f"{name}: MaxLength at most 1024")
redact_pattern = parameters.get("Redact", {}).get("AllowedPattern", "")
if redact_rules:
    for accepted in ["", ",".join(redact_rules), " , ".join(reversed(redact_rules))] + redact_rules:
        check(re.search(redact_pattern, accepted), f"Redact AllowedPattern refuses {accepted!r}")
    for refused in [redact_rules[0] + "s", "all", redact_rules[0] + ";" + redact_rules[-1], ","]:
        check(not re.search(redact_pattern, refused), f"Redact AllowedPattern accepts {refused!r}")
check(resources["ForwarderFunction"].get("Metadata", {}).get("BuildMethod") == "rust-cargolambda", "BuildMethod rust-cargolambda")

# --- IAM: every statement the function's role gets, inline (Policies) or from AWS::IAM::Policy resources.
FAILURE_QUEUE = getatt("FailureQueue", "Arn")
CENTRAL_STREAM = getatt("CentralStream", "Arn")
KINESIS_READ = {"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards"}
SQS_CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"}
# GetObjectVersion: the version a notification or EventBridge event names, in a versioned bucket.
S3_READ = {"s3:GetObject", "s3:GetObjectVersion"}
ECR_RESOURCE = {"Fn::Sub": "arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*"}
S3_QUEUE = ref("S3NotificationQueueArn")
# Each bucket ARN (with its optional prefix) becomes the ARN of the objects under it.
S3_OBJECTS = {"Fn::Split": [",", {"Fn::Join": ["", [{"Fn::Join": ["/*,", {"Fn::Split": [",", ref("S3BucketArns")]}]}, "/*"]]}]}

# The function's role is the template's own (SAM would add the VPC policy to the role it generates).
FUNCTION_ROLE = resources.get("ForwarderFunctionRole", {})
role_props = FUNCTION_ROLE.get("Properties", {})
check(FUNCTION_ROLE.get("Type") == "AWS::IAM::Role" and "Condition" not in FUNCTION_ROLE, "ForwarderFunctionRole is an AWS::IAM::Role")
check(function.get("Role") == getatt("ForwarderFunctionRole", "Arn"), "the function uses ForwarderFunctionRole (Role)")
check("Policies" not in function, "the function has no SAM Policies (SAM would generate a role)")
trust = role_props.get("AssumeRolePolicyDocument", {}).get("Statement", [])
check([s.get("Principal") for s in trust] == [{"Service": "lambda.amazonaws.com"}], "the function role trusts lambda.amazonaws.com only")
VPC_POLICY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}
check(role_props.get("ManagedPolicyArns") == {"Fn::If": ["InVpc", [VPC_POLICY], ref("AWS::NoValue")]},
      f"the function role's only managed policy is the VPC one, under InVpc: {role_props.get('ManagedPolicyArns')}")
check(function.get("VpcConfig") == {"Fn::If": ["InVpc", {"SubnetIds": ref("SubnetIds"), "SecurityGroupIds": ref("SecurityGroupIds")},
                                               ref("AWS::NoValue")]}, f"VpcConfig only InVpc: {function.get('VpcConfig')}")
check(conditions.get("InVpc") == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", ref("SubnetIds")]}, ""]}]}, "InVpc = SubnetIds given")
# Every role the template creates has the boundary (a role without one is refused in many organisations).
BOUNDARY = {"Fn::If": ["BoundaryGiven", ref("PermissionsBoundaryArn"), ref("AWS::NoValue")]}
for name, resource in resources.items():
    if resource["Type"] == "AWS::IAM::Role":
        check(resource["Properties"].get("PermissionsBoundary") == BOUNDARY, f"role {name}: PermissionsBoundary must be {BOUNDARY}")
check(conditions.get("BoundaryGiven") == {"Fn::Not": [{"Fn::Equals": [ref("PermissionsBoundaryArn"), ""]}]}, "BoundaryGiven")
LOGS_WRITE = {"logs:CreateLogStream", "logs:PutLogEvents"}
CLIENT_KEY = ref("SyslogTlsClientKeySecretArn")
CLIENT_KEY_KMS = ref("SyslogTlsClientKeyKmsKeyArn")
OWN_LOG_GROUP = getatt("ForwarderLogGroup", "Arn")
LOG_GROUPS_OF_ACCOUNT = {"Fn::Sub": "arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:*"}
check(conditions.get("ReadLogGroupTags") == {"Fn::Equals": [ref("ForwardLogGroupTags"), "True"]},
      "ReadLogGroupTags = ForwardLogGroupTags is True")
inline_statements = [s for policy in role_props.get("Policies", []) for s in policy["PolicyDocument"].get("Statement", [])]
role_statements = [(None, s) for s in inline_statements]  # (the policy resource's Condition, statement)
role_policies = {}
for name, resource in resources.items():
    if resource["Type"] == "AWS::IAM::Policy" and ref("ForwarderFunctionRole") in resource["Properties"].get("Roles", []):
        role_policies[name] = resource
        role_statements += [(resource.get("Condition"), s) for s in resource["Properties"]["PolicyDocument"]["Statement"]]

actions = [a for s in inline_statements for a in as_list(s["Action"])]
check(set(actions) == {"ecr:DescribeImageScanFindings", "sqs:SendMessage"} | LOGS_WRITE, f"unexpected inline actions: {actions}")
all_actions = [a for _, s in role_statements for a in as_list(s["Action"])]
check(not any("*" in a for a in all_actions), f"wildcard actions: {all_actions}")
for condition, statement in role_statements:
    acts = set(as_list(statement["Action"]))
    targets = [leaf for r in as_list(statement["Resource"]) for leaf in leaves(r)]
    check(statement.get("Effect") == "Allow" and "NotAction" not in statement and "NotResource" not in statement,
          f"statement {statement.get('Sid')}: Allow with Action/Resource only")
    check("*" not in targets, f"statement {statement.get('Sid')} allows every resource")
    if any(a.startswith("ecr:") for a in acts):
        check(acts == {"ecr:DescribeImageScanFindings"} and as_list(statement["Resource"]) == [ECR_RESOURCE],
              f"ECR: only DescribeImageScanFindings on this account's repositories in every region, not "
              f"{sorted(acts)} on {statement['Resource']}")
    if any(a.startswith("kinesis:") for a in acts):
        check(acts == KINESIS_READ, f"Kinesis actions {sorted(acts)} != {sorted(KINESIS_READ)}")
        check(len(as_list(statement["Resource"])) == 1 and sorted(map(str, targets)) == sorted(
            map(str, [ref("KinesisStreamArn"), CENTRAL_STREAM])), f"Kinesis read on other resources: {targets}")
        check(condition == "ReadKinesis", "the Kinesis read policy exists only with a stream (Condition ReadKinesis)")
    if acts & SQS_CONSUME:
        check(acts == SQS_CONSUME, f"SQS consume actions {sorted(acts)} != {sorted(SQS_CONSUME)}")
        queue = as_list(statement["Resource"])
        check(queue in ([FAILURE_QUEUE], [S3_QUEUE]), f"SQS consume on other queues: {statement['Resource']}")
        if queue == [FAILURE_QUEUE]:
            check(condition == "RedriveFailures", "the failure-queue consume policy exists only with RedriveFailureQueue=True")
        else:
            check(condition == "ConsumeS3Queue", "the notification-queue consume policy exists only with S3NotificationQueueArn")
    if any(a.startswith("s3:") for a in acts):
        check(acts == S3_READ, f"S3: only {sorted(S3_READ)}, not {sorted(acts)}")
        check(statement["Resource"] == S3_OBJECTS, f"s3:GetObject on {statement['Resource']}, not the objects of S3BucketArns")
        check(condition == "ReadS3", "the S3 read policy exists only with S3BucketArns (Condition ReadS3)")
    if any(a.startswith("kms:") for a in acts):
        check(acts == {"kms:Decrypt"}, f"KMS: only kms:Decrypt, not {sorted(acts)}")
        key = as_list(statement["Resource"])
        check(key in ([ref("S3KmsKeyArn")], [CLIENT_KEY_KMS]), f"kms:Decrypt on {statement['Resource']}, not S3KmsKeyArn or SyslogTlsClientKeyKmsKeyArn")
        if key == [ref("S3KmsKeyArn")]:
            check(condition == "DecryptS3", "the KMS policy exists only with S3KmsKeyArn and S3BucketArns (Condition DecryptS3)")
        else:
            check(condition == "DecryptClientKey", "the client key's KMS policy exists only with both ARNs (Condition DecryptClientKey)")
            via = statement.get("Condition", {}).get("StringLike", {}).get("kms:ViaService")
            check(via == {"Fn::If": ["ClientKeyInSecretsManager", ["secretsmanager.*.amazonaws.com"], ["ssm.*.amazonaws.com"]]},
                  f"the client key's kms:Decrypt only through its store: {via}")
        check("kms:ViaService" in json.dumps(statement.get("Condition", {})), "kms:Decrypt is limited by kms:ViaService")
    if any(a.startswith(("secretsmanager:", "ssm:")) for a in acts):
        wanted = {"ClientKeyInSecretsManager": {"secretsmanager:GetSecretValue"}, "ClientKeyInSsm": {"ssm:GetParameter"}}
        check(acts == wanted.get(condition), f"{condition}: {sorted(acts)}, not the one read action of the key's store")
        check(as_list(statement["Resource"]) == [CLIENT_KEY], f"the key read on {statement['Resource']}, not exactly SyslogTlsClientKeySecretArn")
    if acts == {"logs:ListTagsForResource"}:
        check(as_list(statement["Resource"]) == [LOG_GROUPS_OF_ACCOUNT],
              f"logs:ListTagsForResource on {statement['Resource']}, not this account's log groups")
        check(condition == "ReadLogGroupTags", "the tag read policy exists only with ForwardLogGroupTags=True")
    elif any(a.startswith("logs:") for a in acts):
        check(acts == LOGS_WRITE and as_list(statement["Resource"]) == [OWN_LOG_GROUP],
              f"logs: only {sorted(LOGS_WRITE)} on the function's own log group, not {sorted(acts)} on {statement['Resource']}")
    if "sqs:SendMessage" in acts:
        check(as_list(statement["Resource"]) == [FAILURE_QUEUE], f"sqs:SendMessage on other queues: {statement['Resource']}")
    other = {a for a in acts if not a.startswith(("ecr:", "kinesis:", "sqs:", "s3:", "kms:", "logs:", "secretsmanager:", "ssm:"))}
    other |= {a for a in acts if a.startswith("sqs:")} - SQS_CONSUME - {"sqs:SendMessage"}
    check(not other, f"unexpected actions {sorted(other)}")
ecr_actions = [a for a in all_actions if a.startswith("ecr:")]
check(ecr_actions == ["ecr:DescribeImageScanFindings"], f"ECR actions: {ecr_actions} (exactly one statement, one action)")
check(set(all_actions) >= KINESIS_READ | SQS_CONSUME | S3_READ | {"kms:Decrypt"},
      f"the role lacks Kinesis read, SQS consume, S3 read or KMS decrypt actions: {all_actions}")

invoke = function["EventInvokeConfig"]
check(invoke["MaximumRetryAttempts"] == 2, "EventInvokeConfig MaximumRetryAttempts 2")
check(invoke["DestinationConfig"]["OnFailure"]["Type"] == "SQS", "the failure destination is SQS")
check(invoke["DestinationConfig"]["OnFailure"].get("Destination") == FAILURE_QUEUE, "the failure destination is FailureQueue")
check(resources["FailureQueue"]["Properties"].get("SqsManagedSseEnabled") is True, "the failure queue has SSE")

# --- Event source mappings: one on Kinesis, one on the failure queue, one on the S3 notification queue.
mappings = {n: r for n, r in resources.items() if r["Type"] == "AWS::Lambda::EventSourceMapping"}
sqs_mappings = {n: r for n, r in mappings.items() if r["Properties"].get("EventSourceArn") == FAILURE_QUEUE}
s3_mappings = {n: r for n, r in mappings.items() if r["Properties"].get("EventSourceArn") == S3_QUEUE}
kinesis_mappings = {n: r for n, r in mappings.items() if n not in sqs_mappings and n not in s3_mappings}
check(len(kinesis_mappings) == 1 and len(sqs_mappings) == 1 and len(s3_mappings) == 1,
      f"expected one Kinesis, one failure-queue and one S3 notification queue mapping: {sorted(kinesis_mappings)}, "
      f"{sorted(sqs_mappings)}, {sorted(s3_mappings)}")
for name, mapping in s3_mappings.items():
    props = mapping["Properties"]
    check(mapping.get("Condition") == "ConsumeS3Queue", f"{name}: Condition ConsumeS3Queue")
    check(props.get("FunctionName") == ref("ForwarderFunction"), f"{name} invokes ForwarderFunction")
    check(props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], f"{name}: ReportBatchItemFailures")
    check(1 <= props.get("BatchSize", 0) <= 10, f"{name}: BatchSize 1-10 (each message is an object to read)")
    check("S3QueueConsumePolicy" in as_list(mapping.get("DependsOn", [])), f"{name} must depend on S3QueueConsumePolicy")
check(conditions.get("ConsumeS3Queue") == {"Fn::And": [{"Condition": "ReadS3"}, {"Fn::Not": [{"Fn::Equals": [ref("S3NotificationQueueArn"), ""]}]}]},
      "ConsumeS3Queue = ReadS3 and S3NotificationQueueArn given")
check(conditions.get("DecryptS3") == {"Fn::And": [{"Condition": "ReadS3"}, {"Fn::Not": [{"Fn::Equals": [ref("S3KmsKeyArn"), ""]}]}]},
      "DecryptS3 = ReadS3 and S3KmsKeyArn given")
for name, mapping in kinesis_mappings.items():
    props = mapping["Properties"]
    check(mapping.get("Condition") == "ReadKinesis", f"{name}: Condition ReadKinesis")
    check(sorted(map(str, leaves(props.get("EventSourceArn")))) == sorted(map(str, [ref("KinesisStreamArn"), CENTRAL_STREAM])),
          f"{name} reads {props.get('EventSourceArn')}, not KinesisStreamArn / CentralStream")
    check(props.get("FunctionName") == ref("ForwarderFunction"), f"{name} invokes ForwarderFunction")
    check(props.get("StartingPosition") == ref("KinesisStartingPosition"), f"{name}: StartingPosition is KinesisStartingPosition")
    check(props.get("BisectBatchOnFunctionError") is True, f"{name}: BisectBatchOnFunctionError true")
    check(props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], f"{name}: ReportBatchItemFailures")
    check(props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination") == FAILURE_QUEUE,
          f"{name}: the on-failure destination is FailureQueue")
    for key in ["BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRetryAttempts",
                "MaximumRecordAgeInSeconds"]:
        check(props.get(key) == ref(key), f"{name}: {key} must be the {key} parameter, not {props.get(key)}")
    check(set(as_list(mapping.get("DependsOn", []))) & set(role_policies), f"{name} must depend on the Kinesis read policy")
for name, mapping in sqs_mappings.items():
    props = mapping["Properties"]
    check(mapping.get("Condition") == "RedriveFailures", f"{name}: Condition RedriveFailures")
    check(props.get("FunctionName") == ref("ForwarderFunction"), f"{name} invokes ForwarderFunction")
    check(props.get("BatchSize") == 10, f"{name}: BatchSize 10")
    check(props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], f"{name}: ReportBatchItemFailures")
    check(set(as_list(mapping.get("DependsOn", []))) & set(role_policies), f"{name} must depend on the SQS consume policy")
check(conditions.get("ReadKinesis") == {"Fn::Or": [{"Condition": "CentralAccountMode"}, {"Condition": "KinesisStreamGiven"}]},
      "ReadKinesis = CentralAccountMode or KinesisStreamGiven")

# --- The failure queue as an event source: its dead-letter queue and visibility timeout.
queue = resources["FailureQueue"]["Properties"]
redrive = leaves(queue.get("RedrivePolicy"))
check(len(redrive) == 1 and redrive[0].get("maxReceiveCount") == 5
      and redrive[0].get("deadLetterTargetArn") == getatt("FailureDeadLetterQueue", "Arn"),
      f"FailureQueue RedrivePolicy: maxReceiveCount 5 to FailureDeadLetterQueue, not {queue.get('RedrivePolicy')}")
dlq = resources.get("FailureDeadLetterQueue", {})
check(dlq.get("Type") == "AWS::SQS::Queue" and dlq.get("Condition") == "RedriveFailures", "FailureDeadLetterQueue (RedriveFailures)")
check(dlq.get("Properties", {}).get("MessageRetentionPeriod") == 1209600, "FailureDeadLetterQueue keeps messages 14 days")
check(dlq.get("Properties", {}).get("SqsManagedSseEnabled") is True, "FailureDeadLetterQueue has SSE")
timeouts = leaves(queue.get("VisibilityTimeout", 30))
max_timeout = parameters["Timeout"]["MaxValue"]
check(any(t >= 6 * max_timeout for t in timeouts if isinstance(t, int)),
      f"FailureQueue VisibilityTimeout {timeouts} < 6 x the largest Timeout ({max_timeout})")
check(any(r["Type"] == "AWS::CloudWatch::Alarm" and r.get("Condition") == "RedriveFailures"
          and {"Name": "QueueName", "Value": getatt("FailureDeadLetterQueue", "QueueName")} in r["Properties"].get("Dimensions", [])
          for r in resources.values()), "no alarm on the failure dead-letter queue")
check("creates no loop" in raw_text, "the template must explain why redriving the failure queue creates no loop")

# --- Central account: stream, destination, the role CloudWatch Logs assumes.
stream = resources.get("CentralStream", {})
check(stream.get("Type") == "AWS::Kinesis::Stream" and stream.get("Condition") == "CentralAccountMode", "CentralStream")
check(stream.get("Properties", {}).get("StreamModeDetails") == {"StreamMode": "ON_DEMAND"}, "CentralStream is ON_DEMAND")
check(stream.get("Properties", {}).get("StreamEncryption") == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
      "CentralStream is encrypted with alias/aws/kinesis")
destination = resources.get("LogsDestination", {})
check(destination.get("Type") == "AWS::Logs::Destination" and destination.get("Condition") == "CentralAccountMode",
      "LogsDestination")
role_name = (destination.get("Properties", {}).get("RoleArn") or {}).get("Fn::GetAtt", [None])[0]
check(destination.get("Properties", {}).get("TargetArn") == CENTRAL_STREAM, "LogsDestination writes to CentralStream")
logs_role = resources.get(role_name, {})
check(logs_role.get("Type") == "AWS::IAM::Role" and logs_role.get("Condition") == "CentralAccountMode",
      f"LogsDestination's role {role_name}")
for statement in logs_role.get("Properties", {}).get("AssumeRolePolicyDocument", {}).get("Statement", []):
    check(statement.get("Principal") == {"Service": "logs.amazonaws.com"}, "the destination role trusts logs.amazonaws.com only")
    check("aws:SourceArn" in json.dumps(statement.get("Condition", {})), "the destination role's trust has an aws:SourceArn condition")
check(not logs_role.get("Properties", {}).get("ManagedPolicyArns"), "the destination role has no managed policies")
logs_role_statements = [s for p in logs_role.get("Properties", {}).get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
check(logs_role_statements, "the destination role has no permission to write the stream")
for statement in logs_role_statements:
    check(set(as_list(statement["Action"])) <= {"kinesis:PutRecord", "kinesis:PutRecords"}
          and "kinesis:PutRecord" in as_list(statement["Action"]), f"destination role actions: {statement['Action']}")
    check(as_list(statement["Resource"]) == [CENTRAL_STREAM], f"destination role resources: {statement['Resource']}")
check("Rules" in template, "the template has no Rules (invalid CentralAccount combinations)")

# --- Evaluate the template for parameter sets, as CloudFormation would.
PSEUDO = {"AWS::Region": "eu-west-1", "AWS::Partition": "aws", "AWS::AccountId": "999999999999", "AWS::StackName": "fwd",
          "AWS::URLSuffix": "amazonaws.com"}
NOVALUE = object()


class Scenario:
    def __init__(self, values):
        self.params = {n: p.get("Default") for n, p in parameters.items()}
        self.params.update(values)
        # A CommaDelimitedList is a list wherever it is referenced ("" is [""], as CloudFormation has it).
        for name, parameter in parameters.items():
            if parameter.get("Type") == "CommaDelimitedList":
                self.params[name] = str(self.params[name]).split(",")
        self.cache = {}

    def condition(self, name):
        if name not in self.cache:
            self.cache[name] = self.eval(conditions[name])
        return self.cache[name]

    def exists(self, name):
        return name in resources and ("Condition" not in resources[name] or self.condition(resources[name]["Condition"]))

    def ref(self, name):
        if name == "AWS::NoValue":
            return NOVALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        if resources.get(name, {}).get("Type") == "AWS::Logs::LogGroup":
            return self.eval(resources[name]["Properties"]["LogGroupName"])
        return f"<{name}>"

    def sub(self, text, variables):
        def one(match):
            key = match.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if key in variables:
                return str(variables[key])
            if "." in key:
                return "<" + key + ">"
            return str(self.ref(key))
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def eval(self, value):
        if isinstance(value, list):
            return [v for v in (self.eval(v) for v in value) if v is not NOVALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                return self.eval(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::GetAtt":
                return "<" + ".".join(as_list(arg)) + ">"
            if key == "Fn::Equals":
                left, right = self.eval(arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.eval(arg[0])
            if key == "Fn::And":
                return all(self.eval(arg))
            if key == "Fn::Or":
                return any(self.eval(arg))
            if key == "Fn::EachMemberEquals":
                members, wanted = self.eval(arg)
                return all(str(m) == str(wanted) for m in members)
            if key == "Fn::Contains":
                members, wanted = self.eval(arg)
                return str(wanted) in map(str, members)
            if key == "Fn::Join":
                return arg[0].join(str(v) for v in self.eval(arg[1]))
            if key == "Fn::Split":
                return str(self.eval(arg[1])).split(arg[0])
            if key == "Fn::Select":
                index, items = self.eval(arg)
                return items[int(index)]
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.eval(arg[1]))
                return self.sub(text, variables)
        return {k: v for k, v in ((k, self.eval(v)) for k, v in value.items()) if v is not NOVALUE}

    def rules_pass(self):
        for rule in template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.eval(rule["RuleCondition"]):
                continue
            if not all(self.eval(a["Assert"]) for a in rule["Assertions"]):
                return False
        return True

    def allowed(self):
        for name, value in self.params.items():
            pattern = parameters[name].get("AllowedPattern")
            allowed_values = parameters[name].get("AllowedValues")
            for member in value if isinstance(value, list) else [value]:
                if pattern and not re.search(pattern, str(member)):
                    return False
                if allowed_values and str(member) not in map(str, allowed_values):
                    return False
        return True

    def role_statements(self):
        statements = self.eval(inline_statements)
        for name, policy in role_policies.items():
            if self.exists(name):
                statements += self.eval(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements


STREAM = "arn:aws:kinesis:eu-west-1:999999999999:stream/logs"
ACCOUNTS = ["111111111111", "222222222222"]
ORG = "o-a1b2c3d4e5"
OPTIONAL = ["KinesisEventSource", "KinesisReadPolicy", "FailureQueueEventSource", "FailureQueueConsumePolicy",
            "FailureDeadLetterQueue", "CentralStream", "LogsDestination", "LogsDestinationRole", "S3ReadPolicy",
            "S3KmsDecryptPolicy", "S3QueueConsumePolicy", "S3NotificationEventSource", "AccountSubscriptionPolicy",
            "ClientKeySecretPolicy", "ClientKeyParameterPolicy", "ClientKeyKmsDecryptPolicy"]
BUCKETS = "arn:aws:s3:::org-trail-logs,arn:aws:s3:::app-logs/AWSLogs/o-a1b2c3d4e5"
KMS_KEY = "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"
S3_QUEUE_ARN = "arn:aws:sqs:eu-west-1:999999999999:trail-objects"
SUBNETS = "subnet-0123456789abcdef0,subnet-0fedcba9876543210"
GROUPS = "sg-0123456789abcdef0"
BOUNDARY_ARN = "arn:aws:iam::999999999999:policy/org/DeveloperBoundary"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:999999999999:secret:siem/client-key-AbCdEf"
PARAMETER_ARN = "arn:aws:ssm:eu-west-1:999999999999:parameter/siem/client-key"
KEY_KMS = "arn:aws:kms:eu-west-1:999999999999:key/abcd1234-12ab-34cd-56ef-1234567890ab"
# Quotes and backslashes must survive into the policy document's JSON string.
PATTERN = '{ ($.eventSource = "ecr.amazonaws.com") && ($.userAgent = "*\\*") }'
scenarios = {
    "defaults": ({}, []),
    "stream": ({"KinesisStreamArn": STREAM}, ["KinesisEventSource", "KinesisReadPolicy"]),
    "redrive": ({"RedriveFailureQueue": "True"}, ["FailureQueueEventSource", "FailureQueueConsumePolicy",
                                                  "FailureDeadLetterQueue"]),
    "central-accounts": ({"CentralAccount": "True", "SourceAccountIds": ",".join(ACCOUNTS)},
                         ["KinesisEventSource", "KinesisReadPolicy", "CentralStream", "LogsDestination", "LogsDestinationRole"]),
    "central-org": ({"CentralAccount": "True", "OrganizationId": ORG},
                    ["KinesisEventSource", "KinesisReadPolicy", "CentralStream", "LogsDestination", "LogsDestinationRole"]),
    "central-both": ({"CentralAccount": "True", "SourceAccountIds": ",".join(ACCOUNTS), "OrganizationId": ORG},
                     ["KinesisEventSource", "KinesisReadPolicy", "CentralStream", "LogsDestination", "LogsDestinationRole"]),
    "s3-buckets": ({"S3BucketArns": BUCKETS}, ["S3ReadPolicy"]),
    "s3-all": ({"S3BucketArns": BUCKETS, "S3KmsKeyArn": KMS_KEY, "S3NotificationQueueArn": S3_QUEUE_ARN},
               ["S3ReadPolicy", "S3KmsDecryptPolicy", "S3QueueConsumePolicy", "S3NotificationEventSource"]),
    "vpc": ({"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS}, []),
    "boundary": ({"PermissionsBoundaryArn": BOUNDARY_ARN, "CentralAccount": "True", "OrganizationId": ORG},
                 ["KinesisEventSource", "KinesisReadPolicy", "CentralStream", "LogsDestination", "LogsDestinationRole"]),
    "trim-horizon": ({"KinesisStreamArn": STREAM, "KinesisStartingPosition": "TRIM_HORIZON"},
                     ["KinesisEventSource", "KinesisReadPolicy"]),
    "all-log-groups": ({"SubscribeAllLogGroups": "True", "LogFilterPattern": PATTERN}, ["AccountSubscriptionPolicy"]),
    "all-log-groups-no-pattern": ({"SubscribeAllLogGroups": "True"}, ["AccountSubscriptionPolicy"]),
    "key-in-secrets-manager": ({"SyslogTlsClientKeySecretArn": SECRET_ARN}, ["ClientKeySecretPolicy"]),
    "key-in-ssm-with-kms": ({"SyslogTlsClientKeySecretArn": PARAMETER_ARN, "SyslogTlsClientKeyKmsKeyArn": KEY_KMS},
                            ["ClientKeyParameterPolicy", "ClientKeyKmsDecryptPolicy"]),
    "key-in-secrets-manager-with-kms": ({"SyslogTlsClientKeySecretArn": SECRET_ARN, "SyslogTlsClientKeyKmsKeyArn": KEY_KMS},
                                        ["ClientKeySecretPolicy", "ClientKeyKmsDecryptPolicy"]),
}
for label, (values, expected) in scenarios.items():
    scenario = Scenario(values)
    check(scenario.allowed() and scenario.rules_pass(), f"{label}: valid parameters rejected (AllowedPattern or Rules)")
    created = [n for n in OPTIONAL if scenario.exists(n)]
    check(created == expected, f"{label}: creates {created}, expected {expected}")
    kinesis_resources = {r for s in scenario.role_statements() if any(a.startswith("kinesis:") for a in as_list(s["Action"]))
                         for r in as_list(s["Resource"])}
    source = STREAM if "KinesisStreamArn" in values else "<CentralStream.Arn>"
    check(kinesis_resources <= {source}, f"{label}: Kinesis read on {kinesis_resources}, not only {source}")
    if scenario.exists("KinesisEventSource"):
        check(scenario.eval(resources["KinesisEventSource"]["Properties"]["EventSourceArn"]) == source,
              f"{label}: the Kinesis mapping does not read {source}")
    s3_objects = [r for st in scenario.role_statements() if "s3:GetObject" in as_list(st["Action"])
                  for r in as_list(st["Resource"])]
    wanted_objects = [arn + "/*" for arn in values["S3BucketArns"].split(",")] if "S3BucketArns" in values else []
    check(s3_objects == wanted_objects, f"{label}: s3:GetObject on {s3_objects}, expected {wanted_objects}")
    kms_keys = [r for st in scenario.role_statements() if "kms:Decrypt" in as_list(st["Action"])
                for r in as_list(st["Resource"])]
    check(kms_keys == ([KMS_KEY] if "S3KmsKeyArn" in values else []) + ([KEY_KMS] if "SyslogTlsClientKeyKmsKeyArn" in values else []),
          f"{label}: kms:Decrypt on {kms_keys}")
    statements = scenario.role_statements()
    reads = {(a, r) for st in statements for a in as_list(st["Action"]) if a.startswith(("secretsmanager:", "ssm:"))
             for r in as_list(st["Resource"])}
    secret = values.get("SyslogTlsClientKeySecretArn")
    wanted_reads = set() if not secret else {("secretsmanager:GetSecretValue" if ":secretsmanager:" in secret else "ssm:GetParameter", secret)}
    check(reads == wanted_reads, f"{label}: the key read is {reads}, expected {wanted_reads}")
    via = [st.get("Condition", {}).get("StringLike", {}).get("kms:ViaService") for st in statements
           if KEY_KMS in as_list(st["Resource"])]
    if secret and "SyslogTlsClientKeyKmsKeyArn" in values:
        store = "secretsmanager" if ":secretsmanager:" in secret else "ssm"
        check(via == [[f"{store}.*.amazonaws.com"]], f"{label}: the key's kms:Decrypt via {via}")
    variables_set = scenario.eval(resources["ForwarderFunction"]["Properties"]["Environment"]["Variables"])
    check(variables_set.get("SYSLOG_TLS_CLIENT_KEY_SECRET_ARN") == values.get("SyslogTlsClientKeySecretArn", ""),
          f"{label}: SYSLOG_TLS_CLIENT_KEY_SECRET_ARN {variables_set.get('SYSLOG_TLS_CLIENT_KEY_SECRET_ARN')}")
    if scenario.exists("S3NotificationEventSource"):
        check(scenario.eval(resources["S3NotificationEventSource"]["Properties"]["EventSourceArn"]) == S3_QUEUE_ARN,
              f"{label}: the S3 notification mapping does not read {S3_QUEUE_ARN}")
    function_props = scenario.eval(resources["ForwarderFunction"]["Properties"])
    role = scenario.eval(resources["ForwarderFunctionRole"]["Properties"])
    if "SubnetIds" in values:
        check(function_props.get("VpcConfig") == {"SubnetIds": SUBNETS.split(","), "SecurityGroupIds": GROUPS.split(",")},
              f"{label}: VpcConfig {function_props.get('VpcConfig')}")
        check(role.get("ManagedPolicyArns") == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
              f"{label}: the role lacks the ENI permissions: {role.get('ManagedPolicyArns')}")
    else:
        check("VpcConfig" not in function_props and "ManagedPolicyArns" not in role,
              f"{label}: VpcConfig or the VPC policy without SubnetIds")
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role" and scenario.exists(n)]
    for name in roles:
        boundary = scenario.eval(resources[name]["Properties"]).get("PermissionsBoundary")
        check(boundary == values.get("PermissionsBoundaryArn"), f"{label}: role {name} has the boundary {boundary}")
    if scenario.exists("KinesisEventSource"):
        position = scenario.eval(resources["KinesisEventSource"]["Properties"]["StartingPosition"])
        check(position == values.get("KinesisStartingPosition", "LATEST"), f"{label}: StartingPosition {position}")
    if scenario.exists("AccountSubscriptionPolicy"):
        account = scenario.eval(resources["AccountSubscriptionPolicy"]["Properties"])
        try:
            document = json.loads(account["PolicyDocument"])
        except (ValueError, TypeError) as error:
            document = {}
            check(False, f"{label}: the account policy document is not JSON: {error}: {account['PolicyDocument']}")
        check(document == {"DestinationArn": "<ForwarderFunction.Arn>", "FilterPattern": values.get("LogFilterPattern", ""),
                           "Distribution": "Random"}, f"{label}: account policy document {document}")
        check(account.get("PolicyType") == "SUBSCRIPTION_FILTER_POLICY" and account.get("Scope") == "ALL",
              f"{label}: account policy type/scope {account.get('PolicyType')}/{account.get('Scope')}")
        check(account.get("SelectionCriteria") == 'LogGroupName NOT IN ["/aws/lambda/fwd-forwarder"]',
              f"{label}: the account policy must exclude the function's own log group: {account.get('SelectionCriteria')}")
        check(not scenario.exists("LogSubscription"), f"{label}: both the account policy and LogSubscription")
    queue_props = scenario.eval(resources["FailureQueue"]["Properties"])
    if "RedriveFailureQueue" in values:
        check(queue_props.get("VisibilityTimeout", 30) >= 6 * max_timeout, f"{label}: VisibilityTimeout < 6 x Timeout")
    else:
        check("RedrivePolicy" not in queue_props, f"{label}: FailureQueue has a RedrivePolicy without redrive")
    if not scenario.exists("LogsDestination"):
        continue
    props = scenario.eval(resources["LogsDestination"]["Properties"])
    arn = "arn:aws:logs:eu-west-1:999999999999:destination:" + props["DestinationName"]
    try:
        policy = json.loads(props["DestinationPolicy"])
    except (ValueError, TypeError) as error:
        check(False, f"{label}: the destination policy is not JSON: {error}: {props['DestinationPolicy']}")
        continue
    principals = []
    for statement in policy["Statement"]:
        check(set(as_list(statement["Action"])) <= {"logs:PutSubscriptionFilter", "logs:PutAccountPolicy"}
              and "logs:PutSubscriptionFilter" in as_list(statement["Action"]), f"{label}: destination policy actions")
        check(statement["Resource"] == arn, f"{label}: destination policy resource {statement['Resource']} != {arn}")
        if statement["Principal"] == "*":
            check(statement.get("Condition") == {"StringEquals": {"aws:PrincipalOrgID": ORG}},
                  f"{label}: Principal * without the aws:PrincipalOrgID condition")
            principals.append(ORG)
        else:
            check("Condition" not in statement, f"{label}: unexpected condition on the account statement")
            principals += as_list(statement["Principal"]["AWS"])
    wanted = values.get("SourceAccountIds", "").split(",") * ("SourceAccountIds" in values) + [ORG] * ("OrganizationId" in values)
    check(principals == wanted, f"{label}: the destination allows {principals}, expected {wanted}")
    outputs = scenario.eval(template["Outputs"])
    check(outputs.get("LogsDestinationArn", {}).get("Value") == "<LogsDestination.Arn>", f"{label}: LogsDestinationArn output")
    command = outputs.get("MemberAccountSubscribeCommand", {}).get("Value", "")
    check(command.startswith("aws logs put-subscription-filter ") and "--log-group-name LOG_GROUP" in command
          and '--filter-pattern ""' in command and "--filter-name siem" in command
          and "--destination-arn <LogsDestination.Arn>" in command, f"{label}: MemberAccountSubscribeCommand: {command}")
    # A listed account needs no --role-arn; an account allowed only by the organization passes its own role.
    check(("--role-arn" in command) == ("SourceAccountIds" not in values), f"{label}: --role-arn in {command}")
for label, values in {"central without senders": {"CentralAccount": "True"},
                      "central with a stream": {"CentralAccount": "True", "SourceAccountIds": ACCOUNTS[0],
                                                "KinesisStreamArn": STREAM},
                      "accounts without central": {"SourceAccountIds": ACCOUNTS[0]},
                      "organization without central": {"OrganizationId": ORG},
                      "bad organization id": {"CentralAccount": "True", "OrganizationId": "o-x"},
                      "accounts with spaces": {"CentralAccount": "True", "SourceAccountIds": "111111111111, 222222222222"},
                      "kms key without buckets": {"S3KmsKeyArn": KMS_KEY},
                      "notification queue without buckets": {"S3NotificationQueueArn": S3_QUEUE_ARN},
                      "bucket prefix with a trailing slash": {"S3BucketArns": "arn:aws:s3:::org-trail-logs/AWSLogs/"},
                      "bucket with a wildcard": {"S3BucketArns": "arn:aws:s3:::org-trail-*"},
                      "buckets with spaces": {"S3BucketArns": "arn:aws:s3:::org-trail-logs, arn:aws:s3:::app-logs"},
                      "an object ARN for a bucket": {"S3BucketArns": "arn:aws:s3:::org-trail-logs/*"},
                      "subnets without security groups": {"SubnetIds": SUBNETS},
                      "security groups without subnets": {"SecurityGroupIds": GROUPS},
                      "a subnet that is not a subnet id": {"SubnetIds": "vpc-0123456789abcdef0", "SecurityGroupIds": GROUPS},
                      "a boundary that is not a policy ARN": {"PermissionsBoundaryArn": "arn:aws:iam::999999999999:role/x"},
                      "an unknown starting position": {"KinesisStreamArn": STREAM, "KinesisStartingPosition": "AT_TIMESTAMP"},
                      "all log groups and one more": {"SubscribeAllLogGroups": "True", "LogGroupName": "/aws/cloudtrail"},
                      "the key and its secret": {"SyslogTlsClientKeySecretArn": SECRET_ARN,
                                                 "SyslogTlsClientKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"},
                      "a KMS key without a stored key": {"SyslogTlsClientKeyKmsKeyArn": KEY_KMS},
                      "a secret ARN without its suffix": {"SyslogTlsClientKeySecretArn": SECRET_ARN[:-7]},
                      "a secret name for an ARN": {"SyslogTlsClientKeySecretArn": "siem/client-key"},
                      "an S3 object for the key": {"SyslogTlsClientKeySecretArn": "arn:aws:s3:::bucket/key.pem"}}.items():
    scenario = Scenario(values)
    check(not (scenario.allowed() and scenario.rules_pass()), f"{label}: accepted, the Rules or patterns must reject it")
defaults = Scenario({})
check(not any(defaults.exists(n) for n in OPTIONAL), "defaults create optional resources")

# --- The dashboard shows the metrics the code emits (namespace AwsSyslogForwarder, dimension FunctionName).
body = Scenario({}).eval(resources["Dashboard"]["Properties"]["DashboardBody"])
try:
    widgets = json.loads(body)["widgets"]
except (ValueError, KeyError) as error:
    widgets = []
    check(False, f"the dashboard body is not JSON with widgets: {error}")
shown = {}  # metric name -> the stat it is shown with
for widget in widgets:
    properties = widget.get("properties", {})
    previous = []
    for row in properties.get("metrics", []):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        row = [r for r in row if not isinstance(r, dict)]
        if row[:1] == ["..."]:
            row = previous[: len(previous) - len(row) + 1] + row[1:]
        row = [previous[i] if value == "." and i < len(previous) else value for i, value in enumerate(row)]
        previous = row
        if row[0] == "AwsSyslogForwarder":
            check(row[2:4] == ["FunctionName", "<ForwarderFunction>"], f"dashboard metric {row[1]} lacks the FunctionName dimension")
            shown[row[1]] = options.get("stat", properties.get("stat"))
per_rule = [f"Redactions_{rule}" for rule in redact_rules + ["custom"]] if redact_rules else []
for metric in ["RecordsIn", "RecordsForwarded", "RecordsFailed", "SplitParts", "FindingsCritical", "FindingsHigh",
               "FindingsMedium", "FindingsLow", "FindingsOther", "Detections", "ConnectMs", "FlushMs",
               "BatchItemsIn", "BatchItemsFailed", "IteratorAgeMs", "RelpFramesAcknowledged", "RelpFramesRefused",
               "RelpFramesResent", "RecordsFiltered", "Redactions"] + per_rule:
    check(metric in shown, f"the dashboard does not show {metric}")
check(shown.get("IteratorAgeMs") == "Maximum", f"IteratorAgeMs is a maximum, shown as {shown.get('IteratorAgeMs')}")
for metric in ["BatchItemsIn", "BatchItemsFailed", "RelpFramesAcknowledged", "RelpFramesRefused", "RelpFramesResent",
               "RecordsFiltered", "Redactions"]:
    check(shown.get(metric) == "Sum", f"{metric} is a count, shown as {shown.get(metric)}")

patterns = {
    "EcrScanEventRule": {"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"], "detail": {"scan-status": ["COMPLETE"]}},
    "InspectorScanEventRule": {"source": ["aws.inspector2"], "detail-type": ["Inspector2 Scan"],
                               # Only scans of ECR images: EC2, Lambda and AMI scans share the detail-type.
                               "detail": {"scan-status": ["INITIAL_SCAN_COMPLETE"],
                                          "repository-name": [{"exists": True}]}},
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
check(permission["SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}
      and "Condition" not in resources["LogsInvokePermission"], "the logs permission covers every log group of the account")
account_policy = resources.get("AccountSubscriptionPolicy", {})
check(account_policy.get("Type") == "AWS::Logs::AccountPolicy" and account_policy.get("Condition") == "SubscribeAccount",
      "AccountSubscriptionPolicy (AWS::Logs::AccountPolicy, Condition SubscribeAccount)")
check("LogsInvokePermission" in as_list(account_policy.get("DependsOn", [])), "the account policy must depend on LogsInvokePermission")
check("LogGroupIsOwn" in conditions, "the template guards against subscribing the function's own log group")
for output in ["FunctionArn", "FunctionName", "FailureQueueUrl", "DashboardUrl", "SubscribeLogGroupCommand",
               "LogsDestinationArn", "MemberAccountSubscribeCommand"]:
    check(output in template["Outputs"], f"output {output} is missing")
for output in ["LogsDestinationArn", "MemberAccountSubscribeCommand"]:
    check(template["Outputs"].get(output, {}).get("Condition") == "CentralAccountMode", f"output {output}: CentralAccountMode")

# --- What SAM makes of it: SAM adds roles of its own in some cases (a function without Role, some event
# sources) and the VPC policy whenever VpcConfig appears; translate offline and look at every role.
try:
    import copy
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    translated_input = copy.deepcopy(template)
    # The translator wants a packaged CodeUri; the build's location does not change the resources.
    translated_input["Resources"]["ForwarderFunction"]["Properties"]["CodeUri"] = "s3://bucket/key"
    translated = transform(json.loads(json.dumps(translated_input, default=str)), {}, NoManagedPolicies())
    translated_roles = {n: r for n, r in translated["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    check(sorted(translated_roles) == sorted(n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"),
          f"SAM creates roles of its own: {sorted(translated_roles)}")
    for name, role in translated_roles.items():
        check(role["Properties"].get("PermissionsBoundary") == BOUNDARY, f"after SAM, role {name} has no boundary")
        check(role["Properties"].get("ManagedPolicyArns") in (None, {"Fn::If": ["InVpc", [VPC_POLICY], ref("AWS::NoValue")]}),
              f"after SAM, role {name} has managed policies {role['Properties'].get('ManagedPolicyArns')}")
except Exception as error:  # the translator's own errors: report, do not crash the other checks
    check(False, f"cannot translate the template with SAM: {error!r}")

for failure in failures:
    print(f"template: {failure}")
print(f"template: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
