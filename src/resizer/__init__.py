"""resizer: event-driven image renditions for AWS (S3 -> SQS -> Lambda -> S3)."""

__version__ = "0.1.0"
