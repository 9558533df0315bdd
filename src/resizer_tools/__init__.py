"""The laptop side of resizer: the `resizer` command, the local stack, stack operations and tuning.

Nothing here goes into the Lambda zip; the function (the package ``resizer``) never
imports it. This side may use the function.
"""
