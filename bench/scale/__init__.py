"""The usage table's counters under contention, old design and new (python -m bench.scale)."""
