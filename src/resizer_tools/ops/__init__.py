"""Operating a deployed stack, local or on AWS.

Clients from a stack name (:mod:`.aws`); upload, status, backfill and the DLQ
(:mod:`.operations`).
"""
