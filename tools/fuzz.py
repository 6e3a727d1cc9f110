"""Fuzzes the decode path by hand (not in CI): mutated frames of every format go through
decode_frame for a given time; each must give a 224x224 RGB array or a FrameError, quickly.

    ./submit.sh fuzz [--minutes 10]
"""

from __future__ import annotations

import argparse
import collections
import io
import signal
import struct
import sys
import time

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from camscore.model.imaging import DecodeOptions, FrameError, decode_frame

FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")
# An input that takes longer than this is a hang.
HANG_SECONDS = 10


def seeds() -> list[bytes]:
    """Small valid frames of every format and a few modes, the fuzzer's starting points."""
    rng = np.random.default_rng(0)
    pixels = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    made = []
    for fmt in FORMATS:
        for mode in ("RGB", "L", "P"):
            if fmt == "JPEG" and mode == "P":
                continue
            buffer = io.BytesIO()
            pixels.convert(mode).save(buffer, fmt)
            made.append(buffer.getvalue())
    return made


def mutated(seed: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    """``seed`` with edits: flip a byte, cut the tail, repeat a slice, or write a large 32-bit number."""
    data = bytearray(seed)
    for kind, where, value in edits:
        if not data:
            break
        at = where % len(data)
        if kind == "flip":
            data[at] ^= value & 0xFF or 1
        elif kind == "cut":
            del data[at:]
        elif kind == "repeat":
            data[at:at] = data[at:at + value % 64] * (1 + value % 5)
        else:  # "size": a width or height field made huge or zero
            data[at:at + 4] = struct.pack(">I", value)
    return bytes(data)


def _hang(*_) -> None:
    raise TimeoutError(f"one input took over {HANG_SECONDS}s")


def run(minutes: float) -> dict:
    """Fuzzes for ``minutes``; returns inputs tried and outcomes by kind. Raises on the first failure."""
    options, outcomes, started = DecodeOptions(), collections.Counter(), time.monotonic()
    edit = st.tuples(st.sampled_from(("flip", "cut", "repeat", "size")), st.integers(0, 2 ** 16),
                     st.integers(0, 2 ** 32 - 1))

    @settings(max_examples=2000, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(seeds()), st.lists(edit, max_size=6))
    def one(seed: bytes, edits: list[tuple[str, int, int]]) -> None:
        data = mutated(seed, edits)
        signal.alarm(HANG_SECONDS)
        try:
            pixels = decode_frame(data, options)
            assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8
            outcomes["decoded"] += 1
        except FrameError as exc:
            outcomes[exc.kind] += 1
        finally:
            signal.alarm(0)

    signal.signal(signal.SIGALRM, _hang)
    while time.monotonic() - started < minutes * 60:
        one()
    return {"inputs": sum(outcomes.values()), "minutes": round((time.monotonic() - started) / 60, 1),
            "outcomes": dict(outcomes.most_common())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz (default 10)")
    print(run(parser.parse_args(argv).minutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
