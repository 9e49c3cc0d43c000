"""CloudFront side of a publication: drop the edge caches' copies of the old page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from publisher.bucket import PublishError

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

# One wildcard path is billed as one path, and the whole site is a handful of files anyway.
PATHS = ["/*"]


def invalidate(cloudfront: CloudFrontClient, distribution_id: str, caller_reference: str) -> str:
    """Starts an invalidation of the whole site and returns its id (it completes in the background).

    The caller reference is CloudFormation's request id: a retried request does not invalidate twice.
    """
    try:
        response = cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(PATHS), "Items": PATHS},
                "CallerReference": caller_reference,
            },
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PublishError(
            f"invalidating CloudFront distribution {distribution_id} failed: "
            f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
        ) from exc
    return response["Invalidation"]["Id"]
