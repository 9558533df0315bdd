"""Renditions from image bytes: pure Pillow, no AWS.

The pipeline, visible in the modules: ``_source`` (sniff, identify, check limits,
classify decoding errors; ``_jpeg`` reads a JPEG's markers and ``_frames`` an
animation's frame count before anything is decoded) -> ``_admission`` (open under the
memory reservation ``_memory`` budgets for concurrent renders) -> ``_colour``
(working colour mode, ICC, CMYK) -> ``_render`` (``_decode``'s shrink-on-load, then
``_resample``: orientation and sizes from ``_geometry``, the cascade; ``_crop`` cuts
cover crops around the focal point (``_faces`` finds faces for it), ``_watermark``
stamps the marked renditions, ``_placeholder`` makes the BlurHash) -> ``_output``
(formats and encoders, with what ``_metadata`` keeps of the source's EXIF/XMP/IPTC;
``_gainmap`` attaches an Ultra HDR source's gain map to its JPEG renditions; ``_auto``
chooses format=auto's outputs and quality=auto's qualities, scored by
``_ssimulacra2``). ``_allocator`` tunes malloc, on request.
Only the names in ``__all__`` are public.

Thread-safe: no shared mutable state except a lock-guarded, once-only registration
of the HEIF opener. Pillow releases the GIL while it decodes, resizes and encodes,
so several images render in parallel in threads. Importing the package changes
nothing in the process: :func:`tune_allocator` (``_allocator``) tunes glibc's malloc
for large images, called by the processes that render (the handler's init,
``resizer resize``).

``_ssimulacra2`` is the perceptual metric (SSIMULACRA2 in Pillow alone, no numpy):
``score(reference, distorted)``, or ``Reference(reference).score(candidate)`` to score
several candidates against one reference (docs/quality.md, "The metric").
"""

from resizer.imaging._allocator import tune as tune_allocator
from resizer.imaging._crop import parse_focal_point
from resizer.imaging._memory import MemoryBudget
from resizer.imaging._output import extensions as format_extensions
from resizer.imaging._placeholder import Placeholder
from resizer.imaging._render import RenderedImage, RenderSet, SourceInfo, render, render_set
from resizer.imaging._watermark import decode as decode_watermark

__all__ = [
    "MemoryBudget",
    "Placeholder",
    "RenderSet",
    "RenderedImage",
    "SourceInfo",
    "decode_watermark",
    "format_extensions",
    "parse_focal_point",
    "render",
    "render_set",
    "tune_allocator",
]
