"""A model's two labels as config and flags give them: ``bus=0,car=1``, parsed, and the names of 0 and 1."""

from __future__ import annotations

from typing import Mapping


def parse_labels(value: str | Mapping[str, int]) -> dict[str, int]:
    """``bus=0,car=1`` (or that mapping) as ``{"bus": 0, "car": 1}``: one name for 0 and one for 1.

    Raises:
        ValueError: anything else, with the expected form.
    """
    pairs = value.items() if isinstance(value, Mapping) else (
        part.strip().partition("=")[::2] for part in str(value).split(","))
    labels = {}
    for name, number in pairs:
        if not str(name).strip() or str(number).strip() not in ("0", "1"):
            labels = {}
            break
        labels[str(name).strip()] = int(number)
    if sorted(labels.values()) != [0, 1]:
        raise ValueError(f"must name label 0 and label 1 like bus=0,car=1; got {value!r}")
    return labels


def label_names(labels: Mapping[str, int]) -> tuple[str, str]:
    """The names of label 0 and label 1 of parsed labels."""
    names = {value: name for name, value in labels.items()}
    return names[0], names[1]
