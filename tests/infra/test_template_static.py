"""What the template promises, read from the template itself.

Some of it the emulator cannot show (moto ignores or skips it: alarms, the
queue's KMS key policy, public access blocks, TLS-only bucket policies); the
rest is a rule CloudFormation cannot enforce by itself (arithmetic).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cfn_template
import pytest
import yaml
from cfn_template import BOOTSTRAP, TEMPLATE, TEMPLATES, Resolver, load

from resizer.config import Settings

DOCUMENT = load(TEMPLATE)
RESOURCES: dict[str, Any] = DOCUMENT["Resources"]
PARAMETERS: dict[str, Any] = DOCUMENT["Parameters"]


def of_type(resource_type: str, document: dict[str, Any] = DOCUMENT) -> dict[str, Any]:
    return {k: v for k, v in document["Resources"].items() if v["Type"] == resource_type}


def props(logical_id: str) -> dict[str, Any]:
    return RESOURCES[logical_id]["Properties"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------ contract names
def test_outputs_are_the_contract() -> None:
    optional = {n for n, o in DOCUMENT["Outputs"].items() if o.get("Condition") == "HasCdn"}
    assert optional == {"CdnUrl", "CdnDistributionId"}  # the CDN block's, with Cdn=true
    assert set(DOCUMENT["Outputs"]) - optional == {
        "SourceBucketName",
        "DestinationBucketName",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "FunctionName",
        "FunctionAliasArn",
        "AlarmTopicArn",
    }


def test_parameters_include_the_contract() -> None:
    required = [
        "Environment",
        "CodeBucket",
        "CodeKey",
        "Runtime",
        "Architecture",
        "MemorySize",
        "Timeout",
        "Renditions",
        "JpegQuality",
        "MaxInputPixels",
        "MaxInputBytes",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "MaximumConcurrency",
        "MaxReceiveCount",
        "LogRetentionInDays",
        "AlarmEmail",
        "SourceVersioning",
    ]
    assert set(required) <= set(PARAMETERS)
    assert PARAMETERS["Runtime"]["AllowedValues"] == ["python3.12", "python3.13"]
    assert PARAMETERS["Architecture"]["AllowedValues"] == ["arm64", "x86_64"]
    assert PARAMETERS["Architecture"]["Default"] == "arm64"


def test_every_parameter_is_documented() -> None:
    docs = (TEMPLATE.parents[1] / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    for document in (load(path) for path in TEMPLATES):
        for name in document["Parameters"]:
            assert f"`{name}`" in docs, f"docs/infrastructure.md does not describe {name}"


def test_function_settings() -> None:
    function = Resolver(DOCUMENT).resolve(props("Function"))
    assert function["Handler"] == "resizer.handler.lambda_handler"
    assert function["Code"] == {
        "S3Bucket": "resizer-artifacts-sample",
        "S3Key": "resizer/0.1.0/r.zip",
    }
    variables = function["Environment"]["Variables"]
    assert variables["DESTINATION_BUCKET"].startswith("resizer-dev-renditions-")
    assert variables["SOURCE_BUCKET"] == Resolver(DOCUMENT).ref("SourceBucket")
    assert variables["DEAD_LETTER_QUEUE_URL"].endswith("DeadLetterQueue-SAMPLE")
    assert variables["RENDITIONS"] == "thumbnails=150x150,medium=800x800,large=1600x1600"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "resizer"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Resizer"
    assert {"JPEG_QUALITY", "MAX_INPUT_PIXELS", "MAX_INPUT_BYTES", "POWERTOOLS_LOG_LEVEL"} <= set(
        variables
    )
    assert function["LoggingConfig"] == {"LogGroup": "/aws/lambda/resizer-dev"}
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"] == "python3.13"


def test_renditions_parameter_accepts_what_the_function_parses() -> None:
    from resizer.config import parse_renditions

    pattern = re.compile(PARAMETERS["Renditions"]["AllowedPattern"])
    default = PARAMETERS["Renditions"]["Default"]
    assert pattern.fullmatch(default)
    assert len(parse_renditions(default)) == 3
    assert not pattern.fullmatch("thumbnails=150")


# ------------------------------------------------------------- timeouts and queues
def test_visibility_timeout_is_six_times_the_function_timeout() -> None:
    mapping = DOCUMENT["Mappings"]["VisibilityTimeout"]
    allowed = PARAMETERS["Timeout"]["AllowedValues"]
    assert set(mapping) == set(allowed)
    for timeout in allowed:
        seconds = mapping[timeout]["Seconds"]
        assert seconds >= 6 * int(timeout), timeout
        assert seconds <= 43200, "SQS's maximum visibility timeout"
        assert int(timeout) <= 900, "Lambda's maximum timeout"
    assert props("Queue")["VisibilityTimeout"] == {
        "Fn::FindInMap": ["VisibilityTimeout", {"Ref": "Timeout"}, "Seconds"]
    }
    assert props("Function")["Timeout"] == {"Ref": "Timeout"}


def test_dead_letter_queue_and_redrive() -> None:
    assert props("DeadLetterQueue")["MessageRetentionPeriod"] == 14 * 24 * 3600
    redrive = props("Queue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}


def test_queues_use_the_customer_managed_key_that_s3_may_use() -> None:
    # moto accepts any KmsMasterKeyId; S3 cannot send to alias/aws/sqs queues.
    for queue in ("Queue", "DeadLetterQueue"):
        assert props(queue)["KmsMasterKeyId"] == {"Ref": "QueueKey"}
    # Resolved with the defaults (ExistingSourceBucket's EventBridge: test_template_byob).
    statements = Resolver(DOCUMENT).resolve(props("QueueKey"))["KeyPolicy"]["Statement"]
    s3 = [s for s in statements if s["Principal"] == {"Service": "s3.amazonaws.com"}]
    assert len(s3) == 1
    assert sorted(s3[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert props("QueueKey")["EnableKeyRotation"] is True


def test_queue_policy_lets_only_the_source_bucket_send() -> None:
    # moto has no AWS::SQS::QueuePolicy: checked here.
    resolver = Resolver(DOCUMENT)
    policy = resolver.resolve(props("QueuePolicy"))
    assert policy["Queues"] == [resolver.ref("Queue")]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == resolver.attribute("Queue", "Arn")
    # The !Sub-built name (which breaks the dependency cycle) is the bucket's name.
    source_arn = resolver.attribute("SourceBucket", "Arn")
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": source_arn}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert "QueuePolicy" in RESOURCES["SourceBucket"]["DependsOn"]


@pytest.mark.parametrize(
    ("prefix", "suffix", "rules"),
    [
        ("", "", None),
        ("uploads/", "", [{"Name": "prefix", "Value": "uploads/"}]),
        ("", ".jpg", [{"Name": "suffix", "Value": ".jpg"}]),
        ("a/", ".png", [{"Name": "prefix", "Value": "a/"}, {"Name": "suffix", "Value": ".png"}]),
    ],
)
def test_notifications_created_and_removed_to_the_queue(
    prefix: str, suffix: str, rules: list[dict[str, str]] | None
) -> None:
    resolver = Resolver(DOCUMENT, {"SourcePrefix": prefix, "SourceSuffix": suffix})
    notification = resolver.resolve(props("SourceBucket")["NotificationConfiguration"])
    configs = notification["QueueConfigurations"]
    assert sorted(c["Event"] for c in configs) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    for config in configs:
        assert config["Queue"] == resolver.attribute("Queue", "Arn")
        assert config.get("Filter", {}).get("S3Key", {}).get("Rules") == rules


def test_event_source_mapping_targets_the_live_alias() -> None:
    mapping = props("EventSourceMapping")
    assert mapping["FunctionName"] == {"Ref": "LiveAlias"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "MaximumConcurrency"}}
    assert mapping["BatchSize"] == {"Ref": "BatchSize"}
    assert mapping["MaximumBatchingWindowInSeconds"] == {"Ref": "MaximumBatchingWindowInSeconds"}
    alias = props("LiveAlias")
    assert alias["Name"] == "live"
    assert alias["FunctionVersion"] == {"Fn::GetAtt": ["Version", "Version"]}
    assert RESOURCES["Version"]["UpdateReplacePolicy"] == "Retain"


CHAIN = ["RenditionsVersion1", "RenditionsVersion2", "RenditionsVersion3", "RenditionsVersion4"]


def _longest_renditions() -> str:
    """15 items of 80 characters, each a valid rendition: the most the pattern allows."""
    return ",".join(f"{i:02d}" + "r" * 74 + "=1x1" for i in range(15))


def test_renditions_take_at_least_1000_characters_and_refuse_what_the_chain_cannot_hold() -> None:
    """Issue 18 item 6: 128 characters refused an ordinary responsive ladder (151)."""
    pattern = re.compile(PARAMETERS["Renditions"]["AllowedPattern"])
    ladder = (
        ",".join(f"w{w}={w}x:format=avif+webp+jpeg" for w in (480, 960, 1440, 1920))
        + ",thumbnails=150x150:cover"
    )
    assert len(ladder) > 128
    assert pattern.fullmatch(ladder)
    longest = _longest_renditions()
    assert len(longest) >= 1000
    assert len(longest) <= PARAMETERS["Renditions"]["MaxLength"]
    assert pattern.fullmatch(longest)
    assert not pattern.fullmatch(longest + ",x=1x1")  # a 16th item
    assert not pattern.fullmatch("a" * 77 + "=1x1")  # an item of 81 characters


def test_a_new_version_is_published_for_any_code_or_configuration_change() -> None:
    """The descriptions of the version chain name every input of the function, each
    fits 256: SettingsVersion (code and settings), then RenditionsVersion1..4 and
    Version, each recording the number of the link before and three items of RENDITIONS."""
    # With ExistingSourceBucket, BucketVersion (SettingsVersion's ARN + the bucket) sits
    # between SettingsVersion and the renditions links: test_template_byob.py.
    links = [*CHAIN, "Version"]
    for before, link in zip(["CdnVersion", *links], links, strict=False):
        assert props(link)["FunctionName"] == props("SettingsVersion")["FunctionName"]
        assert props(link)["Description"]["Fn::Join"][0] == ","
        previous = props(link)["Description"]["Fn::Join"][1][0]
        if link == "RenditionsVersion1":
            previous = previous["Fn::If"][2]
        assert previous == {"Fn::GetAtt": [before, "Version"]}, link
        assert RESOURCES[link]["UpdateReplacePolicy"] == "Retain"
    assert props("LiveAlias")["FunctionVersion"] == {"Fn::GetAtt": ["Version", "Version"]}
    # Every character of the longest RENDITIONS is in exactly one link, in order: any
    # change to it changes a link, which changes every link after it.
    longest = _longest_renditions()
    resolver = Resolver(DOCUMENT, {"Renditions": longest})
    descriptions = [str(resolver.resolve(props(link)["Description"])) for link in links]
    assert all(len(d) - 1 + 10 <= 256 for d in descriptions), descriptions  # a 10-digit number
    items = [item for d in descriptions for item in d.split(",")[1:] if item]
    assert ",".join(items) == longest
    watermark = props("WatermarkVersion")["Description"]["Fn::Sub"]
    assert watermark.startswith("${SettingsVersion} ")
    # Ref of a version is its ARN: region (14 at most), account, a generated function
    # name (64 at most) and the number (10 digits at most).
    longest_arn = len("arn:aws:lambda:ap-southeast-2:123456789012:function:") + 64 + 1 + 10
    function = props("Function")
    # Every Ref in the environment, also inside Fn::If (SOURCE_BUCKET).
    inputs = set(re.findall(r"'Ref': '(\w+)'", str(function["Environment"]["Variables"])))
    inputs |= {"CodeKey", "Runtime", "Architecture", "MemorySize", "Timeout"}
    inputs -= {"DestinationBucket", "DeadLetterQueue", "SourceBucket"}  # fixed for the stack's life
    inputs -= {"ExistingSourceBucket"}  # recorded by BucketVersion: test_template_byob.py
    inputs -= {"Renditions"}  # recorded by the chain (above)
    inputs -= {"Cdn", "CdnAliases"}  # CDN_URL: recorded by CdnVersion (below)
    description = watermark + " " + props("SettingsVersion")["Description"]["Fn::Sub"]
    assert {f"${{{name}}}" for name in inputs} <= set(re.findall(r"\$\{[^}]+\}", description))
    longest_settings = {
        "CodeKey": "k" * 76 + ".zip",
        "MaxInputPixels": str(PARAMETERS["MaxInputPixels"]["MaxValue"]),
        "MaxInputBytes": str(PARAMETERS["MaxInputBytes"]["MaxValue"]),
        "MemorySize": str(PARAMETERS["MemorySize"]["MaxValue"]),
        "LogLevel": "WARNING",
        "Architecture": "x86_64",
        "EventBusName": "b" * PARAMETERS["EventBusName"]["MaxLength"],
    }
    resolved = Resolver(DOCUMENT, longest_settings).resolve(props("SettingsVersion")["Description"])
    assert len(resolved) <= 256, resolved
    # WatermarkVersion: a version ARN, the longest mark URI and the longest numbers.
    marked = {
        "Watermark": "s3://" + "w" * (PARAMETERS["Watermark"]["MaxLength"] - 5),
        "WatermarkScale": "0.99",
        "WatermarkOpacity": "0.99",
        "WatermarkMinWidth": str(PARAMETERS["WatermarkMinWidth"]["MaxValue"]),
    }
    link = Resolver(DOCUMENT, marked).resolve(props("WatermarkVersion")["Description"])
    assert len(link) - len(Resolver(DOCUMENT).ref("SettingsVersion")) + longest_arn <= 256


def test_what_the_cdn_url_follows_is_recorded_in_the_chain() -> None:
    """CDN_URL follows Cdn and CdnAliases (the distribution's domain is fixed for its
    life): CdnVersion records both, after WatermarkVersion's number, within 256."""
    cdn_url = str(props("Function")["Environment"]["Variables"]["CDN_URL"])
    assert set(re.findall(r"'Ref': '(\w+)'", cdn_url)) == {"CdnAliases"}
    description = props("CdnVersion")["Description"]["Fn::Sub"]
    assert description.startswith("${WatermarkVersion.Version} ")
    assert {"${Cdn}", "${CdnAliases}"} <= set(re.findall(r"\$\{[^}]+\}", description))
    longest = Resolver(DOCUMENT, {"Cdn": "true", "CdnAliases": "a" * 200})
    assert len(str(longest.resolve(props("CdnVersion")["Description"]))) - 1 + 10 <= 256
    assert PARAMETERS["CdnAliases"]["MaxLength"] == 200


# Lambda: "Environment variables: 4 KB", all keys and values together.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_ENVIRONMENT_BYTES = 4096


def test_the_longest_environment_fits_lambdas_4_kb() -> None:
    """The real bound of RENDITIONS: every variable at its longest still fits."""
    worst = {
        **{k: "x" * int(v["MaxLength"]) for k, v in PARAMETERS.items() if "MaxLength" in v},
        **{k: str(v["MaxValue"]) for k, v in PARAMETERS.items() if "MaxValue" in v},
        "Renditions": _longest_renditions(),
        "LogLevel": "WARNING",
        "Cdn": "true",
        "CdnAliases": "d" * 253,  # a DNS name's longest
        "CdnCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
        "ExistingSourceBucket": "b" * 63,
    }
    variables = Resolver(DOCUMENT, worst).resolve(props("Function")["Environment"]["Variables"])
    # Names the stack generates, at their longest: buckets (63), the queue's URL (a
    # region of 14, an 80-character name).
    variables["DESTINATION_BUCKET"] = "b" * 63
    variables["DEAD_LETTER_QUEUE_URL"] = (
        "https://sqs.ap-southeast-2.amazonaws.com/123456789012/" + "q" * 80
    )
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    assert size <= LAMBDA_ENVIRONMENT_BYTES, size


def test_a_realistic_renditions_spec_fits_the_parameter() -> None:
    from resizer.config import parse_renditions

    # The example, with a quality: crop, formats and quality in three renditions.
    spec = (
        "thumbnails=150x150:cover,medium=800x800:format=original+webp,"
        "large=1600x1600:format=original+webp+avif:quality=75"
    )
    assert len(spec) <= PARAMETERS["Renditions"]["MaxLength"]
    assert re.fullmatch(PARAMETERS["Renditions"]["AllowedPattern"], spec)
    assert len(parse_renditions(spec)) == 3


# ------------------------------------------------------------------------ buckets
BUCKETS = [(TEMPLATE, name) for name in of_type("AWS::S3::Bucket")] + [
    (BOOTSTRAP, name) for name in of_type("AWS::S3::Bucket", load(BOOTSTRAP))
]


@pytest.mark.parametrize(("path", "bucket"), BUCKETS, ids=lambda v: getattr(v, "name", v))
def test_bucket_is_private_encrypted_and_tls_only(path: Path, bucket: str) -> None:
    # moto ignores PublicAccessBlockConfiguration and bucket policies: checked here.
    document = load(path)
    bucket_props = document["Resources"][bucket]["Properties"]
    assert bucket_props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"),
        True,
    )
    assert bucket_props["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    (encryption,) = bucket_props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    rules = bucket_props["LifecycleConfiguration"]["Rules"]
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)
    if "VersioningConfiguration" in bucket_props:
        assert any("NoncurrentVersionExpiration" in r for r in rules)
    policies = [
        r["Properties"]
        for r in of_type("AWS::S3::BucketPolicy", document).values()
        if r["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1
    # (statements under Fn::If are optional Allows: the CDN block's)
    deny = [s for s in policies[0]["PolicyDocument"]["Statement"] if s.get("Effect") == "Deny"]
    assert deny[:1] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [
                {"Fn::GetAtt": [bucket, "Arn"]},
                {"Fn::Sub": f"${{{bucket}.Arn}}/*"},
            ],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_source_versioning_is_a_parameter_on_by_default() -> None:
    assert PARAMETERS["SourceVersioning"]["Default"] == "true"
    for value, status in (("true", "Enabled"), ("false", "Suspended")):
        resolver = Resolver(DOCUMENT, {"SourceVersioning": value})
        assert resolver.resolve(props("SourceBucket")["VersioningConfiguration"]) == {
            "Status": status
        }
    artifacts = load(BOOTSTRAP)["Resources"]["ArtifactBucket"]["Properties"]
    assert artifacts["VersioningConfiguration"] == {"Status": "Enabled"}


def test_renditions_cannot_retrigger_the_function() -> None:
    assert "NotificationConfiguration" not in props("DestinationBucket")
    assert "NotificationConfiguration" not in props("AccessLogBucket")


# ------------------------------------------------------------------------- alarms
def test_alarms_notify_the_encrypted_topic() -> None:
    # moto has no AWS::CloudWatch::Alarm: checked here.
    alarms = of_type("AWS::CloudWatch::Alarm")
    watched = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]): a["Properties"]
        for a in alarms.values()
    }
    assert set(watched) == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
    }
    dlq = watched["AWS/SQS", "ApproximateNumberOfMessagesVisible"]
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    for alarm in watched.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert props("AlarmTopic")["KmsMasterKeyId"] == {"Fn::GetAtt": ["OperationsKey", "Arn"]}
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert Resolver(DOCUMENT).condition("HasAlarmEmail") is False
    assert Resolver(DOCUMENT, {"AlarmEmail": "ops@example.com"}).condition("HasAlarmEmail")


def test_access_logs_come_only_from_the_logged_buckets() -> None:
    # The names are spelt out with !Sub (the buckets depend on this policy): the
    # spelling must stay the buckets' real names.
    resolver = Resolver(DOCUMENT)
    policy = resolver.resolve(props("AccessLogBucketPolicy"))["PolicyDocument"]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    logged = [
        name for name, r in RESOURCES.items() if "LoggingConfiguration" in r.get("Properties", {})
    ]
    assert sorted(allow["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(
        resolver.attribute(name, "Arn") for name in logged
    )
    for name in logged:
        assert "AccessLogBucketPolicy" in RESOURCES[name]["DependsOn"]
    bootstrap = load(BOOTSTRAP)
    resolver = Resolver(bootstrap)
    policy = resolver.resolve(bootstrap["Resources"]["AccessLogBucketPolicy"]["Properties"])
    (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == resolver.attribute(
        "ArtifactBucket", "Arn"
    )


def test_only_this_accounts_alarms_publish_to_the_topic() -> None:
    policy = Resolver(DOCUMENT).resolve(props("AlarmTopicPolicy"))["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == (
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"
    )


def test_template_fits_a_template_in_s3() -> None:
    """Every deploy sends infra/template.yaml by URL from the artifact bucket, so AWS's
    rule for it is "Template body size in an Amazon S3 object: 1 MB" (1,000,000 bytes,
    the stricter reading); as a request's body it would be held to 51,200 bytes, which
    it outgrows. The emulator enforces neither.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
    """
    from resizer_tools.ops.preflight import TEMPLATE_S3_LIMIT

    assert TEMPLATE_S3_LIMIT == 1_000_000
    assert TEMPLATE.stat().st_size <= TEMPLATE_S3_LIMIT, TEMPLATE.stat().st_size


@pytest.mark.parametrize("path", [p for p in TEMPLATES if p != TEMPLATE], ids=lambda p: p.name)
def test_bootstrap_templates_fit_a_template_body(path: Path) -> None:
    """bootstrap.yaml and deploy-roles.yaml go once, by hand, with `aws cloudformation
    deploy --template-file` (docs/first-deploy.md), which sends the body: "Template body
    size in a request: 51,200 bytes".
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
    """
    assert path.stat().st_size <= 51_200, path.stat().st_size


ROOT = TEMPLATE.parents[1]
#: Where the main template is deployed from: the scripts, the pipeline, what the docs
#: tell an operator to run.
DEPLOY_PATHS = [
    *sorted((ROOT / "scripts").glob("*.sh")),
    *sorted((ROOT / "scripts").glob("*.py")),
    ROOT / "azure-pipelines.yml",
    ROOT / "Makefile",
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
_AS_BODY = re.compile(r"--template-body|--template-file|templateFile:|TemplateBody=")


def test_no_deploy_path_sends_the_main_template_as_a_body() -> None:
    """The main template goes by --template-url / TemplateURL / the toolkit's
    ``templateSource: url``; a body (--template-body, `aws cloudformation deploy
    --template-file` without --s3-bucket, the toolkit's templateFile) is refused over
    51,200 bytes. Bootstrap and deploy-roles templates stay small and may go as a body."""
    problems = []
    for path in DEPLOY_PATHS:
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if _AS_BODY.search(line) and re.search(r"\btemplate\.yaml|\$TEMPLATE\b", line):
                problems.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
            if path.suffix == ".py" and "TemplateBody=" in line:
                problems.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8"))
    sources = [
        found["templateSource"] for found in _mappings(pipeline) if "templateSource" in found
    ]
    assert sources, "the pipeline deploys no stack with the toolkit task any more: update this"
    problems += [f"azure-pipelines.yml: templateSource {s}" for s in sources if s != "url"]
    assert not problems, "\n".join(problems)


def _mappings(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(m for value in node.values() for m in _mappings(value))]
    if isinstance(node, list):
        return [m for item in node for m in _mappings(item)]
    return []


def test_batch_size_above_ten_needs_a_batching_window() -> None:
    rule = DOCUMENT["Rules"]["BatchSizeNeedsWindow"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "MaximumBatchingWindowInSeconds"}, "0"]}
    ((allowed, value),) = [a["Assert"]["Fn::Contains"] for a in rule["Assertions"]]
    assert value == {"Ref": "BatchSize"}
    assert allowed == [str(n) for n in range(1, 11)]


def test_template_parameter_defaults_agree_with_the_function_defaults() -> None:
    """A setting's default is declared once (resizer.config.Settings); every template
    parameter that feeds a function environment variable defaults to the same value."""
    document = cfn_template.load()
    defaults = cfn_template.parameter_defaults(document)
    variables = document["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    code_defaults = Settings.environment_defaults()
    compared = {
        env: (defaults[value["Ref"]], code_defaults[env])
        for env, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in defaults and env in code_defaults
    }
    assert {"RENDITIONS", "JPEG_QUALITY", "MAX_INPUT_PIXELS", "MAX_INPUT_BYTES"} <= set(compared)
    assert {env: pair for env, pair in compared.items() if pair[0] != pair[1]} == {}
