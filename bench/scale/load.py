"""One design under the load of issue 18, against bench/scale/model.py; prints its figures as JSON.

    PYTHONPATH=<functions of the design>:. python -m bench.scale.load --seconds 15

Run by bench/scale/run.py once per design, each in its own process, so that `vend` is the design's own
code: the usage table, call ledger and spend ledger are imported from whichever `functions/` comes
first on the path, and driven as the function and the companion drive them.

The load, over `--seconds`:
- mints: Poisson arrivals at `--mints` a second, from 5,000 visitors (10 per 600 s each), against a
  daily cap of 75 % of the expected mints, so that the cap binds during the run;
- call starts: Poisson at `--starts` a second, each a new visitor, 600 s charged, budgets the run
  cannot reach (so every refusal is a false one); each call ends 0.5-3 s later and is refunded;
- metering: `--calls` calls live throughout, each recording a response every 2-8 s and a transcription
  every 4-10 s; one call in ten is in a companion hand-over the whole time, so its every event is
  recorded twice (the second must count nothing).

Time is dilated `--dilation` times (4): every hold, round trip, arrival gap and back-off of the code
is stretched by it and the latencies divided by it, so that a Python thread woken a few milliseconds
late on a busy machine barely moves the figures. Conflicts depend on rate times hold time, which the
dilation leaves as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.scale.model import ModelDynamoDB, Timing

TABLE = "usage"
CALL_SECONDS = 600
VISITORS = 5000
QUOTA_PER_VISITOR = 10
CAP_SHARE = 0.75
HANDOVER_SHARE = 0.1


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        from vend.aws.call_ledger import CallLedger  # noqa: PLC0415 - the design's own, from the path
        from vend.aws.spend_ledger import SpendLedger  # noqa: PLC0415
        from vend.aws.usage_table import UsageTable  # noqa: PLC0415

        self.args = args
        self.random = random.Random(args.seed)  # noqa: S311 - a simulation
        self.k = args.dilation
        self.model = ModelDynamoDB(dilated(Timing(), self.k), seed=args.seed)
        self.usage = UsageTable(TABLE, self.model, sleep=self.sleep)  # type: ignore[arg-type]
        self.ledger = CallLedger(TABLE, self.model, sleep=self.sleep)  # type: ignore[arg-type]
        self.spend = SpendLedger(TABLE, self.model, shards=args.shards, sleep=self.sleep)  # type: ignore[arg-type]
        self.now = int(time.time())
        self.day = dt.datetime.fromtimestamp(self.now, dt.UTC).date().isoformat()
        self.mint_cap = int(args.mints * args.seconds * CAP_SHARE)
        self.lock = threading.Lock()
        self.outcomes: dict[str, Tally[str]] = {
            "mint": Tally(),
            "start": Tally(),
            "end": Tally(),
            "record": Tally(),
        }
        self.latency: dict[str, list[float]] = {name: [] for name in self.outcomes}
        self.call_seconds_truth = 0
        self.spend_truth = 0
        self.spend_events = 0

    def sleep(self, seconds: float) -> None:
        """The code's own waits (conflict back-off), stretched like everything else."""
        time.sleep(seconds * self.k)

    # --- the jobs -----------------------------------------------------------------------------

    def mint(self, visitor: int) -> None:
        from vend.errors import VendError  # noqa: PLC0415
        from vend.usage import Counter, CounterFull  # noqa: PLC0415

        window = self.now // 600 * 600
        counters = [
            Counter(f"visitor#v{visitor}#{window}", QUOTA_PER_VISITOR, self.now + 7200),
            Counter(f"day#{self.day}", self.mint_cap, self.now + 86_400),
        ]
        started = time.perf_counter()
        try:
            self.usage.increment(counters)
            outcome = "admitted"
        except CounterFull as full:
            outcome = "visitor_quota" if full.index == 0 else "cap"
        except VendError:
            outcome = "unavailable"
        self._done("mint", outcome, started)

    def start_and_end(self, n: int) -> None:
        from vend.errors import VendError  # noqa: PLC0415
        from vend.usage import Budgets, CallRecord, CounterFull, SlotTaken  # noqa: PLC0415

        record = CallRecord(
            f"call_{n}", f"caller{n}", 0, self.day, self.now, self.now + CALL_SECONDS, CALL_SECONDS, "pending"
        )
        budgets = Budgets(visitor_seconds=3 * CALL_SECONDS, stack_seconds=10**12)  # never reached
        started = time.perf_counter()
        try:
            self.ledger.start(record, budgets, now=self.now)
            outcome = "admitted"
        except SlotTaken:
            outcome = "slot_taken"
        except CounterFull as full:
            outcome = f"counter_{full.index}_full"
        except VendError:
            outcome = "unavailable"
        self._done("start", outcome, started)
        if outcome != "admitted":
            return
        with self.lock:
            self.call_seconds_truth += CALL_SECONDS
        lasted = self.random.uniform(0.5, 3.0)
        self.sleep(lasted)
        refund = CALL_SECONDS - max(1, round(lasted))
        started = time.perf_counter()
        try:
            ended = self.ledger.end(record, refund_seconds=refund)
            outcome = "ended" if ended else "already_ended"
        except VendError:
            ended, outcome = False, "unavailable"
        self._done("end", outcome, started)
        if ended:
            with self.lock:
                self.call_seconds_truth -= refund

    def record(self, call: int, event: str, micro: int) -> None:
        from vend.errors import VendError  # noqa: PLC0415

        started = time.perf_counter()
        try:
            totals = self.spend.record(
                call_id=f"call_m{call}",
                visitor=f"listener{call}",
                day=self.day,
                model="gpt-realtime-2.1",
                event_key=event,
                micro_usd=micro,
            )
            outcome = "recorded" if totals is not None else "duplicate"
        except VendError:
            outcome = "unavailable"
        self._done("record", outcome, started)

    def _done(self, job: str, outcome: str, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000 / self.k
        with self.lock:
            self.outcomes[job][outcome] += 1
            self.latency[job].append(elapsed)

    # --- the schedule -------------------------------------------------------------------------

    def schedule(self) -> list[tuple[float, Callable[[], None]]]:
        jobs: list[tuple[float, Callable[[], None]]] = []
        seconds = self.args.seconds
        for rate, make in ((self.args.mints, self._mint_job), (self.args.starts, self._start_job)):
            at, n = self.random.expovariate(rate), 0
            while at < seconds:
                jobs.append((at, make(n)))
                at, n = at + self.random.expovariate(rate), n + 1
        for call in range(self.args.calls):
            handover = self.random.random() < HANDOVER_SHARE
            for kind, gap in (("resp", (2.0, 8.0)), ("item", (4.0, 10.0))):
                at, n = self.random.uniform(0, gap[1]), 0
                while at < seconds:
                    micro = self.random.randint(500, 5000)
                    self.spend_truth += micro
                    self.spend_events += 1
                    event = f"{kind}_{n}"
                    jobs.append((at, lambda c=call, e=event, m=micro: self.record(c, e, m)))
                    if handover:
                        again = at + self.random.uniform(0, 0.05)
                        jobs.append((again, lambda c=call, e=event, m=micro: self.record(c, e, m)))
                    at, n = at + self.random.uniform(*gap), n + 1
        return sorted(jobs, key=lambda job: job[0])

    def _mint_job(self, n: int) -> Callable[[], None]:
        visitor = self.random.randrange(VISITORS)
        return lambda: self.mint(visitor)

    def _start_job(self, n: int) -> Callable[[], None]:
        return lambda: self.start_and_end(n)

    def drive(self) -> float:
        jobs = self.schedule()
        began = time.perf_counter()
        late = 0.0
        with ThreadPoolExecutor(max_workers=self.args.workers) as pool:
            for at, job in jobs:
                wait = began + at * self.k - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                else:
                    late = max(late, -wait)
                pool.submit(job)
        return late / self.k

    # --- the figures --------------------------------------------------------------------------

    def figures(self, late: float) -> dict[str, Any]:
        items = self.model.items

        def count(pk: str, name: str = "count") -> int:
            item = items.get(pk)
            return int(item[name]["N"]) if item and name in item else 0

        mints = self.outcomes["mint"]
        day_count = count(f"day#{self.day}")
        visitor_sum = sum(int(i["count"]["N"]) for pk, i in items.items() if pk.startswith("visitor#"))
        cap_refusals = mints["cap"]
        short = max(0, self.mint_cap - mints["admitted"])
        starts = self.outcomes["start"]
        stack_seconds = count(f"callsec#day#{self.day}")
        visitor_seconds = sum(
            int(i["count"]["N"]) for pk, i in items.items() if pk.startswith("callsec#") and "#day#" not in pk
        )
        stack_spend = sum(int(i["micro_usd"]["N"]) for pk, i in items.items() if pk.startswith("spend#day#"))
        call_spend = sum(int(i["micro_usd"]["N"]) for pk, i in items.items() if pk.startswith("spend#call#"))
        records = self.outcomes["record"]
        return {
            "late_s": round(late, 3),
            "mint": {
                "attempts": sum(mints.values()),
                "admitted": mints["admitted"],
                "cap": self.mint_cap,
                "outcomes": dict(mints),
                "false_refusals": mints["unavailable"] + min(cap_refusals, short),
                "lost_counts": mints["admitted"] - day_count,
                "visitor_count_error": visitor_sum - mints["admitted"],
            },
            "start": {
                "attempts": sum(starts.values()),
                "admitted": starts["admitted"],
                "outcomes": dict(starts),
                "ends": dict(self.outcomes["end"]),
                "false_refusals": sum(v for k, v in starts.items() if k != "admitted"),
                "lost_seconds": self.call_seconds_truth - stack_seconds,
                "visitor_seconds_error": visitor_seconds - self.call_seconds_truth,
            },
            "record": {
                "events": self.spend_events,
                "outcomes": dict(records),
                "lost_micro_usd": self.spend_truth - stack_spend,
                "call_totals_error": call_spend - self.spend_truth,
            },
            "conflicts": dict(self.model.stats.conflicts),
            "cancelled": dict(self.model.stats.cancelled),
            "requests": dict(self.model.stats.requests),
            "latency_ms": {job: percentiles(samples) for job, samples in self.latency.items()},
        }


def dilated(timing: Timing, k: float) -> Timing:
    def stretch(bounds: tuple[float, float]) -> tuple[float, float]:
        return (bounds[0] * k, bounds[1] * k)

    return Timing(stretch(timing.transaction_hold), stretch(timing.single_hold), stretch(timing.network))


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": 0.0, "p99": 0.0}
    ordered = sorted(samples)
    return {
        q: round(ordered[min(len(ordered) - 1, int(len(ordered) * f))], 1)
        for q, f in (("p50", 0.5), ("p99", 0.99))
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--mints", type=float, default=200.0, help="mints a second")
    parser.add_argument("--starts", type=float, default=50.0, help="call starts a second")
    parser.add_argument("--calls", type=int, default=500, help="calls metering at once")
    parser.add_argument("--shards", type=int, default=32, help="the stack's spend items")
    parser.add_argument("--workers", type=int, default=600)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--dilation", type=float, default=4.0, help="slow everything down k times")
    args = parser.parse_args()
    run = Run(args)
    late = run.drive()
    print(json.dumps(run.figures(late)))


if __name__ == "__main__":
    main()
