"""Measures the main-thread time the page spends rendering a streamed transcript, in Chromium.

    .venv/bin/python -m bench.transcript [--runs 3] [--json]

The page is the real one (web/, under its production headers, from the local stack). In it, a fresh
Conversation is fed server events exactly as the data channel delivers them, one event per task:
`response.output_audio_transcript.delta` after delta, as fast as the page takes them. Two renderers
draw that conversation into the page's own transcript list, each in a fresh browser context:
  * new: web/js/transcript-view.js, wired as main.js wires it;
  * old: bench/transcript/reference/transcript-view.js, the renderer before the fix (a verbatim copy),
    wired as main.js wired it then;
  * none: the same events and no renderer, the floor ("feed alone").
Main-thread time is the renderer thread's CPU time over the whole feed, read from the DevTools
protocol's Performance metrics (TaskDuration, with its script/layout/style split), until a frame
after the whole text is on screen, so deferred rendering is counted. Every run also checks that
the rendered text is exactly what the deltas add up to, so no renderer wins by dropping text.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from local.stack import StackProcess

CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",  # no GPU here
    "--disable-background-networking",  # no unrelated traffic during measurements
    "--disable-component-update",
    "--disable-sync",
]
REFERENCE_PREFIX = "/transcript-reference/"
# "none" feeds the same events with no renderer: the floor that the events themselves cost.
RENDERERS = ("old", "new", "none")

# Builds a Conversation and one renderer over the page's own #turns list, then feeds `deltas` one
# per task (a MessageChannel message, as a data channel message is) and resolves with the rendered
# text a frame after all of it is on screen.
FEED = """async ({ renderer, deltas, referencePrefix }) => {
  const { Conversation } = await import('/js/conversation.js');
  const list = document.getElementById('turns');
  const empty = document.getElementById('transcript-empty');
  const conversation = new Conversation();
  if (renderer === 'new') {
    const { TranscriptView } = await import('/js/transcript-view.js');
    new TranscriptView(list, empty).follow(conversation);
  } else if (renderer === 'old') {
    const { TranscriptView, attach } = await import(`${referencePrefix}transcript-view.js`);
    attach(new TranscriptView(list, empty), conversation);
  }
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  window.__feed = () => new Promise((resolve) => {
    const channel = new MessageChannel();
    let next = 0;
    channel.port1.onmessage = () => {
      conversation.applyServerEvent({
        type: 'response.output_audio_transcript.delta', item_id: 'item_bench', delta: deltas[next],
      });
      next += 1;
      if (next < deltas.length) channel.port2.postMessage(null);
      else finish();
    };
    // Done when the whole text is on screen (a renderer may defer drawing), plus a frame for paint.
    const expected = renderer === 'none' ? 0 : deltas.reduce((sum, delta) => sum + delta.length, 0);
    const deadline = performance.now() + 10000;
    const rendered = () => list.querySelector('.turn__text')?.textContent ?? '';
    const finish = () => requestAnimationFrame(() => {
      if (rendered().length < expected && performance.now() < deadline) finish();
      else requestAnimationFrame(() => setTimeout(() => {
        channel.port1.close();
        resolve(rendered());
      }));
    });
    channel.port2.postMessage(null);
  });
}"""

WORDS = ("the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog, ", "then ", "rests. ")


@dataclass
class Scenario:
    name: str
    deltas: list[str]
    samples: dict[str, list[dict[str, float]]] = field(default_factory=dict)


def scenarios() -> list[Scenario]:
    def words(count: int) -> list[str]:
        return [WORDS[i % len(WORDS)] for i in range(count)]

    return [
        Scenario("1,000 deltas", words(1000)),
        Scenario("4,096 deltas", words(4096)),
        # No break opportunity at all: it must still wrap inside the turn, not widen the page.
        Scenario("one 50 KB unbroken delta", ["x" * 50_000]),
    ]


def measure(browser: Browser, url: str, renderer: str, deltas: list[str]) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => !document.getElementById('connect').disabled")
        page.evaluate(FEED, {"renderer": renderer, "deltas": deltas, "referencePrefix": REFERENCE_PREFIX})
        cdp = context.new_cdp_session(page)
        # threadTicks: CPU time of the renderer's main thread, so other load on the machine is not counted.
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        before = _metrics(cdp.send("Performance.getMetrics"))
        started = time.perf_counter()
        text = page.evaluate("() => window.__feed()")
        wall = time.perf_counter() - started
        after = _metrics(cdp.send("Performance.getMetrics"))
        if renderer != "none" and text != "".join(deltas):
            raise SystemExit(f"the {renderer} renderer drew the wrong text ({len(text or '')} characters)")
        width = page.evaluate(
            "() => { const t = document.getElementById('transcript');"
            " return [t.scrollWidth, t.clientWidth, document.documentElement.scrollWidth, innerWidth]; }"
        )
        return {
            "main_ms": (after["TaskDuration"] - before["TaskDuration"]) * 1000,
            "script_ms": (after["ScriptDuration"] - before["ScriptDuration"]) * 1000,
            "layout_ms": (after["LayoutDuration"] - before["LayoutDuration"]) * 1000,
            "style_ms": (after["RecalcStyleDuration"] - before["RecalcStyleDuration"]) * 1000,
            "wall_ms": wall * 1000,
            # 1.0 when the transcript and the page keep their width; more means horizontal overflow.
            "overflow": max(width[0] / width[1], width[2] / width[3]),
        }
    finally:
        context.close()


def _metrics(reply: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: float(m["value"]) for m in reply["metrics"]}


def _median(samples: list[dict[str, float]], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def _print_table(results: list[Scenario], runs: int) -> None:
    print()
    print(f"Transcript rendering — Chromium, the real page, one delta per task; median of {runs} run(s)")
    print("main thread = the renderer thread's CPU time until a frame after the whole text is on screen")
    header = f"{'':28}{'old (per delta)':>22}{'new (per frame)':>22}{'old ÷ new':>12}{'feed alone':>14}"
    print(header)
    print("-" * len(header))
    for scenario in results:
        old, new = scenario.samples["old"], scenario.samples["new"]
        ratio = _median(old, "main_ms") / max(_median(new, "main_ms"), 0.001)
        print(
            f"{scenario.name:28}{_median(old, 'main_ms'):>19.0f} ms{_median(new, 'main_ms'):>19.0f} ms"
            f"{ratio:>11.0f}x{_median(scenario.samples['none'], 'main_ms'):>11.0f} ms"
        )
        for key, label in (("script_ms", "script"), ("layout_ms", "layout"), ("style_ms", "style")):
            print(f"{'  of which ' + label:28}{_median(old, key):>19.0f} ms{_median(new, key):>19.0f} ms")
        print(f"{'  wall clock':28}{_median(old, 'wall_ms'):>19.0f} ms{_median(new, 'wall_ms'):>19.0f} ms")
        print(
            f"{'  widest / available':28}{_median(old, 'overflow'):>22.2f}{_median(new, 'overflow'):>22.2f}"
        )
    goal = next(s for s in results if s.name.startswith("4,096"))
    verdict = "met" if _median(goal.samples["new"], "main_ms") < 300 else "NOT met"
    print(f"\ngoal: 4,096 deltas in under 300 ms of main thread: {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transcript", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per renderer and scenario (median)")
    parser.add_argument("--json", action="store_true", help="also print the raw samples as JSON")
    args = parser.parse_args(argv)

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: scripts/bootstrap --browser")
    results = scenarios()
    started = time.perf_counter()
    stack_args = ["--port", "0", "--static", f"{REFERENCE_PREFIX}=bench/transcript/reference"]
    stack_args += ["--quota-per-visitor", "10000", "--daily-cap", "1000000"]  # the bench's own runs mint
    with StackProcess(*stack_args) as stack, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        # One warm-up each: first-use costs (module compile, font load) are not what we compare.
        for renderer in ("old", "new"):
            measure(browser, stack.url, renderer, results[0].deltas[:50])
        for scenario in results:
            for renderer in RENDERERS:
                scenario.samples[renderer] = []
            # Interleaved, so drift in machine load hits both renderers alike.
            for _ in range(args.runs):
                for renderer in RENDERERS:
                    scenario.samples[renderer].append(measure(browser, stack.url, renderer, scenario.deltas))
        browser.close()
    _print_table(results, args.runs)
    print(f"(measured in {time.perf_counter() - started:.0f} s)")
    if args.json:
        print(json.dumps({s.name: s.samples for s in results}))


if __name__ == "__main__":
    main()
