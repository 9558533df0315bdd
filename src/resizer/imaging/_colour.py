"""Colour modes: bring any decoded image into a mode that resamples correctly.

Working modes are ``L``, ``RGB``, ``La`` and ``RGBa``: 8 bits per sample, and alpha
*premultiplied*, so LANCZOS never drags the colour of fully transparent pixels
(often black) into the visible edge - the "black halo" of naive RGBA resizing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageCms

from resizer.errors import UnsupportedFormatError

# Pillow quirk: resize()/reduce() on RGBA or LA premultiply and un-premultiply on
# *every* call. Cascading three renditions would round-trip the alpha three times
# (losing precision at low alpha), so we premultiply once and stay premultiplied.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
_STRAIGHT = {"RGBa": "RGBA", "La": "LA"}

#: The largest ICC profile copied into renditions. Display profiles (sRGB, Display P3,
#: Adobe RGB) are matrix/curve profiles of 0.5-4 KB; profiles of tens of KB to MBs
#: carry lookup tables (printer, camera and v4 "preference" profiles) and would dwarf
#: a 6 KB thumbnail (a 2 MB one made a 150 px JPEG of 2.1 MB). Past this size the
#: renditions are converted to sRGB, the web's default, and carry no profile.
MAX_EMBEDDED_ICC_BYTES = 16 * 1024


@dataclass(frozen=True)
class Working:
    image: Image.Image
    icc_profile: bytes | None  # to embed in outputs; None means sRGB (untagged)


def has_alpha(mode: str) -> bool:
    return mode in _STRAIGHT


def straight(image: Image.Image) -> Image.Image:
    """Premultiplied working image -> a mode encoders accept (RGBA, LA, RGB, L)."""
    mode = _STRAIGHT.get(image.mode)
    return image.convert(mode) if mode else image


def drop_alpha(image: Image.Image) -> Image.Image:
    """An alpha channel that is fully opaque carries nothing: drop it (for JPEG)."""
    if image.mode in ("RGBa", "RGBA"):
        return image.convert("RGB")
    if image.mode in ("La", "LA"):
        return image.convert("L")
    return image


def flatten(image: Image.Image) -> Image.Image:
    """A straight (RGBA, LA, RGB, L) image without alpha: transparent areas over white,
    as a page shows them (for JPEG and placeholders)."""
    if image.mode not in ("RGBA", "LA"):
        return image
    if image.getchannel("A").getextrema()[0] == 255:
        return drop_alpha(image)
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, image.convert("RGBA"))
    return flat.convert("RGB" if image.mode == "RGBA" else "L")


def is_opaque(image: Image.Image) -> bool:
    if not has_alpha(image.mode):
        return True
    low, _ = image.getchannel(image.getbands()[-1]).getextrema()
    return bool(low == 255)


def _cmyk_to_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    # Browsers render CMYK JPEGs inconsistently (some invert them); convert to sRGB.
    # Pillow already un-inverts Adobe CMYK JPEGs while decoding. With the file's own
    # CMYK profile the result matches print-preview colours; Pillow's built-in
    # conversion (no profile) is a naive formula, the best we can do without one.
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            # A fresh sRGB profile per call: LittleCMS profile handles are not
            # meant to be shared between threads, and creating one takes microseconds.
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            converted = ImageCms.profileToProfile(
                image, source, srgb, outputMode="RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or non-CMYK profile: fall back to the naive conversion
        else:
            if converted is not None:
                return converted
    return image.convert("RGB")


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    # Pillow quirk: convert("L") from I;16 / I *clips* at 255 instead of scaling, so
    # a 16-bit greyscale PNG comes out almost white. Scale 0..65535 to 0..255 first.
    wide = image if image.mode == "I" else image.convert("I")
    return wide.point(lambda value: value / 257 + 0.5).convert("L")  # + 0.5: round


def working(image: Image.Image, icc: bytes | None) -> Working:  # noqa: PLR0911 - one per mode
    """Decoded image -> (working-mode image, ICC profile to embed)."""
    mode = image.mode
    if mode in ("L", "RGB"):
        return Working(image, icc)
    if mode in _PREMULTIPLIED:
        return Working(image.convert(_PREMULTIPLIED[mode]), icc)
    if mode == "CMYK":
        # The profile described CMYK; the pixels are now sRGB.
        return Working(_cmyk_to_rgb(image, icc), None)
    if mode == "1":
        # Pillow quirk: resize() of "1" (and "P") silently falls back to NEAREST.
        return Working(image.convert("L"), icc)
    if mode in ("P", "PA"):
        # Palette images must be expanded before resampling (NEAREST otherwise), and
        # with their transparency (tRNS / GIF transparent index) as a real alpha.
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:
            return Working(rgba.convert("RGB"), icc)
        return Working(rgba.convert("RGBa"), icc)
    if mode.startswith("I;16") or mode == "I":
        return Working(_sixteen_bit_to_l(image), icc)
    if mode == "F":
        return Working(image.convert("L"), icc)
    if mode in ("RGBX", "YCbCr"):
        return Working(image.convert("RGB"), icc)
    raise UnsupportedFormatError(
        f"the image uses the colour mode {mode!r}, which resizer cannot render; "
        "save it as 8-bit RGB or greyscale"
    )


def bounded_profile(
    images: Sequence[Image.Image], icc: bytes | None
) -> tuple[list[Image.Image], bytes | None]:
    """(images, profile to embed): a profile over MAX_EMBEDDED_ICC_BYTES is applied
    (the pixels converted to sRGB) instead of embedded; one LittleCMS cannot use, or
    on greyscale pixels, is dropped."""
    if icc is None or len(icc) <= MAX_EMBEDDED_ICC_BYTES:
        return list(images), icc
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        transforms = {
            mode: ImageCms.buildTransform(source, srgb, mode, mode)
            for mode in {straight(im).mode for im in images}
            if mode in ("RGB", "RGBA")
        }
    except (ImageCms.PyCMSError, OSError, ValueError):
        return list(images), None
    converted = []
    for image in images:
        flat = straight(image)
        transform = transforms.get(flat.mode)
        if transform is None:
            converted.append(image)
            continue
        result = ImageCms.applyTransform(flat, transform) or flat
        converted.append(result.convert(image.mode) if image.mode != result.mode else result)
    return converted, None
