"""Decisions, with no event, httpx or boto3: the session we configure, the key's rotation, a mint."""
