"""The one exception family of camscore: errors a user can fix, each with its exit code.

Job entry points catch CamscoreError, print its message as one line and exit with its ``exit_code``.
The message says what was expected, what was received and what to do.
"""

import os


class CamscoreError(Exception):
    """An error caused by what the user gave, or a state a later run clears: config, model, input, the lease."""

    exit_code = 2  # a user error: fix the config, model or input and run again


class ConfigError(CamscoreError):
    """A config file, key or flag is missing or has a value outside the allowed ones."""


class ModelError(CamscoreError):
    """A model directory or weights file is missing, malformed or does not fit the featurizer."""


class InputError(CamscoreError):
    """The input location cannot be listed or holds nothing to work on."""


class InputUnavailable(CamscoreError):
    """The input could not be listed for a passing fault (throttling, 5xx, the network) after the retries."""

    exit_code = 1  # a scheduler retries with back-off: nothing to fix


class PackageError(CamscoreError):
    """A pinned package cannot be fetched, or its tarball is not the one pinned."""


class CompactionCheckFailed(CamscoreError):
    """The rows a compaction wrote are not those it read: it changed nothing."""

    exit_code = 1


class LeaseHeld(CamscoreError):
    """Another run holds the output: try again later."""

    exit_code = os.EX_TEMPFAIL  # 75: schedulers try again


class LeaseLost(CamscoreError):
    """This run lost the output's lease while it ran, and stopped."""

    exit_code = os.EX_TEMPFAIL


def one_line(error: CamscoreError) -> str:
    """The error as the one line a job prints."""
    return "camscore: error: " + " ".join(str(error).split())
