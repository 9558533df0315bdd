"""Operating a deployed stack, local or on AWS.

Clients from a stack name (:mod:`.aws`); upload, status, backfill (:mod:`.operations`)
and its prune (:mod:`.prune`); the files a folder argument means (:mod:`.files`); the
DLQ (:mod:`.dead_letters`); the stack's events (:mod:`.events`) and the function's logs
(:mod:`.logs`); the first deploy's prerequisites (:mod:`.preflight`); ``resizer
resize``'s folder layout (:mod:`.offline`).

Importing this package imports nothing else (the ``resizer`` command's start-up reads
:data:`DEFAULT_STACK_NAME` from here without loading boto3).
"""

__all__ = ["DEFAULT_STACK_NAME"]

# The stack `resizer local up` deploys, and the one every command works on by default.
DEFAULT_STACK_NAME = "resizer-local"
