"""The page publisher: a CloudFormation custom resource that puts web/ into the page bucket.

handler.py       lambda_handler: one answer to CloudFormation, always, before the deadline
cfn_response.py  the response document and the PUT to the pre-signed ResponseURL
site.py          what is published: the bundled web/ files and config.json, with their headers
bucket.py        S3: upload, delete what is no longer in web/, empty the bucket on delete
distribution.py  CloudFront: invalidate the cached page after a publication
"""
