"""The one exception family of camscore: errors a user can fix."""


class CamscoreError(Exception):
    """An error caused by what the user gave: config, model or input.

    Job entry points catch it, print its message as one line and exit with 2.
    The message says what was expected, what was received and what to do.
    """


class ConfigError(CamscoreError):
    """A config file, key or flag is missing or has a value outside the allowed ones."""


class ModelError(CamscoreError):
    """A model directory or weights file is missing, malformed or does not fit the featurizer."""


class InputError(CamscoreError):
    """The input location cannot be listed or holds nothing to work on."""
