"""Transcript rendering benchmark: the page's renderer against the old per-delta one, in Chromium."""
