"""HDR through the handler on emulated AWS: the stored JPEG renditions of an Ultra HDR
upload are Ultra HDR (HDR=keep, the default) or plain JPEG (HDR=drop)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from emulated_aws import Stack
from images import ultra_hdr
from PIL import Image

from resizer import handler
from resizer.imaging import _gainmap

PHOTO = Path(__file__).parents[2] / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"


@pytest.mark.parametrize("mode", ["keep", "drop"])
def test_an_ultra_hdr_upload(stack: Stack, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("RENDITIONS", "thumb=120x120:cover,hero=500x:format=jpeg+webp")
    monkeypatch.setenv("HDR", mode)
    handler.runtime.cache_clear()
    stack.put("phone/PXL 1.jpg", ultra_hdr(str(PHOTO)))
    response, _ = stack.invoke()
    assert response == {"batchItemFailures": []}
    for name in ("thumb", "hero"):
        obj = stack.s3.get_object(Bucket=stack.destination, Key=f"{name}/phone/PXL 1.jpg")
        body = obj["Body"].read()
        assert obj["ContentType"] == "image/jpeg"
        with Image.open(io.BytesIO(body)) as image:
            assert image.format == ("MPO" if mode == "keep" else "JPEG")
        assert (_gainmap.find(body) is not None) == (mode == "keep")
