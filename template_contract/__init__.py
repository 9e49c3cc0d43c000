"""Reads template.yaml for local/, smoke/, bench/ and the tests: one parser, the deployment's own values."""
