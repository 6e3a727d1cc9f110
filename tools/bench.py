"""Benchmark: bare model, the original notebook's loop, and the scoring job end to end, in one run.

Run as ``./submit.sh bench [--n N]``; prints frames/s and ratios and writes them as JSON.
``./submit.sh bench --service [--n N] [--seconds S]``: the service's latency and frames/s against the batch job's.
Both take the original notebook's booster and frames from the folder the environment variable CAMSCORE_ORIGINAL
names, and stop in one line (exit 2) where they need them and it does not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=_at_least_one, default=None, help="frames scored end to end (default 2000)")
    parser.add_argument("--repeats", type=_at_least_one, default=3, help="runs per figure, median taken (default 3)")
    parser.add_argument("--settings", default="keras-fp32,keras-bf16,openvino-fp32,openvino-bf16,openvino-int8",
                        help="runtime-precision pairs to measure (default: all five)")
    parser.add_argument("--scaling", default="", help="frame counts for the scaling table, e.g. 500,1000,2000,4000")
    parser.add_argument("--small-runs", default="20,200",
                        help="frame counts scored by whole job processes, the default setting (default 20,200)")
    parser.add_argument("--model-frames", type=_at_least_one, default=512,
                        help="pre-decoded frames per run of the bare model (default 512)")
    parser.add_argument("--speed-only", action="store_true",
                        help="leave out (b), parity, the CV AUCs and the small runs: the speed of every setting alone")
    parser.add_argument("--model-quality-only", action="store_true",
                        help="only the resize filters and classifiers on real photos (CV AUC, decoding cost)")
    parser.add_argument("--workdir", default="out/bench", help="frames, models and outputs (default out/bench)")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--service", action="store_true",
                        help="measure the service against the batch job instead (needs wrk; --n frames, default 1600)")
    parser.add_argument("--seconds", type=_at_least_one, default=10, help="each wrk run of --service (default 10)")
    parser.add_argument("--booster", type=Path, default=None,
                        help="the original notebook's booster (default: lightgbm_classifier.model in the folder "
                             "the environment variable CAMSCORE_ORIGINAL names)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from camscore.cli import run_main
    from tools.benchmark import BenchOptions, format_results, run_benchmark

    def service() -> None:
        from tools.service_bench import ServiceBenchOptions, format_service_results, run_service_bench

        options = ServiceBenchOptions(frames=args.n or 1600, seconds=args.seconds, master=args.master,
                                      booster=args.booster)
        results = run_service_bench(options, report=lambda line: print(line, flush=True))
        print()
        print(format_service_results(results))
        print(f"\nresults: {options.workdir / 'service.json'}")

    def quality(options) -> None:
        from tools.benchmark import run_model_quality
        from tools.model_quality import format_quality

        results = run_model_quality(options, report=lambda line: print(line, flush=True))
        print(f"\n{results['cores']} cores of {results['cpu']}")
        print(format_quality(results))

    def body() -> None:
        options = BenchOptions(
            n=args.n or 2000, repeats=args.repeats, model_frames=args.model_frames,
            quality=not args.speed_only, workdir=Path(args.workdir), master=args.master, booster=args.booster,
            settings=tuple(tuple(pair.split("-")) for pair in args.settings.split(",")),
            scaling=tuple(int(n) for n in args.scaling.split(",") if n),
            small_runs=tuple(int(n) for n in args.small_runs.split(",") if n))
        if args.model_quality_only:
            return quality(options)
        results = run_benchmark(options, report=lambda line: print(line, flush=True))
        print()
        print(format_results(results))
        print(f"\nresults: {options.workdir / 'results.json'}")

    return run_main(service if args.service else body)


if __name__ == "__main__":
    sys.exit(main())
