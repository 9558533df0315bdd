"""The optional CloudFront distribution (Cdn=true): private bucket, HTTPS only, cache key.

checkov checks the distribution in tests/infra/test_checkov.py (a copy of the template
with Cdn on); this file checks what the CDN must keep true, and what the local stack
does instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from cfn_template import TEMPLATE, Resolver, load

DOCUMENT = load(TEMPLATE)
CDN_RESOURCES = {"CdnOriginAccessControl", "CdnCachePolicy", "CdnDistribution"}


def _resolved(logical_id: str, **parameters: str) -> dict[str, Any]:
    resolver = Resolver(DOCUMENT, parameters)
    return dict(resolver.resolve(DOCUMENT["Resources"][logical_id]["Properties"]))


def test_off_by_default() -> None:
    assert DOCUMENT["Parameters"]["Cdn"]["Default"] == "false"
    assert not Resolver(DOCUMENT).condition("HasCdn")
    for logical_id in CDN_RESOURCES:
        assert DOCUMENT["Resources"][logical_id]["Condition"] == "HasCdn"
    statements = _resolved("DestinationBucketPolicy")["PolicyDocument"]["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport"]
    assert {"CdnUrl", "CdnDistributionId"} <= {
        name for name, output in DOCUMENT["Outputs"].items() if output.get("Condition") == "HasCdn"
    }


def test_the_bucket_stays_private_and_only_this_distribution_reads_it() -> None:
    bucket = _resolved("DestinationBucket", Cdn="true")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    statements = _resolved("DestinationBucketPolicy", Cdn="true")["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s["Effect"] == "Allow"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"].endswith("/*")
    source_arn = read["Condition"]["StringEquals"]["aws:SourceArn"]
    assert source_arn.startswith("arn:aws:cloudfront::123456789012:distribution/")
    oac = _resolved("CdnOriginAccessControl", Cdn="true")["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"]) == ("always", "sigv4")


def test_https_read_only_and_versioned_urls_in_the_cache_key() -> None:
    config = _resolved("CdnDistribution", Cdn="true")["DistributionConfig"]
    behaviour = config["DefaultCacheBehavior"]
    # http:// links get a redirect, not a 403 (issue 18 item 3).
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["Compress"] is True
    (origin,) = config["Origins"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert origin["OriginAccessControlId"]
    cache = _resolved("CdnCachePolicy", Cdn="true")["CachePolicyConfig"]
    keys = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keys["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": ["v"]}
    assert keys["CookiesConfig"] == {"CookieBehavior": "none"}
    assert keys["HeadersConfig"] == {"HeaderBehavior": "none"}
    # MaxTTL reaches the renditions' Cache-Control max-age (CACHE_CONTROL's default).
    assert int(cache["MaxTTL"]) >= 31_536_000
    url = Resolver(DOCUMENT, {"Cdn": "true"}).resolve(DOCUMENT["Outputs"]["CdnUrl"]["Value"])
    assert str(url).startswith("https://")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_local_stack_deploys_it_as_far_as_the_emulator_allows() -> None:
    """moto has no CloudFront OAC or cache policy: the local stack reports the CDN as
    not emulated (read the destination bucket directly) and leaves out its outputs."""
    from pathlib import Path

    from resizer_tools.local.stack import LocalStack

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalStack(
            Path(TEMPLATE), stack_name="resizer-cdn", parameters={"Cdn": "true"}, poller=False
        ) as stack:
            assert stack.deployment is not None
            reported = " ".join(stack.deployment.not_emulated)
            outputs = stack.deployment.outputs
    for logical_id in CDN_RESOURCES:
        assert logical_id in reported
    assert "read the destination bucket directly" in reported
    assert "CdnUrl" not in outputs
    assert outputs["DestinationBucketName"]


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f2c3d4e-1111-2222-3333-444455556666"


def test_a_custom_domain_with_its_certificate() -> None:
    """Issue 18 item 3: alternate domain names and an ACM certificate (us-east-1)."""
    custom = {"Cdn": "true", "CdnAliases": "img.example.com,cdn.example.com"}
    config = _resolved("CdnDistribution", **custom, CdnCertificateArn=CERTIFICATE)
    distribution = config["DistributionConfig"]
    assert distribution["Aliases"] == ["img.example.com", "cdn.example.com"]
    assert distribution["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE,
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    default = _resolved("CdnDistribution", Cdn="true")["DistributionConfig"]
    assert "Aliases" not in default
    assert default["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({"Cdn": "true", "CdnAliases": "img.example.com"}, "need CdnCertificateArn"),
        ({"CdnAliases": "img.example.com", "CdnCertificateArn": CERTIFICATE}, "need Cdn=true"),
        ({"Cdn": "true", "CdnCertificateArn": CERTIFICATE}, "name the domains it covers"),
    ],
)
def test_rules_refuse_half_a_custom_domain(parameters: dict[str, str], refused: str) -> None:
    failures = Resolver(DOCUMENT, parameters).rule_failures()
    assert any(refused in failure for failure in failures), failures
    complete = {"Cdn": "true", "CdnAliases": "img.example.com", "CdnCertificateArn": CERTIFICATE}
    assert Resolver(DOCUMENT, complete).rule_failures() == []


def test_the_certificate_must_be_in_us_east_1() -> None:
    """CloudFront reads ACM certificates in us-east-1 only.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    """
    import re

    pattern = DOCUMENT["Parameters"]["CdnCertificateArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, CERTIFICATE)
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, CERTIFICATE.replace("us-east-1", "eu-west-1"))


def test_the_function_gets_the_cdn_url() -> None:
    """CDN_URL: the first alternate domain, else the distribution's name, else empty;
    the same URL as the CdnUrl output."""

    def cdn_url(**parameters: str) -> str:
        return str(_resolved("Function", **parameters)["Environment"]["Variables"]["CDN_URL"])

    def output(**parameters: str) -> str:
        return str(Resolver(DOCUMENT, parameters).resolve(DOCUMENT["Outputs"]["CdnUrl"]["Value"]))

    assert cdn_url() == ""
    assert cdn_url(Cdn="true") == output(Cdn="true") == "https://d111111abcdef8.cloudfront.net"
    custom = {"Cdn": "true", "CdnAliases": "img.example.com,b.example.com"}
    assert cdn_url(**custom) == output(**custom) == "https://img.example.com"
