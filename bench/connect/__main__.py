"""`python -m bench.connect` runs the benchmark (see bench/connect/run.py)."""

from bench.connect.run import main

main()
