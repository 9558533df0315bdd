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

The owner of ``<name>/<rest>`` is the source whose key is ``rest``, or ``rest`` less a
format extension (``.webp``, ``.avif``, ...) for a rendition's further formats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from resizer.manifest import decode, listed_keys, manifest_key
from resizer_tools.ops.aws import Aws, StackResources

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

__all__ = ["PruneReport", "drained", "prune"]

_EXTENSIONS = (".jpg", ".png", ".webp", ".avif", ".gif")
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
    manifest_prefix = manifest_key("")[: -len(".json")]
    objects = dict(_listed(aws, bucket))
    manifests = {
        key[len(manifest_prefix) : -len(".json")]: modified
        for key, modified in objects.items()
        if key.startswith(manifest_prefix) and key.endswith(".json")
    }
    report = PruneReport()
    doomed = _unlisted(
        aws,
        bucket,
        objects=objects,
        manifests=manifests,
        manifest_prefix=manifest_prefix,
        prefix=prefix,
        report=report,
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
    manifest_prefix: str,
    prefix: str,
    report: PruneReport,
) -> list[str]:
    """The keys to delete; the ones left alone are counted in ``report``."""
    listed: dict[str, set[str] | None] = {}
    doomed: list[str] = []
    for key, modified in sorted(objects.items()):
        if key.startswith(manifest_prefix) or "/" not in key:
            continue
        rest = key.split("/", 1)[1]
        if not rest.startswith(prefix):
            continue
        source = _owner(rest, manifests)
        if source is None:
            report.unowned.append(key)
            continue
        if source not in listed:
            listed[source] = _read_listed(aws, bucket, manifest_key(source))
        keep = listed[source]
        if keep is None:
            report.unowned.append(key)  # an unreadable manifest: leave its source alone
        elif key in keep:
            continue
        elif modified >= manifests[source]:
            report.in_progress.append(key)
        else:
            doomed.append(key)
    return doomed


def _owner(rest: str, manifests: dict[str, datetime]) -> str | None:
    """The source ``<name>/<rest>`` belongs to, among those with a manifest."""
    if rest in manifests:
        return rest
    for extension in _EXTENSIONS:
        if rest.endswith(extension) and rest[: -len(extension)] in manifests:
            return rest[: -len(extension)]
    return None


def _read_listed(aws: Aws, bucket: str, key: str) -> set[str] | None:
    """The keys a manifest lists; None when it is not a manifest this code can read."""
    body = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    manifest = decode(body)
    return set(listed_keys(manifest)) if manifest is not None else None


def _listed(aws: Aws, bucket: str) -> Iterator[tuple[str, datetime]]:
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"], item["LastModified"]
