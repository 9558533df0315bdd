"""The template's QualityTarget (issue 19) is QUALITY_TARGET: its range and default are
resizer.config's, and the version chain records it."""

from __future__ import annotations

import re
from dataclasses import fields

from cfn_template import TEMPLATE, Resolver, load

from resizer.config import Settings

DOCUMENT = load(TEMPLATE)


def test_quality_target_has_the_setting_s_range_and_default() -> None:
    parameter = DOCUMENT["Parameters"]["QualityTarget"]
    (spec,) = [f for f in fields(Settings) if f.metadata.get("env") == "QUALITY_TARGET"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == spec.metadata["range"]
    assert parameter["Default"] == spec.default
    variables = DOCUMENT["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["QUALITY_TARGET"] == {"Ref": "QualityTarget"}


def test_a_quality_target_change_publishes_a_new_version() -> None:
    settings = DOCUMENT["Resources"]["SettingsVersion"]["Properties"]["Description"]
    assert "${QualityTarget}" in re.findall(r"\$\{[^}]+\}", settings["Fn::Sub"])
    low = Resolver(DOCUMENT, {"QualityTarget": "30"}).resolve(settings)
    high = Resolver(DOCUMENT, {"QualityTarget": "95"}).resolve(settings)
    assert low != high
