"""Decoding cost: the bounded, strict ``decode`` every consumer runs, against the unbounded one it replaced.

Every record any component reads goes through ``evcharge.messages.decode``, so the size and depth
bounds, the strict types and the timestamp window are paid on every message. The baseline, measured
in the same run on the same messages, is what decoding was before: ``json.loads`` then the pydantic
models, no bounds. Also timed: how long rejecting the worst record takes (256 KiB of brackets, the
most expensive thing the depth scan can be asked to look at). JSON out in ``reports/bench/decode.json``.

    python benchmarks/decode.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import goal, say, summary, write
from evcharge.messages import (
    PAYLOADS,
    AuthorizationRequest,
    Envelope,
    Heartbeat,
    InvalidMessage,
    Message,
    Telemetry,
    decode,
    encode,
    make,
)
from evcharge.wire import MAX_RECORD_BYTES

SAMPLES = {
    "telemetry": make(Telemetry(cp_id="CP_001", session_id="s" * 32, kw=22.0, kwh=1.25, eur=0.5), "cp-CP_001"),
    "authorization_request": make(AuthorizationRequest(request_id="r" * 32, driver_id="D1", cp_id=None), "driver-D1"),
    "heartbeat": make(Heartbeat(cp_id="CP_001", engine_ok=True), "monitor-CP_001"),
}


def unbounded(raw: bytes) -> Any:
    """``decode`` as it was before the bounds (the same steps, to the decoded ``Message``): parse,
    validate the envelope and the payload; no size, depth, finiteness or timestamp check."""
    envelope = Envelope.model_validate(json.loads(raw))
    return Message(envelope=envelope, body=PAYLOADS[envelope.type].model_validate(envelope.payload))


def per_call_us(call: Any, raw: bytes, number: int) -> float:
    return timeit.timeit(lambda: call(raw), number=number) / number * 1e6


def worst_rejection_ms() -> float:
    half = MAX_RECORD_BYTES // 2 - 64
    raw = b'{"p": ' + b"[" * half + b"]" * half + b"}"

    def reject() -> None:
        try:
            decode(raw)
        except InvalidMessage:
            return
        raise AssertionError("a record nested that deep must be rejected")

    return timeit.timeit(reject, number=5) / 5 * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke run, not figures")
    args = parser.parse_args(argv)
    runs, number = (3, 2000) if args.quick else (9, 20000)
    messages: dict[str, Any] = {}
    worst_ratio = 0.0
    for name, message in SAMPLES.items():
        raw = encode(message)
        ours, before = [], []
        for _ in range(runs):  # interleaved, so a busy moment hits both alike
            ours.append(per_call_us(decode, raw, number))
            before.append(per_call_us(unbounded, raw, number))
        ratio = summary(ours)["median"] / summary(before)["median"]
        worst_ratio = max(worst_ratio, ratio)
        messages[name] = {"bytes": len(raw), "decode_us": summary(ours), "unbounded_us": summary(before),
                          "ratio_median": round(ratio, 3)}
        say(f"{name} ({len(raw)} B): {summary(ours)['median']:.2f} us vs {summary(before)['median']:.2f} us "
            f"unbounded ({ratio:.2f}x)")
    worst = summary([worst_rejection_ms() for _ in range(max(3, runs // 3))])
    say(f"rejecting {MAX_RECORD_BYTES} bytes of brackets: {worst['median']:.1f} ms (median)")
    write("decode", {
        "runs": runs, "calls_per_run": number, "messages": messages, "worst_rejection_ms": worst,
        "goal_table": [
            goal("decode / unbounded decode, median, worst message", round(worst_ratio, 3), "<=", 1.2, "x"),
            goal("rejecting the deepest record the size bound lets in, median", round(worst["median"], 2),
                 "<=", 50, " ms"),
        ],
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
