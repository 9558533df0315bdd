"""format=auto:quality=auto on emulated AWS (issue 19): the stored outputs are what the
manifest says (bytes, quality, score), at the layout's keys; a QUALITY_TARGET change
re-renders on a backfill-style delivery, an unchanged config does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from emulated_aws import Stack, record_calls

from resizer import handler, layout
from resizer.config import Settings
from resizer.imaging import _auto, _output
from resizer.imaging._render import resample

PHOTO = Path(__file__).resolve().parents[2] / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
RENDITIONS = "m=400x400:format=auto:quality=auto,t=120x120:cover:format=auto:quality=auto"


def _stored(stack: Stack, key: str) -> tuple[bytes, dict[str, str], str]:
    got = stack.s3.get_object(Bucket=stack.destination, Key=key)
    return got["Body"].read(), got["Metadata"], got["ContentType"]


def _check_set(stack: Stack, target: int) -> dict[str, str]:
    """Every entry of the manifest against its stored object; the objects' configs."""
    settings = Settings.from_env({"RENDITIONS": RENDITIONS, "QUALITY_TARGET": str(target)})
    references = dict(
        zip(
            [r.name for r in settings.renditions],
            resample(PHOTO.read_bytes(), settings),
            strict=True,
        )
    )
    manifest = stack.manifest("w.jpg")
    configs = {}
    for name in ("m", "t"):
        entries = [e for e in manifest["renditions"] if e["name"] == name]
        assert [e["bytes"] for e in entries] == sorted({e["bytes"] for e in entries})
        assert entries[-1]["key"] == layout.rendition_key("w.jpg", name)  # the fallback
        assert entries[-1]["format"] == "JPEG"
        for entry in entries[:-1]:
            assert entry["format"] in ("AVIF", "WEBP")
            extension = _output.NAMED[entry["format"].lower()].extension
            assert entry["key"] == layout.rendition_key("w.jpg", name, extension)
        for entry in entries:
            data, metadata, content_type = _stored(stack, entry["key"])
            assert len(data) == entry["bytes"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert content_type == entry["content_type"]
            configs[entry["key"]] = metadata["config"]
            # score: resizer's measurement of the stored bytes, one decimal.
            reference = references[name].convert("RGB")
            decoded = _auto.decoded(data, "RGB")
            assert entry["score"] == round(_auto.ssimulacra2(reference)(decoded), 1)
            assert abs(entry["score"] - target) <= 2
            # quality: the stored pixels are the encoder's at that quality (with
            # 4:2:0 or 4:4:4 chroma, which the search chooses: _auto.search).
            output = _output.NAMED[entry["format"].lower()]
            encoding = _output.Encoding.of(settings).with_quality(entry["quality"])
            again = [
                _output.encode(references[name], output, encoding, full_chroma=full)
                for full in (False, True)
            ]
            assert decoded.tobytes() in [_auto.decoded(d, "RGB").tobytes() for d in again]
    return configs


def test_auto_outputs_match_their_manifest_and_a_target_change_re_renders(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDITIONS", RENDITIONS)
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    stack.put("w.jpg", PHOTO.read_bytes())
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    first = _check_set(stack, 80)
    listed = set(first) | {"manifests/w.jpg.json"}
    written = {o["Key"] for o in stack.s3.list_objects_v2(Bucket=stack.destination)["Contents"]}
    assert written == listed

    fallback = layout.rendition_key("w.jpg", "m")
    before = stack.s3.head_object(Bucket=stack.destination, Key=fallback)["LastModified"]
    stack.redeliver("w.jpg")  # unchanged config: nothing rendered again
    stack.invoke()
    again = stack.s3.head_object(Bucket=stack.destination, Key=fallback)["LastModified"]
    assert again == before
    assert _check_set(stack, 80) == first

    monkeypatch.setenv("QUALITY_TARGET", "65")  # the template's QualityTarget
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    stack.redeliver("w.jpg")
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    after = _check_set(stack, 65)
    assert set(after.values()).isdisjoint(first.values())  # every output re-rendered
