"""Property: whatever the interleaving of uploads, replacements, deletions and their
deliveries (late, duplicated, reordered, raced by another worker mid-render or
mid-deletion), once every notification has been delivered after its change, the
renditions are the source as it is now (or gone with it).

The model is S3 + SQS: every change to the source queues one notification; SQS
delivers each at least once, in any order, and again after a transient failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_cases import KEY, SETTINGS, SOURCE, VERSIONS, assert_current, created, removed

from resizer.errors import ResizerError
from resizer.memory_storage import InMemoryStorage
from resizer.notifications import ObjectChange
from resizer.pipeline import Pipeline


@dataclass(frozen=True)
class Change:
    """Upload version ``version`` (``None``: delete the source)."""

    version: int | None


@dataclass(frozen=True)
class Deliver:
    """Deliver the ``pick``-th newest queued notification (modulo the queue); meanwhile,
    ``race`` (a change made by someone else while it renders or deletes) and, if
    ``nested``, that change's own notification handled by another worker at once."""

    pick: int
    race: Change | None = None
    nested: bool = False


CHANGES = st.builds(Change, st.one_of(st.none(), st.integers(0, 2)))
STEPS = st.lists(
    st.one_of(
        CHANGES,
        st.builds(Deliver, st.integers(0, 20), st.one_of(st.none(), CHANGES), st.booleans()),
    ),
    max_size=12,
)


class World:
    """One source key in S3, its notification queue, and workers handling it."""

    def __init__(self, versions: list[bytes]) -> None:
        self.versions = versions
        self.storage = InMemoryStorage(SETTINGS)
        self.queue: list[ObjectChange] = []  # one per change, in change order
        self.delivered: set[int] = set()  # which queued notifications were ever handled

    def change(self, change: Change) -> int:
        """Make the change; returns its notification's place in the queue."""
        if change.version is None:
            self.storage.remove(SOURCE, KEY)
            self.queue.append(removed())
        else:
            etag = self.storage.upload(SOURCE, KEY, self.versions[change.version])
            self.queue.append(created(etag=etag))
        return len(self.queue) - 1

    def handle(self, index: int) -> bool:
        """One worker handles one notification; False when SQS will deliver it again."""
        try:
            Pipeline(SETTINGS, self.storage).handle(self.queue[index])
        except ResizerError as error:
            if not error.permanent:
                return False  # transient (the source kept changing): redelivered later
            # Permanent (the source is gone): dead-lettered, nothing left to do.
        self.delivered.add(index)
        return True

    def deliver(self, step: Deliver) -> None:
        if not self.queue:
            return
        index = len(self.queue) - 1 - step.pick % len(self.queue)
        if step.race is not None:
            self._race(step.race, step.nested)
        self.handle(index)
        self.storage.after_fetch = self.storage.before_delete = None

    def _race(self, race: Change, nested: bool) -> None:
        """Arm both hooks; whichever fires first makes the change (once)."""

        def interfere() -> None:
            self.storage.after_fetch = self.storage.before_delete = None
            index = self.change(race)
            if nested:
                self.handle(index)

        self.storage.after_fetch = lambda bucket, key: interfere()
        self.storage.before_delete = lambda source_key: interfere()

    def drain(self, order: list[int]) -> None:
        """SQS delivers what was never handled, in any order, retrying transient failures."""
        pending = [i for i in order if i not in self.delivered]
        pending += [
            i for i in range(len(self.queue)) if i not in self.delivered and i not in pending
        ]
        for _ in range(5):
            pending = [i for i in pending if not self.handle(i)]
            if not pending:
                return
        raise AssertionError(f"{len(pending)} notification(s) still failing")


@settings(max_examples=150, deadline=None, database=None)
@given(steps=STEPS, order=st.permutations(range(30)))
def test_any_interleaving_converges_on_the_source_as_it_is_now(
    steps: list[Change | Deliver], order: list[int]
) -> None:
    world = World(list(VERSIONS))
    for step in steps:
        if isinstance(step, Change):
            world.change(step)
        else:
            world.deliver(step)
    world.storage.after_fetch = world.storage.before_delete = None
    world.drain([i for i in order if i < len(world.queue)])
    assert_current(world.storage)
