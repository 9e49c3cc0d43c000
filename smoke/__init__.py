"""Smoke test for a deployed stack (or the local one): `scripts/smoke URL` or `scripts/smoke --stack NAME`."""
