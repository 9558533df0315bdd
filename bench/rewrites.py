"""What a change to one rendition rewrites, and what a duplicate delivery costs.

    PYTHONPATH=src python bench/rewrites.py [--sources 8]

A benchmark, never a test: it prints counts. Eight 1600x1200 JPEGs are rendered on
InMemoryStorage with real Pillow under three renditions (two with a further format),
delivered again (the duplicate check's requests, as InMemoryStorage records them: a
GET and the read of its body are one S3 request), then delivered under a config that
changes only ``hero``'s quality (issue 22 item 3: the rendition objects written again).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from images import jpeg

from resizer.config import Settings, parse_renditions
from resizer.memory_storage import InMemoryStorage
from resizer.notifications import Action, ObjectChange
from resizer.pipeline import Pipeline

BEFORE = "hero=800x:format=webp+jpeg,card=400x300:cover:format=webp+jpeg,thumb=150x150:cover"
AFTER = BEFORE.replace("hero=800x:format=webp+jpeg", "hero=800x:format=webp+jpeg:quality=60")


def _deliver(settings: Settings, storage: InMemoryStorage, keys: list[str]) -> None:
    for key in keys:
        Pipeline(settings, storage).handle(ObjectChange(Action.RENDER, "src", key, etag=""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=8)
    args = parser.parse_args()
    settings = Settings(destination_bucket="r", renditions=parse_renditions(BEFORE))
    storage = InMemoryStorage(settings)
    keys = [f"p/{n}.jpg" for n in range(args.sources)]
    for key in keys:
        storage.upload("src", key, jpeg(1600, 1200))
    _deliver(settings, storage, keys)
    objects = [k for b, k in storage.objects if b == "r" and not k.startswith("manifests/")]
    storage.calls.clear()
    _deliver(settings, storage, keys)
    requests = sum(op != "read" for op, _, _ in storage.calls) / len(keys)
    changed = replace(settings, renditions=parse_renditions(AFTER))
    store = InMemoryStorage(changed)
    store.objects = storage.objects
    _deliver(changed, store, keys)
    puts = [k for op, _, k in store.calls if op == "put" and not k.startswith("manifests/")]
    print(f"rendition objects: {len(objects)}")
    print(f"S3 requests per duplicate delivery: {requests:.0f}")
    print(f"rewritten after changing hero's quality only: {len(puts)} of {len(objects)}")


if __name__ == "__main__":
    main()
