"""Fresh buckets and queues on the emulator, wired as the template wires them."""

from __future__ import annotations

import uuid

import boto3
import pytest
from emulated_aws import REGION, Stack

from resizer import handler


def build_stack(
    mp: pytest.MonkeyPatch, endpoint: str, *, max_receive: int = 3, visibility: int = 1
) -> Stack:
    """Buckets, queue (+ DLQ, redrive) and the S3 notification, wired as the template does."""
    mp.setenv("AWS_ENDPOINT_URL", endpoint)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", REGION)
    mp.delenv("AWS_PROFILE", raising=False)
    n = uuid.uuid4().hex[:10]
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    source, destination = f"rel-src-{n}", f"rel-dst-{n}"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=destination)
    dlq_url = sqs.create_queue(QueueName=f"rel-dlq-{n}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"rel-queue-{n}",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": (
                f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive}"}}'
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=source,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
            ]
        },
    )
    mp.setenv("DESTINATION_BUCKET", destination)
    mp.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    handler.runtime.cache_clear()
    stack = Stack(s3, sqs, source, destination, queue_url, dlq_url, queue_arn)
    # Drop the s3:TestEvent moto sends when the notification is configured.
    stack.sqs.purge_queue(QueueUrl=queue_url)
    return stack
