"""The page publisher: a CloudFormation custom resource that puts web/ into the page bucket.

handler.py       lambda_handler: checks the request (StackId, type, properties), answers once in time
cfn_response.py  the ResponseURL check (CloudFormation's response bucket, https), the document, the PUT
site.py          what is published: web/'s allowed file types and config.json, with their headers
bucket.py        S3: upload, delete what is no longer in web/, empty the bucket on delete
distribution.py  CloudFront: invalidate the cached page after a publication
"""
