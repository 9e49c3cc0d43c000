"""Transcript fragments on the session timeline: a couple of words each, no item id, no done event."""

from __future__ import annotations

WORDS_PER_FRAGMENT = 2


def split_words(text: str) -> list[str]:
    """The fragments' texts, each after the first with its leading space, so appending them as
    received rebuilds the text."""
    words = text.split()
    chunks = [" ".join(words[i : i + WORDS_PER_FRAGMENT]) for i in range(0, len(words), WORDS_PER_FRAGMENT)]
    return [chunk if index == 0 else f" {chunk}" for index, chunk in enumerate(chunks)]


def timed_fragments(text: str, start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """`text` spread evenly over [start_ms, end_ms): (delta, start_ms, end_ms) per fragment."""
    chunks = split_words(text)
    if not chunks:
        return []
    span = max(end_ms - start_ms, len(chunks))
    bounds = [start_ms + span * index // len(chunks) for index in range(len(chunks) + 1)]
    return [(chunk, bounds[index], bounds[index + 1]) for index, chunk in enumerate(chunks)]
