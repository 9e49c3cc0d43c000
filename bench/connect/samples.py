"""What one page variant of bench.connect measured, and the statistics its tables print."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

PHASES = ("secret-ready", "answer", "channel-open")
PHASE_LABELS = ("client secret in hand", "SDP answer in hand", "data channel open")


@dataclass
class Variant:
    name: str
    path: str
    kind: str  # 'ours' or 'reference' (the reference and floor pages)
    mark_prefix: str  # performance marks '<prefix>:secret-ready' etc.
    cold: bool | None = None  # None: as the runs before left it (warm); else cold or warm, on a longer rest
    # The companion's attach is measured ("warm": as the runs before left its environments; "cold": none
    # idle, so it pays its init); None: not measured. `stack`: "main", "no companion" or "live" (the
    # stack that relays GPT-Live, bench/connect/live.py).
    companion: str | None = None
    stack: str = "main"
    phases_ms: dict[str, list[float]] = field(default_factory=lambda: {phase: [] for phase in PHASES})
    first_audio_ms: list[float] = field(default_factory=list)
    failures: int = 0  # runs that never got audio (left out of the medians, counted in the table)
    # SDP answer sent → companion's sideband attached, in ms, by whether its attempt found an idle
    # environment; and the steps: answer → Invoke accepted, → handler called, → attached.
    attach_ms: dict[str, list[float]] = field(default_factory=lambda: {"warm": [], "cold": []})
    attach_steps_ms: list[tuple[float, float, float]] = field(default_factory=list)
    never_attached: int = 0
    # The stand-in's answer leaving → the page holding it (the vend function's work after the answer:
    # mark_live, the schedule and, with a companion, its Invoke; then the API's way back), in ms.
    answer_leg_ms: list[float] = field(default_factory=list)
    # The click → the stand-in holding the create (the page's offer, the API's way in, the vend
    # function's work before its POST and the injected function↔OpenAI RTT), and the stand-in's own
    # create (offer in → 201 with the answer out), in ms (bench/connect/legs.py).
    before_create_ms: list[float] = field(default_factory=list)
    create_ms: list[float] = field(default_factory=list)

    def fresh(self) -> Variant:
        return Variant(
            self.name, self.path, self.kind, self.mark_prefix, self.cold, self.companion, self.stack
        )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return median(values)
    return statistics.quantiles(values, n=10)[-1]
