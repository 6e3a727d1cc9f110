"""The original notebook's files, found through one setting: ``CAMSCORE_ORIGINAL`` names their folder.

The notebook that camscore replaces saved a LightGBM booster and two real
CCTV frames. They have no licence to redistribute, so the repository never
holds them and no code names a path to them: a user who has them sets
``CAMSCORE_ORIGINAL=<folder>`` (the repository's .ci/run does), and what
needs them asks here. Without them, :func:`find_original` says in one line
what is missing and how to add it. No Spark, no model library here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from camscore.errors import ConfigError

SETTING = "CAMSCORE_ORIGINAL"
BOOSTER = "lightgbm_classifier.model"
CCTV_FRAME = "car_cctv_960x576.png"
TRAINING_FRAME = "car_474x315.png"
FILES = (BOOSTER, CCTV_FRAME, TRAINING_FRAME)
_HOLDING = (f"{BOOSTER} (the original notebook repository's booster), {CCTV_FRAME} and {TRAINING_FRAME}")


@dataclass(frozen=True)
class OriginalFiles:
    """Where the original notebook's files are.

    Attributes:
        folder: the folder ``CAMSCORE_ORIGINAL`` names (absolute).
        booster: its LightGBM booster (text format, 1000 features: Keras ResNet50's ``predictions``).
        frames: its two real CCTV frames of cars: the 960x576 camera frame, then the 474x315 training frame.
    """

    folder: Path
    booster: Path
    frames: tuple[Path, Path]


@dataclass(frozen=True)
class OriginalMissing:
    """The original notebook's files are not at hand.

    Attributes:
        reason: one line: what is missing and how to add it.
        file: the first file the named folder lacks, or None when the setting is unset.
    """

    reason: str
    file: str | None


def find_original(environ: Mapping[str, str] | None = None) -> OriginalFiles | OriginalMissing:
    """The original notebook's files, or why they are not at hand.

    Args:
        environ: the environment to read ``CAMSCORE_ORIGINAL`` from; None reads the process's. A relative
            folder is taken from the working directory.

    Returns:
        Their paths when the folder holds all three files; otherwise what is missing, in one line.
    """
    value = (os.environ if environ is None else environ).get(SETTING, "")
    if not value:
        return OriginalMissing(reason=f"the original notebook's files are not here: set {SETTING} to a folder "
                                      f"holding {_HOLDING}", file=None)
    folder = Path(value).expanduser().absolute()
    lacking = [name for name in FILES if not (folder / name).is_file()]
    if lacking:
        found = "which is not a folder" if not folder.is_dir() else f"which has no {', '.join(lacking)}"
        return OriginalMissing(reason=f"the original notebook's files are not all here: {SETTING} is {folder}, "
                                      f"{found}; it must hold {_HOLDING}", file=lacking[0])
    return OriginalFiles(folder=folder, booster=folder / BOOSTER,
                         frames=(folder / CCTV_FRAME, folder / TRAINING_FRAME))


def require_original(environ: Mapping[str, str] | None = None) -> OriginalFiles:
    """The original notebook's files, for a tool that cannot go on without them.

    Args:
        environ: as for :func:`find_original`.

    Raises:
        ConfigError: they are not at hand; its message is :attr:`OriginalMissing.reason` (a job prints it as
            one line and exits 2).
    """
    found = find_original(environ)
    if isinstance(found, OriginalMissing):
        raise ConfigError(found.reason)
    return found
