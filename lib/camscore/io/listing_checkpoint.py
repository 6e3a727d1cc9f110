"""Where a scheduled ``--only-new`` run's listing of an object store starts: the checkpoint kept in the output.

A camera writes its keys in time order within its folder (``cam-07/20261120T120000.jpg``: source.key_order
``time``), so a run that knows, per folder, the last key whose row the output already holds need list only
what sorts after it (S3's StartAfter): its listing costs the new frames, not the bucket's history.

What keeps that from losing a frame:

- The checkpoint is written after the run's rows are committed, under the output's lease: a run that dies
  leaves the previous one. It only ever names keys this run listed and committed (or the previous checkpoint),
  so two runs, whichever writes last, never move it past a frame neither scored.
- A folder's checkpoint stops short of its keys written within score.lookback_minutes of the listing
  (uploads landing out of key order within that window) and of a frame whose row is a passing ``read`` error
  (read again by the next run), both listed again next time.
- A frame written late under a key that sorts before its folder's checkpoint (a camera flushing its buffer
  after an outage) is found by the whole listing every run makes when the last one is
  score.full_listing_hours old.
- A whole listing judges each folder's order: one where a key written since the previous whole listing sorts
  before a key written earlier (beyond the lookback) is listed whole by every run until a whole listing finds
  it in order again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from camscore import storage
from camscore.storage import S3Object

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

FOLDER = "_listing"  # in the output; Spark's and DuckDB's readers skip a folder starting with "_"


@dataclass(frozen=True)
class Checkpoint:
    """How far an input's folders are listed and committed into an output.

    Attributes:
        input: the input URI (without a trailing ``/``).
        list_depth: source.list_depth its folders were listed at (another depth, other folders: a whole listing).
        model_id: the model whose rows it counts (another model has scored none of them: a whole listing).
        whole_listing_at: when the last whole listing began.
        after: per folder (a key of the bucket ending in ``/``), the last key such that it and every key before it
            that was listed by then has a row (a key written later under an earlier name waits for the whole
            listing); a folder not named is listed whole.
        unordered: folders whose keys are not in time order, listed whole until a whole listing finds them in order.
    """

    input: str
    list_depth: int
    model_id: str
    whole_listing_at: dt.datetime
    after: Mapping[str, str] = field(default_factory=dict)
    unordered: frozenset[str] = frozenset()

    def to_json(self) -> str:
        return json.dumps({"input": self.input, "list_depth": self.list_depth, "model_id": self.model_id,
                           "whole_listing_at": self.whole_listing_at.isoformat(), "after": dict(sorted(self.after.items())),
                           "unordered": sorted(self.unordered)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        values = json.loads(text)
        return cls(values["input"], values["list_depth"], values["model_id"],
                   dt.datetime.fromisoformat(values["whole_listing_at"]), values["after"],
                   frozenset(values["unordered"]))


@dataclass(frozen=True)
class Plan:
    """What a run lists: the whole input, or each folder past its checkpoint.

    Attributes:
        whole: a whole listing (every folder from its first key).
        after: the listing's starting keys per folder (empty for a whole listing).
        reason: why, in a few words, for the log and the summary.
        listed_at: when the listing began (what the next checkpoint's lookback counts from).
        keeps: whether the run keeps a checkpoint (--only-new over an ordered object store).
    """

    whole: bool
    after: Mapping[str, str]
    reason: str
    listed_at: dt.datetime
    keeps: bool = True

    @classmethod
    def everything(cls, reason: str, now: dt.datetime) -> Plan:
        """A whole listing that keeps no checkpoint."""
        return cls(True, {}, reason, now, keeps=False)


def uri_of(output: str, input_uri: str) -> str:
    """The checkpoint of ``input_uri`` in ``output``: one per input, so one output may take several inputs."""
    name = hashlib.sha256(input_uri.rstrip("/").encode()).hexdigest()[:16]
    return storage.join(storage.join(output, FOLDER), f"{name}.json")


def read(spark: SparkSession | None, output: str, input_uri: str) -> Checkpoint | None:
    """The checkpoint of ``input_uri`` in ``output``, or None where there is none (or one unreadable: logged)."""
    uri = uri_of(output, input_uri)
    if not storage.exists(uri, s3=None, spark=spark):
        return None
    try:
        return Checkpoint.from_json(storage.read_bytes(uri, s3=None, spark=spark).decode())
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("the listing checkpoint %s cannot be read (%s): this run lists the whole input", uri, exc)
        return None


def write(spark: SparkSession | None, output: str, checkpoint: Checkpoint) -> str:
    return storage.write_bytes(uri_of(output, checkpoint.input), checkpoint.to_json().encode(), s3=None, spark=spark)


def plan(previous: Checkpoint | None, *, input_uri: str, list_depth: int, model_id: str, whole_every_hours: float,
         now: dt.datetime) -> Plan:
    """What this run lists, from the previous checkpoint."""
    if previous is None:
        return Plan(True, {}, "no listing checkpoint yet", now)
    made = {"input": previous.input, "list_depth": previous.list_depth, "model_id": previous.model_id}
    differ = [f"{name} {value}" for (name, value), now_value in zip(made.items(), (input_uri.rstrip("/"), list_depth,
                                                                                  model_id)) if value != now_value]
    if differ:
        return Plan(True, {}, f"the checkpoint was made for {', '.join(differ)}", now)
    if now - previous.whole_listing_at >= dt.timedelta(hours=whole_every_hours):
        return Plan(True, {}, f"the last whole listing began {previous.whole_listing_at:%Y-%m-%d %H:%M:%S} "
                              f"(score.full_listing_hours {whole_every_hours:g})", now)
    after = {folder: key for folder, key in previous.after.items() if folder not in previous.unordered}
    return Plan(False, after, f"{len(after)} folders past their checkpoint", now)


def advance(previous: Checkpoint | None, listing: Plan, listed: Sequence[S3Object], *, input_uri: str,
            list_depth: int, model_id: str, unsettled: Iterable[str], lookback: dt.timedelta,
            whole_every_hours: float) -> Checkpoint:
    """The checkpoint a run leaves once its rows are committed.

    Args:
        previous: the checkpoint the run listed from (None: there was none).
        listing: how it listed.
        listed: what it listed, each object with its folder.
        unsettled: paths of this run's frames whose rows are passing ``read`` errors (read again next run).
        lookback: keys written this close to the listing's start are listed again next run. The start is the
            driver's clock or the newest object's time, whichever is earlier: a driver clock running ahead of the
            store's does not settle keys early. (An object's time is when its upload began: the lookback must
            outlast an upload.)
        whole_every_hours: score.full_listing_hours; a frame with a passing error older than this is left to
            the whole listing, so that one frame that never reads does not hold its folder back for good.
    """
    by_folder: dict[str, list[S3Object]] = defaultdict(list)
    for item in listed:
        by_folder[item.folder].append(item)
    retry = set(unsettled)
    start = min(listing.listed_at, max((item.last_modified for item in listed), default=listing.listed_at))
    recent = start - lookback
    old_enough = start - dt.timedelta(hours=whole_every_hours)
    after = {} if listing.whole or previous is None else dict(previous.after)
    for folder, items in by_folder.items():
        items.sort(key=lambda item: item.key)
        settled = after.get(folder) if not listing.whole else None
        for item in items:
            if item.last_modified > recent or (item.uri in retry and item.last_modified > old_enough):
                break
            settled = item.key
        if settled is None:
            after.pop(folder, None)
        else:
            after[folder] = settled
    if listing.whole:
        since = previous.whole_listing_at if previous is not None else None
        unordered = frozenset(folder for folder, items in by_folder.items()
                              if out_of_order(items, since=since, tolerance=lookback))
        whole_listing_at = listing.listed_at
    else:
        unordered, whole_listing_at = previous.unordered, previous.whole_listing_at
    return Checkpoint(input_uri.rstrip("/"), list_depth, model_id, whole_listing_at, after, unordered)


def out_of_order(items: Sequence[S3Object], *, since: dt.datetime | None, tolerance: dt.timedelta) -> bool:
    """Whether, among a folder's objects sorted by key, one written after ``since`` (any, for None) sorts before
    an object written more than ``tolerance`` earlier than it: a key an incremental listing would have missed."""
    latest = None
    for item in items:
        if latest is not None and (since is None or latest > since) and item.last_modified < latest - tolerance:
            return True
        latest = item.last_modified if latest is None else max(latest, item.last_modified)
    return False
