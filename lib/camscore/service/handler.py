"""The serverless entry point: Yandex Cloud Functions' Python runtime and AWS Lambda call
``handler(event, context)`` with the Object Storage trigger's or the S3 notification's event, one call
at a time per instance. The same scoring as the HTTP service; the rows are written before the call
returns, since an instance may be frozen or dropped between calls. A write that fails fails the call, so
that the platform delivers the event again (compaction keeps one row per frame).

Settings: the YAML file named by ``$CAMSCORE_CONFIG`` (``camscore.yaml`` beside the package by default,
where ``./submit.sh pack --for function --config FILE`` puts it), then ``$CAMSCORE_MODEL`` and
``$CAMSCORE_OUTPUT`` over serve.model and serve.output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from camscore.config import load_settings
from camscore.logs import configure_logging
from camscore.service.events import EventError, objects_in
from camscore.service.scoring import Scoring

CONFIG_FILE = "camscore.yaml"
_loaded: list[Scoring] = []


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Scores the frames the event names; answers as an HTTP function would (the trigger ignores it)."""
    scoring = _scoring()
    try:
        objects = objects_in(event)
    except EventError as exc:
        return _answer(exc.status, {"error": str(exc)})
    answers, _ = scoring.score_objects(objects)
    scoring.flush()
    return _answer(200, answers)


def _scoring() -> Scoring:
    if not _loaded:
        configure_logging()
        default = Path(__file__).resolve().parents[2] / CONFIG_FILE
        config = os.environ.get("CAMSCORE_CONFIG") or (str(default) if default.exists() else None)
        settings = load_settings(config, overrides={"serve.model": os.environ.get("CAMSCORE_MODEL"),
                                                    "serve.output": os.environ.get("CAMSCORE_OUTPUT")})
        _loaded.append(Scoring(settings))
    return _loaded[0]


def _answer(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
