"""The cost of a 10-minute call at the stack's defaults, Realtime and GPT-Live side by side, with the
arithmetic printed. Prices come from the metering's own table and arithmetic (vend.metering), the one
source of truth for what the companion records, so a price change shows here too.

    .venv/bin/python -m bench.call_cost [--minutes 10] [--idle-share 0.3] [--json]

Realtime (REALTIME_MODEL, REALTIME_TRANSCRIPTION_MODEL) is billed by tokens, so its figure rests on a
model of a talkative call, stated as assumptions below: OpenAI counts user audio at 10 tokens a second
and assistant audio at 20; both sides speak half the time; a response every TURN_SECONDS, each one
re-reading the conversation so far as (cached) input, as `response.done` usage reports it.
GPT-Live (LIVE_MODEL, LIVE_BACKEND_MODEL) is billed per second of session: all of it active, or with an
idle share in standby (LIVE_IDLE_TIMEOUT_SECONDS > 0, gpt-live-1.1 only), plus the backend's tokens
for its delegated turns; and a session shorter than 15 s bills 15 s (the create's prepaid minimum).
"""

from __future__ import annotations

import argparse
import json
import os

from vend.metering.cost import response_cost, transcription_cost
from vend.metering.live_cost import backend_cost, voice_total_cost
from vend.metering.prices import MICRO, price_table
from vend.settings import DEFAULT_LIVE_BACKEND_MODEL

REALTIME_MODEL = "gpt-realtime-2.1"  # settings.py's defaults
TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
LIVE_MODEL = "gpt-live-1.1"

# The talkative Realtime call (assumptions, per OpenAI's audio token rates):
USER_AUDIO_TOKENS_PER_SECOND = 10
ASSISTANT_AUDIO_TOKENS_PER_SECOND = 20
SPEAKING_SHARE = 0.5  # each side speaks half of the call
TURN_SECONDS = 10  # one user turn and one response every 10 s
INSTRUCTION_TOKENS = 500  # the session's instructions and tool definitions, text
TRANSCRIPT_TOKENS_PER_SECOND = 2.5  # text out of the transcription of the user's speech
# GPT-Live's delegated turns (assumption): one backend turn every two minutes.
BACKEND_TURN_SECONDS = 120
BACKEND_TURN = {"input_tokens": 3_000, "cached": 2_000, "output_tokens": 300}
CREATE_MINIMUM_SECONDS = 15


def usd(micro: int) -> str:
    return f"${micro / MICRO:.4f}"


def realtime(seconds: int) -> tuple[int, list[str]]:
    prices = price_table(os.environ.get("MODEL_PRICES", ""))
    turns = seconds // TURN_SECONDS
    user_per_turn = int(TURN_SECONDS * SPEAKING_SHARE * USER_AUDIO_TOKENS_PER_SECOND)
    assistant_per_turn = int(TURN_SECONDS * SPEAKING_SHARE * ASSISTANT_AUDIO_TOKENS_PER_SECOND)
    total = transcription = 0
    context_audio = 0  # the conversation's audio tokens before this turn
    for turn in range(turns):
        cached_text = INSTRUCTION_TOKENS if turn else 0
        usage = {
            "input_tokens": INSTRUCTION_TOKENS + context_audio + user_per_turn,
            "output_tokens": assistant_per_turn,
            "input_token_details": {
                "text_tokens": INSTRUCTION_TOKENS,
                "audio_tokens": context_audio + user_per_turn,
                "cached_tokens": cached_text + context_audio,
                "cached_tokens_details": {"text_tokens": cached_text, "audio_tokens": context_audio},
            },
            "output_token_details": {"audio_tokens": assistant_per_turn},
        }
        total += response_cost(REALTIME_MODEL, usage, prices)
        transcribed = {
            "type": "tokens",
            "input_tokens": user_per_turn,
            "input_token_details": {"audio_tokens": user_per_turn},
            "output_tokens": int(TURN_SECONDS * SPEAKING_SHARE * TRANSCRIPT_TOKENS_PER_SECOND),
        }
        transcription += transcription_cost(TRANSCRIPTION_MODEL, transcribed, prices)
        context_audio += user_per_turn + assistant_per_turn
    price, tx = prices.price(REALTIME_MODEL), prices.price(TRANSCRIPTION_MODEL)
    user = -(-turns * user_per_turn * (price.audio_input or 0) // MICRO)
    assistant = -(-turns * assistant_per_turn * (price.audio_output or 0) // MICRO)
    lines = [
        f"Realtime {REALTIME_MODEL}, {seconds} s: {turns} responses (one per {TURN_SECONDS} s)",
        f"  assumed: user audio {USER_AUDIO_TOKENS_PER_SECOND} tokens/s and assistant audio "
        f"{ASSISTANT_AUDIO_TOKENS_PER_SECOND} tokens/s, each speaking {SPEAKING_SHARE:.0%} of the time: "
        f"{user_per_turn} user + {assistant_per_turn} assistant audio tokens per turn",
        f"  new user audio   {turns} x {user_per_turn} tokens x ${(price.audio_input or 0) / MICRO:g}/1M "
        f"= {usd(user)}",
        f"  assistant audio  {turns} x {assistant_per_turn} tokens x "
        f"${(price.audio_output or 0) / MICRO:g}/1M = {usd(assistant)}",
        f"  context re-read  each response re-reads the conversation so far as cached input "
        f"(${(price.audio_cached_input or 0) / MICRO:g}/1M audio) with its {INSTRUCTION_TOKENS} instruction "
        f"tokens = {usd(total - user - assistant)}",
        f"  responses        {turns} response.done usages, priced as the companion meters them "
        f"= {usd(total)}",
        f"  transcription    {TRANSCRIPTION_MODEL}: {turns} x {user_per_turn} audio tokens x "
        f"${(tx.audio_input or 0) / MICRO:g}/1M + text out = {usd(transcription)}",
        f"  total {usd(total + transcription)}  ({usd((total + transcription) * 60 // seconds)} a minute)",
    ]
    return total + transcription, lines


def live(seconds: int, idle_share: float) -> tuple[dict[str, int], list[str]]:
    prices = price_table(os.environ.get("MODEL_PRICES", ""))
    billed = max(seconds, CREATE_MINIMUM_SECONDS)
    paused = int(billed * idle_share)
    all_active = voice_total_cost(
        LIVE_MODEL, {"seconds": float(billed), "active_seconds": billed, "paused_seconds": 0}, prices
    )
    with_standby = voice_total_cost(
        LIVE_MODEL,
        {"seconds": float(billed), "active_seconds": billed - paused, "paused_seconds": paused},
        prices,
    )
    turns = seconds // BACKEND_TURN_SECONDS
    turn_usage = {
        "input_tokens": BACKEND_TURN["input_tokens"],
        "input_tokens_details": {"cached_tokens": BACKEND_TURN["cached"], "cache_write_tokens": 0},
        "output_tokens": BACKEND_TURN["output_tokens"],
    }
    backend = turns * backend_cost(DEFAULT_LIVE_BACKEND_MODEL, turn_usage, prices)
    short = voice_total_cost(LIVE_MODEL, {"seconds": float(CREATE_MINIMUM_SECONDS)}, prices)
    price, luna = prices.price(LIVE_MODEL), prices.price(DEFAULT_LIVE_BACKEND_MODEL)
    active_rate, paused_rate = (price.active_per_minute or 0) / MICRO, (price.paused_per_minute or 0) / MICRO
    lines = [
        f"GPT-Live {LIVE_MODEL}, {seconds} s, billed per second",
        f"  all active        {billed} s x ${active_rate:g}/60 s = {usd(all_active)}",
        f"  {idle_share:.0%} on standby   {billed - paused} s x ${active_rate:g}/60 s + {paused} s x "
        f"${paused_rate:g}/60 s = {usd(with_standby)}  (LIVE_IDLE_TIMEOUT_SECONDS > 0; the seconds before "
        "the timeout are active)",
        f"  backend           {turns} delegated turns x ({BACKEND_TURN['input_tokens']} input of which "
        f"{BACKEND_TURN['cached']} cached, {BACKEND_TURN['output_tokens']} output) "
        f"on {DEFAULT_LIVE_BACKEND_MODEL} "
        f"(${(luna.text_input or 0) / MICRO:g} / ${(luna.text_cached_input or 0) / MICRO:g} / "
        f"${(luna.text_output or 0) / MICRO:g} per 1M) = {usd(backend)}",
        f"  total             {usd(all_active + backend)} all active, "
        f"{usd(with_standby + backend)} with standby",
        f"  minimum           a session shorter than {CREATE_MINIMUM_SECONDS} s, or created and never "
        f"connected, bills {CREATE_MINIMUM_SECONDS} s = {usd(short)}",
    ]
    return {
        "all_active": all_active + backend,
        "with_standby": with_standby + backend,
        "minimum": short,
    }, lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--idle-share", type=float, default=0.3, help="share of the call on standby")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seconds = round(args.minutes * 60)
    realtime_micro, realtime_lines = realtime(seconds)
    live_micro, live_lines = live(seconds, args.idle_share)
    if args.json:
        print(
            json.dumps(
                {"seconds": seconds, "realtime_micro_usd": realtime_micro, "live_micro_usd": live_micro}
            )
        )
        return
    print("\n".join(realtime_lines))
    print()
    print("\n".join(live_lines))
    print()
    ratio = live_micro["all_active"] / realtime_micro
    print(
        f"Live / Realtime: {ratio:.2f} all active, {live_micro['with_standby'] / realtime_micro:.2f} with "
        f"{args.idle_share:.0%} standby"
    )
