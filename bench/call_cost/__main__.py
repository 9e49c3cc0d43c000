"""`python -m bench.call_cost` prints a call's cost, Realtime and GPT-Live (bench/call_cost/run.py)."""

import sys
from pathlib import Path

# The prices are the function's own (functions/vend/metering): import them from where Lambda does.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))

from bench.call_cost.run import main

main()
