"""Scoring service: each frame scored as it is posted or as its upload event arrives, rows into the table.

Run as ``./submit.sh serve --model DIR [--output URI]``; in a container, as its command with --host 0.0.0.0.
"""

import sys

from camscore.cli import run_job

FLAGS = ("serve.model", "serve.output", "serve.host", "serve.port")


def main(argv: list[str] | None = None) -> int:
    def body(settings) -> None:
        import asyncio

        from camscore.service.app import serve

        asyncio.run(serve(settings))

    return run_job(argv, __doc__, prog="serve", settings=FLAGS, body=body)


if __name__ == "__main__":
    sys.exit(main())
