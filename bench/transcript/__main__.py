"""`python -m bench.transcript` runs the benchmark (see bench/transcript/run.py)."""

from bench.transcript.run import main

main()
