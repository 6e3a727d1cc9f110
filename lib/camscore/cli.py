"""What every job entry point shares: flags derived from declared settings, logging, and turning
CamscoreError into exit code 2."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import types
import typing
from typing import Any, Callable, Mapping, NoReturn, Sequence

from camscore.config import Settings, load_settings
from camscore.settings_engine import build, declared
from camscore.errors import CamscoreError, ConfigError, one_line
from camscore.logs import configure_logging

USER_ERROR = CamscoreError.exit_code
# The Spark versions camscore's Spark-facing code is tested on: [first, past the last).
SPARK_VERSIONS = ((3, 5), (5, 0))


def run_main(body: Callable[[], None]) -> int:
    """Runs a job body; a CamscoreError becomes one line on stderr and its exit code (2, or 75 when the
    output's lease is held or lost). Any other error keeps its traceback."""
    configure_logging()
    try:
        body()
    except CamscoreError as exc:
        print(one_line(exc), file=sys.stderr)
        return exc.exit_code
    return 0


def run_job(argv: list[str] | None, doc: str, *, prog: str, settings: Sequence[str] = (),
            options: type | None = None, body: Callable[..., None], config: bool = True,
            spark: bool = False) -> int:
    """Parses a job's flags, reads its settings and runs ``body``; returns the exit code.

    Args:
        argv: the arguments (None: sys.argv).
        doc: the job's docstring; its first line is the --help description.
        prog: the job's name in --help.
        settings: dotted keys of Settings the job offers as flags (``score.input`` gives --input);
            flags override the config file, which overrides the built-in defaults.
        options: a dataclass of settings declared with ``settings_engine.setting`` that only this job
            takes, all of them flags; ``body`` receives it after the Settings.
        body: called with the Settings (and the options, if any).
        config: whether the job reads a config file (--config).
        spark: whether the job runs Spark: the pyspark it finds (the cluster's, under spark-submit)
            must be a supported version, checked before anything else.
    """
    parser = _Parser(prog=prog, description=doc.strip().splitlines()[0],
                     epilog="Flags override the config file; the config file overrides built-in defaults."
                     if config else None)
    if config:
        parser.add_argument("--config", help="YAML config file (e.g. conf/local.yaml)")
    every = {key: (item, hint) for key, item, hint in declared(Settings)}
    for key in settings:
        _add_flag(parser, key.split(".", 1)[1], *every[key], required=False)
    own = []
    for _, item, hint in declared(options) if options else ():
        _add_flag(parser, item.name, item, hint, required=item.metadata["required"])
        own.append(item.name)
    try:
        args = vars(parser.parse_args(argv))
    except SystemExit as stop:  # --help (0) or a bad invocation (2), already told
        return stop.code if isinstance(stop.code, int) else USER_ERROR

    def main() -> None:
        if spark:
            check_spark()
        loaded = load_settings(args.get("config"), overrides={key: args[key.split(".", 1)[1]] for key in settings})
        extra = (build(options, {name: args[name] for name in own if args[name] is not None},
                       origin="flags"),) if options else ()
        body(loaded, *extra)

    return run_main(main)


def check_spark() -> None:
    """Stops in one line where no pyspark can be imported or its Spark version is not supported."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError("no pyspark here: submit the job with spark-submit (the cluster's Spark), or run it "
                          "locally with ./submit.sh (or pip install '.[spark]' in camscore's checkout)") from None
    check_spark_version(pyspark.__version__)


def check_spark_version(version: str) -> None:
    """Raises ConfigError unless ``version`` (``4.0.1``) is in SPARK_VERSIONS."""
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    first, past = SPARK_VERSIONS
    if not first <= found < past:
        raise ConfigError(f"camscore runs on Spark {first[0]}.{first[1]} and {past[0] - 1}.x, not Spark {version}: "
                          f"use a cluster image with one of them, or submit with the spark-submit of camscore's "
                          f"'spark' extra")


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad invocation told in one line as every other user error is (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR, f"camscore: error: {self.prog}: {message} (see --help)\n")


def _add_flag(parser: argparse.ArgumentParser, name: str, item: dataclasses.Field, hint: Any, *,
              required: bool) -> None:
    """Adds --name for a declared setting; the flag's value is None when it is not given."""
    declaration = item.metadata
    flag = "--" + name.replace("_", "-")
    default = item.default if item.default_factory is dataclasses.MISSING else item.default_factory()
    shown = "" if required or default in (None, dataclasses.MISSING) or default is False \
        else f" (default {_shown(default)})"
    help_text = declaration["help"] + shown
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if bool in kinds:
        parser.add_argument(flag, action="store_const", const=True, default=None, help=help_text)
    else:
        parser.add_argument(flag, type=next((k for k in kinds if k in (int, float)), str), required=required,
                            choices=declaration["allowed"] or None, help=help_text)


def _shown(default: Any) -> str:
    if isinstance(default, Mapping):
        return ",".join(f"{key}={value}" for key, value in default.items()) or "none"
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)
