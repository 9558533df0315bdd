"""fetch -> render -> store, for one object event. Shared by the handler, the local
stack and the CLI.

Ordering rules that keep renditions in step with their source, whatever order
(or how many times) the events arrive in:

* every rendition records the ETag of the source it was made from and the
  fingerprint of its settings; the manifest, written after every rendition, records
  the source's ETag and the set's fingerprint and lists every object. Up to date
  means everything listed (resizer.manifest.plan): only the renditions with an object
  missing, or made from another source or config, are rendered again, the current
  ones left untouched, and the new manifest lists both. When everything is current the
  event is a duplicate (or stale) and costs a HEAD of the source, a GET of the
  manifest and a HEAD of each object it lists;
* a set is announced (Renditions Ready) after its manifest is written and the
  source is confirmed current; the manifest is marked announced only after
  PutEvents succeeded, and a delivery that finds a current manifest not yet
  announced publishes it without rendering (at least once; a duplicate delivery of
  an announced set publishes nothing);
* the pipeline always renders the source *as it is now*, not as the event saw it;
* after writing, it checks the source is still the one it rendered: if it was
  replaced meanwhile, it renders again (so a stale write is repaired by its own
  writer); if it was deleted meanwhile, it removes what it wrote;
* a removal deletes the renditions only while the source is absent, and renders
  again if the source came back during the deletion; it deletes every rendition the
  manifest lists and every key the config names, announces Renditions Removed (when
  there was a manifest), then deletes the manifest. A source that keeps changing
  (replaced, or deleted and uploaded again, while it is handled) is given up after
  ``_MAX_ROUNDS`` turns as a TransientError, for SQS to deliver it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum

from resizer import imaging, publish
from resizer import manifest as manifests
from resizer.config import Settings
from resizer.errors import SourceGoneError, TransientError, no_deadline
from resizer.manifest import Manifest, Plan, SetState
from resizer.notifications import Action, KeyForm, ObjectChange, resolve_key
from resizer.storage import META_FOCAL_POINT, Storage


class Result(Enum):
    RENDERED = "rendered"
    UNCHANGED = "unchanged"  # duplicate delivery: renditions already match the source
    REMOVED = "removed"
    KEPT = "kept"  # removal ignored: the source exists again
    FOLDER = "folder"  # a zero-byte "folder/" marker (the S3 console makes them): no image


@dataclass(frozen=True)
class Outcome:
    kind: Result
    key: str
    bytes_in: int = 0
    bytes_out: int = 0
    renditions: int = 0
    ms: float = 0.0
    #: Where the time went: milliseconds per step (fetch, render, store).
    steps: dict[str, float] = field(default_factory=dict)


class _Stopwatch:
    """Milliseconds per named step, for the one log line per object."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = round((now - self._last) * 1000, 1)
        self._last = now


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Made:
    """What one round of :meth:`Pipeline._make` wrote, from the source at ``etag``, and
    its report (``outcome``: rendered, without the steps' times)."""

    etag: str
    manifest: Manifest
    outcome: Outcome


#: Renders of one event when the source keeps changing under it, before a retry.
_MAX_ROUNDS = 3
# How often a record waiting for a render slot checks the invocation's deadline.
_SLOT_POLL_S = 0.1


class Pipeline:
    def __init__(
        self, settings: Settings, storage: Storage, publisher: publish.Publisher | None = None
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.publisher = publisher or publish.EventBridgePublisher(None, "")
        # Shared by every thread of this pipeline: big renders wait for each other.
        self.budget = imaging.MemoryBudget(settings.memory_budget_mb * 1024 * 1024)
        # At most RENDER_CONCURRENCY renders at once (0: no limit); the other records
        # fetch and write meanwhile. Taken before the memory budget, released after it.
        slots = settings.render_concurrency
        self._slots = threading.BoundedSemaphore(slots) if slots else None

    def handle(
        self, event: ObjectChange, check_deadline: Callable[[], None] = no_deadline
    ) -> Outcome:
        """Process one object event. ``check_deadline`` raises when time is running out."""
        started = time.perf_counter()
        if event.action is Action.REMOVE:
            outcome = self._remove(event, check_deadline)
        else:
            outcome = self._render(event, check_deadline)
        return replace(outcome, ms=round((time.perf_counter() - started) * 1000, 1))

    def resolve_key(self, event: ObjectChange) -> tuple[ObjectChange, KeyForm | None]:
        """Which form of an EventBridge key names the object (:func:`resolve_key`): for a
        render, the one whose source exists; for a removal, the one with a manifest.
        Costs nothing unless decoding the key would change it (then one or two lookups)."""
        if event.action is Action.REMOVE:
            return resolve_key(event, lambda key: self.storage.read_manifest(key) is not None)
        return resolve_key(
            event, lambda key: self.storage.source_etag(event.bucket, key) is not None
        )

    def _render(
        self, event: ObjectChange, check_deadline: Callable[[], None], turns: int = 0
    ) -> Outcome:
        if event.key.endswith("/") and event.size == 0:
            return Outcome(Result.FOLDER, event.key)
        check_deadline()
        etag, plan = self._plan(event)
        if self._settled(event.key, plan):
            return Outcome(Result.UNCHANGED, event.key)
        return self._rounds(event, etag, plan, check_deadline, turns)

    def _plan(self, event: ObjectChange) -> tuple[str, Plan]:
        """The source's ETag as it is now, and what of its set is up to date with it."""
        self.storage.check_key(event.key)
        # Compare with the source as it is now, not with the event's ETag: a stale
        # render left behind by a crash must not pass for current.
        etag = self.storage.source_etag(event.bucket, event.key)
        if etag is None:
            raise SourceGoneError(
                f"s3://{event.bucket}/{event.key} no longer exists; "
                "it was deleted before it was processed"
            )
        return etag, self.storage.plan(event.key, etag)

    def _settled(self, source_key: str, plan: Plan) -> bool:
        """Whether ``plan`` needs no render: the set is current, or complete and only its
        Ready event is missing (published here; nothing to publish without a publisher)."""
        if plan.state is SetState.CURRENT:
            return True
        if plan.state is not SetState.UNANNOUNCED:
            return False
        if not self.publisher.enabled:
            return True
        if plan.manifest is None:
            return False
        # Complete, but its Ready event was never published (PutEvents failed, or
        # the function died after the manifest): publish it now, render nothing.
        self._announce(source_key, plan.manifest)
        return True

    def _rounds(
        self,
        event: ObjectChange,
        etag: str,
        plan: Plan,
        check_deadline: Callable[[], None],
        turns: int,
    ) -> Outcome:
        """Make what ``plan`` names, then confirm the source is still the one rendered:
        replaced meanwhile, render the newer one whole; deleted, undo what was written."""
        for _ in range(_MAX_ROUNDS):
            watch = _Stopwatch()
            made = self._make(event, etag, plan, check_deadline, watch)
            now = self.storage.source_etag(event.bucket, event.key)
            if now == made.etag:
                return self._rendered(event.key, made, watch)
            if now is None:
                # Deleted while we rendered; its removal may already have run: undo ours.
                return self._remove(event, check_deadline, turns + 1)
            # Replaced while we rendered: what we wrote is stale, render the newer one whole.
            etag, plan = now, Plan(SetState.STALE, stale=self.settings.renditions)
        raise TransientError(
            f"s3://{event.bucket}/{event.key} changed {_MAX_ROUNDS} times while it was being "
            "rendered; the record will be retried"
        )

    def _rendered(self, source_key: str, made: _Made, watch: _Stopwatch) -> Outcome:
        """A set made from the current source: announced (when publishing), reported."""
        if self.publisher.enabled:
            self._announce(source_key, made.manifest)
            watch.lap("announce")
        return replace(made.outcome, steps=watch.steps)

    def _make(
        self,
        event: ObjectChange,
        etag: str,
        plan: Plan,
        check_deadline: Callable[[], None],
        watch: _Stopwatch,
    ) -> _Made:
        """Render what ``plan`` names stale (of the source at ``etag``), write it, then the
        manifest listing it beside what ``plan`` kept. Nothing stale: only the manifest
        (a rendition dropped from the config, a new CDN_URL)."""
        if not plan.stale and plan.manifest is not None:
            manifest = manifests.rewritten(plan.manifest, plan.kept, self.settings)
            self.storage.write_manifest(event.key, manifest, announced=not self.publisher.enabled)
            watch.lap("store")
            return _Made(etag, manifest, Outcome(Result.RENDERED, event.key))
        source = self.storage.fetch(event.bucket, event.key, check_deadline)
        watch.lap("fetch")
        if source.etag != etag:  # replaced since the plan: nothing of it is current
            plan = Plan(SetState.STALE, stale=self.settings.renditions)
        focal = self._focal_point(event.key, source.metadata.get(META_FOCAL_POINT))
        with self._render_slot(check_deadline):
            rendered = imaging.render_set(
                source.data,
                replace(self.settings, renditions=plan.stale),
                self.budget,
                focal,
                check_deadline,
            )
        watch.lap("render")
        # The last moment to give up cleanly: nothing written yet.
        check_deadline()
        written = self.storage.store(event.key, source.etag, rendered.images)
        # Last, so that its presence means the set is complete.
        manifest = manifests.build(
            event.bucket, event.key, source.etag, rendered, self.settings, kept=plan.kept
        )
        self.storage.write_manifest(event.key, manifest, announced=not self.publisher.enabled)
        watch.lap("store")
        outcome = Outcome(
            Result.RENDERED,
            event.key,
            bytes_in=len(source.data),
            bytes_out=written,
            renditions=len(rendered.images),
        )
        return _Made(source.etag, manifest, outcome)

    @staticmethod
    def _focal_point(key: str, text: str | None) -> tuple[float, float] | None:
        """The source's ``focal-point`` metadata; an invalid one is logged and ignored
        (cover crops are then centred)."""
        point = imaging.parse_focal_point(text)
        if point is None and text is not None:
            logger.warning(
                "ignoring invalid focal-point metadata %r of %r: expected 'X,Y' with both "
                "in 0..1; cover crops are centred",
                text,
                key,
            )
        return point

    @contextmanager
    def _render_slot(self, check_deadline: Callable[[], None]) -> Iterator[None]:
        """One of the RENDER_CONCURRENCY slots; a record whose invocation runs out of
        time while it waits raises the deadline's error (retried), having written nothing."""
        if self._slots is None:
            yield
            return
        while not self._slots.acquire(timeout=_SLOT_POLL_S):
            check_deadline()
        try:
            yield
        finally:
            self._slots.release()

    def _announce(self, source_key: str, manifest: manifests.Manifest) -> None:
        """Publish Renditions Ready, then mark the manifest announced (at least once)."""
        publish.ready(self.publisher, manifest)
        self.storage.write_manifest(source_key, manifest, announced=True)

    def _remove(
        self, event: ObjectChange, check_deadline: Callable[[], None], turns: int = 0
    ) -> Outcome:
        check_deadline()
        if turns > _MAX_ROUNDS:
            # Deleted while rendered, re-uploaded while removed, over and over.
            raise TransientError(
                f"s3://{event.bucket}/{event.key} was deleted and uploaded again "
                f"{turns} times while it was handled; the record will be retried"
            )
        if self.storage.source_etag(event.bucket, event.key) is not None:
            return Outcome(Result.KEPT, event.key)
        # Everything the manifest lists (formats and names configured then), and the
        # manifest last: until it is gone, a retry finds it and announces again.
        found = self.storage.read_manifest(event.key)
        self.storage.delete_renditions(event.key, found)
        if found is not None and self.storage.source_etag(event.bucket, event.key) is None:
            publish.removed(self.publisher, event.bucket, event.key)
        self.storage.delete_manifest(event.key)
        etag = self.storage.source_etag(event.bucket, event.key)
        if etag is None:
            return Outcome(Result.REMOVED, event.key)
        # Re-uploaded while we deleted: its renditions may be gone, so make them again.
        recreated = ObjectChange(Action.RENDER, event.bucket, event.key, etag=etag)
        return self._render(recreated, check_deadline, turns + 1)
