"""``resizer backfill --prune``: delete the renditions (and formats) no longer configured.

A config change never deletes anything by itself: the function re-renders what is
out of date and writes a new manifest listing what it wrote, and the renditions of
names or formats dropped since stay. Pruning removes them, by one rule:

    an object under ``<name>/`` that belongs to a source whose manifest exists, is not
    listed by that manifest, and is older than it, was written under an older config.

"Older than the manifest" keeps a render in progress safe: it writes its renditions,
then the manifest, so what it wrote is newer than the manifest it will replace.
Objects of a source without a manifest (rendered before manifests existed, or whose
render never finished) are left alone and counted.

Which source an object belongs to is :mod:`resizer.layout`'s to say
(``layout.parse``). It also reads the seed's layout back (further formats at
``<name>/<source key><ext>``, ``layout.legacy_further``): after a deploy that moved
them, ``resizer backfill`` re-renders each set into the new layout (new objects, then
the new manifest, which no longer lists the old keys) and the prune then deletes the old
keys. No manifest ever lists a missing object on the way: an object is deleted only
when no manifest of a source it may belong to lists it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from resizer import layout
from resizer.manifest import decode, listed_keys
from resizer_tools.ops.aws import Aws, StackResources

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

__all__ = ["PruneReport", "drained", "prune"]

_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
# The approximate counts can read 0 for a moment between a receive and a delete.
_QUIET_S = 2.0


@dataclass
class PruneReport:
    deleted: list[str] = field(default_factory=list)
    #: Objects whose source has no (readable) manifest: not ours to judge.
    unowned: list[str] = field(default_factory=list)
    #: Unlisted objects newer than their manifest: a render in progress.
    in_progress: list[str] = field(default_factory=list)


def prune(
    aws: Aws,
    stack: StackResources,
    prefix: str = "",
    *,
    dry_run: bool = False,
    on_delete: Callable[[str], None] | None = None,
) -> PruneReport:
    """Delete what no manifest lists, for the sources under ``prefix``."""
    bucket = stack.destination_bucket
    objects = dict(_listed(aws, bucket))
    manifests = {
        source: modified
        for key, modified in objects.items()
        if (source := layout.manifest_source(key)) is not None
    }
    report = PruneReport()
    doomed = _unlisted(
        aws, bucket, objects=objects, manifests=manifests, prefix=prefix, report=report
    )
    for start in range(0, len(doomed), _DELETE_BATCH):
        chunk = doomed[start : start + _DELETE_BATCH]
        if not dry_run:
            aws.s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
            )
        for key in chunk:
            report.deleted.append(key)
            if on_delete is not None:
                on_delete(key)
    return report


def drained(
    aws: Aws, stack: StackResources, timeout_s: float, on_wait: Callable[[int], None] | None = None
) -> bool:
    """Wait until the queue holds nothing (visible, in flight or delayed) for 2 s running.

    A backfill's re-renders write the new manifests; pruning before they are done would
    find the old ones, which still list what the new config dropped. False on timeout.
    """
    names: list[QueueAttributeFilterType] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    deadline = time.monotonic() + timeout_s
    empty_since: float | None = None
    while time.monotonic() < deadline:
        attributes = aws.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=names)
        left = sum(int(v) for v in attributes["Attributes"].values())
        if left:
            empty_since = None
            if on_wait is not None:
                on_wait(left)
        elif empty_since is None:
            empty_since = time.monotonic()
        elif time.monotonic() - empty_since >= _QUIET_S:
            return True
        time.sleep(0.5)
    return False


def _unlisted(
    aws: Aws,
    bucket: str,
    *,
    objects: dict[str, datetime],
    manifests: dict[str, datetime],
    prefix: str,
    report: PruneReport,
) -> list[str]:
    """The keys to delete; the ones left alone are counted in ``report``."""
    listed: dict[str, set[str] | None] = {}
    doomed: list[str] = []
    for key, modified in sorted(objects.items()):
        candidates = _owners(key)
        if not candidates or not any(source.startswith(prefix) for source in candidates):
            continue  # a manifest, another object, or a source outside the prefix
        owners = [source for source in candidates if source in manifests]
        if not owners:
            report.unowned.append(key)
            continue
        for source in owners:
            if source not in listed:
                listed[source] = _read_listed(aws, bucket, layout.manifest_key(source))
        keeps = [listed[source] for source in owners]
        if any(keep is None for keep in keeps):
            report.unowned.append(key)  # an unreadable manifest: leave its source alone
        elif any(key in keep for keep in keeps if keep is not None):
            continue
        elif any(modified >= manifests[source] for source in owners):
            report.in_progress.append(key)
        else:
            doomed.append(key)
    return doomed


def _owners(key: str) -> list[str]:
    """The sources ``key`` may be a rendition of: in the layout, and in the seed's
    (``<name>/<source key><ext>``, which a source named ``<source key><ext>`` shares).
    A key is deleted only when no manifest among them lists it."""
    found = [layout.parse(key), layout.legacy_further(key)]
    return list(dict.fromkeys(place.source_key for place in found if place is not None))


def _read_listed(aws: Aws, bucket: str, key: str) -> set[str] | None:
    """The keys a manifest lists; None when it is not a manifest this code can read."""
    body = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    manifest = decode(body)
    return set(listed_keys(manifest)) if manifest is not None else None


def _listed(aws: Aws, bucket: str) -> Iterator[tuple[str, datetime]]:
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"], item["LastModified"]
