"""`python -m bench.call_cost` prints a call's cost, Realtime and GPT-Live (bench/call_cost/run.py)."""

from bench.call_cost.run import main

main()
