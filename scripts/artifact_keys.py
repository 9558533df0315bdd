"""Where a build goes in the artifact bucket: the one place that names its keys.

The zip is at ``resizer/<sha256>.zip`` and the CloudFormation template it was built
with at ``templates/<sha256>.yaml``, each under the SHA-256 of its own bytes, so a key
never holds two different contents and an upload is idempotent. scripts/package.py
writes both keys into the build's manifest, scripts/publish_artifact.py uploads there,
scripts/stack_parameters.py and scripts/change_set.py deploy from there;
scripts/aws_cli_deploy.sh makes the same keys in shell (tests/pipeline checks it
against these functions).

A deploy sends the template to CloudFormation as a TemplateURL, never as the template
body: a body may hold 51,200 bytes, a template in S3 1 MB
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
Standard library only (the deploy jobs import it).
"""

from __future__ import annotations

CODE_PREFIX = "resizer/"
TEMPLATE_PREFIX = "templates/"


def code_key(sha256: str) -> str:
    """The zip's key. 76 characters: the template's CodeKey allows at most 80."""
    return f"{CODE_PREFIX}{sha256}.zip"


def template_key(sha256: str) -> str:
    """The template's key, beside the zip's in the same bucket."""
    return f"{TEMPLATE_PREFIX}{sha256}.yaml"


def template_url(bucket: str, region: str, key: str) -> str:
    """The TemplateURL CloudFormation fetches ``key`` from, with the caller's credentials.

    The virtual-hosted form of an S3 object URL, which CloudFormation's TemplateURL takes
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html); the
    bucket must be in the stack's region (`resizer preflight` checks it).
    """
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"
