"""Faces through the handler on emulated AWS: an upload with a face near the edge of a
wide photo whose other end is busier; its 500x500 cover rendition holds the face
(FACE_DETECTION=on, the default) or follows edge energy (off), a focal-point in the
object's metadata wins, and the rendition's fingerprint follows the setting."""

from __future__ import annotations

import pytest
from emulated_aws import Stack
from images import cover_window, encode, face_scene, holds

from resizer import handler

KEY = "people/portrait.jpg"


def rendered(stack: Stack, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[bytes, str]:
    monkeypatch.setenv("RENDITIONS", "square=500x500:cover,wide=800x800")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    handler.runtime.cache_clear()
    response, _ = stack.invoke()
    assert response == {"batchItemFailures": []}
    obj = stack.s3.get_object(Bucket=stack.destination, Key=f"square/{KEY}")
    return obj["Body"].read(), obj["Metadata"]["config"]


@pytest.mark.parametrize("setting", ["on", "off"])
def test_a_cover_rendition_of_a_portrait_near_the_edge(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    scene, (face,) = face_scene("astronaut_left_brushes")
    stack.put(KEY, encode(scene, "JPEG", quality=85))
    body, config = rendered(stack, monkeypatch, FACE_DETECTION=setting)
    assert holds(cover_window(scene, body), face) == (setting == "on")
    handler.runtime.cache_clear()
    other = "off" if setting == "on" else "on"
    stack.put(KEY, encode(scene, "JPEG", quality=85))
    _, other_config = rendered(stack, monkeypatch, FACE_DETECTION=other)
    assert config != other_config  # the setting is part of the cover's fingerprint


def test_a_focal_point_in_the_metadata_wins_over_the_face(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene, (face,) = face_scene("astronaut_left_brushes")
    stack.s3.put_object(
        Bucket=stack.source,
        Key=KEY,
        Body=encode(scene, "JPEG", quality=85),
        Metadata={"focal-point": "1,0.5"},
    )
    body, _ = rendered(stack, monkeypatch)
    window = cover_window(scene, body)
    assert not holds(window, face)
    assert window[2] >= scene.width - 12  # the right end, as the metadata asks
