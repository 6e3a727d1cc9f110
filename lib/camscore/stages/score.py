"""The scoring job: model checks, sources, scoring, Parquet, summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass

from pyspark import Accumulator
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.config import Settings, SourceSettings
from camscore.errors import ConfigError
from camscore.io import GONE, lease, listing_checkpoint, output_table
from camscore.io.on_spark import FrameSource, read_frames, reader_for
from camscore.model.imaging import DecodeOptions
from camscore.model.model_dir import Model, load_model
from camscore.model.spec import CoreSpec
from camscore.rows import ErrorKind
from camscore.spark.progress import Progress
from camscore.spark.session import run_conf
from camscore.stages.batches import READ_COUNTS, STAGES, arrow_batch_conf, score_frames, worker_meter, with_output_columns

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """What a scoring run did, written as ``_summary.json`` beside its output.

    Attributes:
        frames_retried: frames an earlier run of this model could not read for a passing fault
            (``read`` rows only), read again by --only-new.
        frames_blank: frames left out of the model as absolutely dark, white or uniform (score.skip_unhealthy;
            error kind ``blank``), not counted in ``errors``.
        errors: frames by error kind.
        reads: ``read_retries``, the retries all reads took (frames whose reads still failed have
            ``read`` rows, and --only-new reads them again).
        seconds: wall seconds of the driver's stages.
        worker_seconds: CPU seconds the Python workers spent per stage (see scoring.STAGES).
        featurizer: layer, weights and graph identities, runtime and precision.
        listing: how the input was listed: ``whole`` (true, or false past each folder's checkpoint), ``reason``,
            ``frames`` (those listed, already scored ones included).
        run_label: score.run_label, a scheduler's name for the run.
        summary_uri: where ``_summary.json`` was written.
    """

    model_id: str
    input: str
    output: str
    batch: str
    frames_read: int
    frames_already_scored: int
    frames_retried: int
    frames_scored: int
    frames_blank: int
    errors: dict[str, int]
    reads: dict[str, int]
    frames_per_second: float
    seconds: dict[str, float]
    worker_seconds: dict[str, float]
    featurizer: dict[str, str]
    listing: dict[str, object]
    started_at: str
    run_label: str | None = None
    summary_uri: str | None = None

    def to_json(self) -> str:
        values = dataclasses.asdict(self)
        del values["summary_uri"]  # where the file itself lies
        return json.dumps(values, indent=2, sort_keys=True)

    def format(self) -> str:
        """A few lines for the console."""
        errors = ", ".join(f"{kind} {count}" for kind, count in self.errors.items()) or "none"
        stages = ", ".join(f"{name} {value}s" for name, value in self.seconds.items())
        workers = ", ".join(f"{name} {value}s" for name, value in self.worker_seconds.items())
        listed = f"listed {'whole' if self.listing['whole'] else 'past the checkpoint'}: {self.listing['reason']}"
        return "\n".join([
            f"model        {self.model_id}",
            f"input        {self.input} ({listed})",
            f"frames read  {self.frames_read}",
            f"scored       {self.frames_scored}",
            *([f"blank        {self.frames_blank} (left out of the model: score.skip_unhealthy)"]
              if self.frames_blank else []),
            f"errors       {errors}",
            f"reads        {self.reads['read_retries']} retries",
            f"frames/s     {self.frames_per_second}",
            f"stages       {stages}",
            f"workers      {workers} (CPU seconds summed over workers)",
            f"output       {self.output} (batch {self.batch})",
        ])


@dataclass(frozen=True)
class PreparedRun:
    """A scoring run checked before Spark starts: its settings, its model, and the scorer's spec workers build
    their cores from."""

    settings: Settings
    model: Model
    spec: CoreSpec
    seconds: float

    @property
    def decode(self) -> DecodeOptions:
        """How the run decodes frames."""
        return self.spec.decode


@dataclass(frozen=True)
class ListedFrames:
    """The frames a run scores: where they are, which of them, how many, and the run's batch id."""

    source: FrameSource
    listed: DataFrame
    wanted: DataFrame
    total: int
    already_scored: int
    retried: int
    batch_id: str
    dates: list[str]  # the date= partitions the wanted frames' rows go to
    seconds: float
    plan: listing_checkpoint.Plan  # what was listed
    previous: listing_checkpoint.Checkpoint | None  # the checkpoint it was listed from

    @property
    def subset(self) -> DataFrame | None:
        """``wanted`` when it is not every listed frame, else None (reading all frames needs no join)."""
        return None if self.wanted is self.listed else self.wanted


def prepare_score(settings: Settings) -> PreparedRun:
    """Every check that needs no Spark: required settings, the model directory, the featurizer and weights.

    Raises:
        ConfigError: input, model or output is missing, or the output is a local location that
            cannot be written (other locations are checked once Spark has started, before any frame is scored).
        ModelError: the model cannot be loaded or does not fit the featurizer the settings ask for.
    """
    started = time.perf_counter()
    for flag, value in (("--input", settings.score.input), ("--model", settings.score.model),
                        ("--output", settings.score.output)):
        if not value:
            raise ConfigError(f"{flag} is required (or score.{flag[2:]} in the config file)")
    if storage.is_local_to(settings.score.output, settings.spark):
        storage.check_writable(settings.score.output, s3=settings.s3)
    files = storage.StorageFiles(settings.s3)
    model = load_model(settings.score.model, files=files)
    return PreparedRun(settings, model, CoreSpec.from_model(model, settings, files=files),
                       time.perf_counter() - started)


def run_score(spark: SparkSession, run: PreparedRun) -> RunSummary:
    """Scores every frame under score.input (or only new ones) with the prepared model into score.output.

    Returns:
        The run summary, also written as ``_summary.json`` in the output folder.
    """
    started_at = dt.datetime.now(dt.timezone.utc)
    settings = run.settings
    storage.check_writable(settings.score.output, s3=None, spark=spark)
    with lease.held(settings.score.output, seconds=settings.score.lease_seconds, s3=settings.s3, spark=spark,
                    on_lost=spark.sparkContext.cancelAllJobs):
        frames = list_frames(spark, run)
        meter = worker_meter(spark)
        with run_conf(spark, {**arrow_batch_conf(settings.featurizer.batch_size), **frames.source.conf}):
            score_seconds = score_and_write(spark, run, frames, meter=meter, started_at=started_at)
            outcomes = reconcile(spark, run, frames, started_at=started_at)
            keep_checkpoint(spark, run, frames, outcomes)
        seconds = {"load_model": run.seconds, "list": frames.seconds, "score_and_write": score_seconds}
        summary = _summary(run, frames, outcomes, seconds=seconds, meter=meter, started_at=started_at)
        # Written under the lease by every run that got it, one that found nothing new included: a scheduler reads
        # its run_label, and no other run can have replaced it before the lease is given back.
        summary = dataclasses.replace(summary, summary_uri=output_table.write_summary(
            spark, settings.score.output, summary.to_json()))
    frames.listed.unpersist()
    frames.wanted.unpersist()
    return summary


def list_frames(spark: SparkSession, run: PreparedRun) -> ListedFrames:
    """The frames under score.input, less those the output already has by this model with --only-new."""
    mark = time.perf_counter()
    job, model_id = run.settings.score, run.model.manifest.model_id
    previous, plan = listing_plan(spark, run)
    source = read_frames(spark, job.input, source=run.settings.source, s3=run.settings.s3, after=plan.after)
    # The frames as listed now (cached by the first count): a later scan skips files deleted since,
    # and write_unread needs this list. A cache, not a local checkpoint, survives a lost executor.
    listed = source.listing.cache()
    wanted, already_scored, retried = listed, 0, 0
    if job.only_new and storage.exists(job.output, s3=None, spark=spark):
        # Only the days the listed frames fall on are read: the cost follows the frames, not the output's history.
        done = output_table.done_paths(spark, job.output, model_id=model_id, dates=output_table.partition_dates(listed)).cache()
        # Cached: counting, fingerprinting and scoring it then read those days once.
        wanted = listed.join(done.where(~F.col("passing")).select("path"), "path", "left_anti").cache()
        retried = wanted.join(done.where(F.col("passing")), "path", "left_semi").count()
        done.unpersist()
    total, batch_id, dates = _fingerprint(wanted, model_id=model_id, source_settings=run.settings.source)
    if wanted is not listed:
        already_scored = listed.count() - total
    log.info("%d frames to score under %s (%d already scored, %d read again); model %s", total,
             job.input, already_scored, retried, model_id)
    return ListedFrames(source, listed, wanted, total, already_scored, retried, batch_id, dates,
                        time.perf_counter() - mark, plan, previous)


def listing_plan(spark: SparkSession, run: PreparedRun
                 ) -> tuple[listing_checkpoint.Checkpoint | None, listing_checkpoint.Plan]:
    """What this run lists: with --only-new over an object store whose keys are in time order
    (source.key_order), from the checkpoint the output keeps for this input; else the whole input."""
    job, source = run.settings.score, run.settings.source
    now = dt.datetime.now(dt.timezone.utc)
    reader = reader_for(spark, job.input, source=source, s3=run.settings.s3)
    if not job.only_new:
        return None, listing_checkpoint.Plan.everything("without --only-new", now)
    if source.key_order != "time" or reader != "boto3":
        reason = (f"source.key_order {source.key_order}" if source.key_order != "time" else
                  f"listing past a checkpoint is for object stores read through boto3; this input's reader: {reader}")
        log.info("--only-new lists the whole input every run: %s", reason)
        return None, listing_checkpoint.Plan.everything(reason, now)
    previous = listing_checkpoint.read(spark, job.output, job.input) \
        if storage.exists(job.output, s3=None, spark=spark) else None
    plan = listing_checkpoint.plan(previous, input_uri=job.input, list_depth=source.list_depth,
                                   model_id=run.model.manifest.model_id, whole_every_hours=job.full_listing_hours,
                                   now=now)
    log.info("listing %s %s: %s", job.input, "whole" if plan.whole else "past the checkpoint", plan.reason)
    if previous is not None and previous.unordered and not plan.whole:
        log.info("%d folders under %s are listed whole: their keys are out of time order", len(previous.unordered),
                 job.input)
    return previous, plan


def keep_checkpoint(spark: SparkSession, run: PreparedRun, frames: ListedFrames, outcomes: dict[str, int]) -> None:
    """Writes where the next --only-new run's listing starts, once this run's rows are committed (all of them:
    a run whose rows fall short of its frames leaves the checkpoint where it was)."""
    if not frames.plan.keeps:
        return
    job, source = run.settings.score, run.settings.source
    if sum(outcomes.values()) < frames.total:
        log.warning("the listing checkpoint of %s stays where it was: this run's rows fall short of its frames",
                    job.input)
        return
    unsettled = output_table.passing_paths(spark, job.output, batch_id=frames.batch_id, dates=frames.dates) \
        if frames.total else []
    kept = listing_checkpoint.advance(
        frames.previous, frames.plan, frames.source.objects, input_uri=job.input, list_depth=source.list_depth,
        model_id=run.model.manifest.model_id, unsettled=unsettled, lookback=dt.timedelta(minutes=job.lookback_minutes),
        whole_every_hours=job.full_listing_hours)
    found = kept.unordered - (frames.previous.unordered if frames.previous else frozenset())
    if found:
        log.warning("%d folders under %s have keys out of time order (e.g. %s): they are listed whole every run "
                    "until a whole listing finds them in order (source.key_order)", len(found), job.input,
                    min(found))
    listing_checkpoint.write(spark, job.output, kept)


def score_and_write(spark: SparkSession, run: PreparedRun, frames: ListedFrames, *, meter: Accumulator,
                    started_at: dt.datetime) -> float:
    """Scores the listed frames into the output's partitions of this batch; returns the seconds it took."""
    mark = time.perf_counter()
    if frames.total:
        scores = score_frames(frames.source, frames.subset, spec=run.spec, meter=meter)
        with Progress(spark, total=frames.total):
            output_table.write_scores(with_output_columns(scores, model_id=run.model.manifest.model_id,
                                                   batch_id=frames.batch_id, scored_at=started_at),
                               run.settings.score.output)
    return time.perf_counter() - mark


def reconcile(spark: SparkSession, run: PreparedRun, frames: ListedFrames, *,
              started_at: dt.datetime) -> dict[str, int]:
    """The batch's rows by outcome, after a ``read`` row for each listed frame the scan no longer found."""
    if not frames.total:
        return {}
    output = run.settings.score.output
    outcomes = output_table.count_outcomes(spark, output, batch_id=frames.batch_id, dates=frames.dates)
    # Rows short of the listing: frames deleted after listing, which the scan skipped.
    if sum(outcomes.values()) < frames.total and write_unread(
            spark, frames.wanted, output, model_id=run.model.manifest.model_id, batch_id=frames.batch_id,
            dates=frames.dates, scored_at=started_at):
        outcomes = output_table.count_outcomes(spark, output, batch_id=frames.batch_id, dates=frames.dates)
    if sum(outcomes.values()) != frames.total:
        log.error("%d frames were listed but the output holds %d rows of batch %s",
                  frames.total, sum(outcomes.values()), frames.batch_id)
    return outcomes


def _summary(run: PreparedRun, frames: ListedFrames, outcomes: dict[str, int], *, seconds: dict[str, float],
             meter: Accumulator, started_at: dt.datetime) -> RunSummary:
    not_errors = ("scored", ErrorKind.BLANK.value)
    errors = {kind: count for kind, count in sorted(outcomes.items()) if kind not in not_errors}
    spec = run.spec
    return RunSummary(
        model_id=run.model.manifest.model_id, input=run.settings.score.input, output=run.settings.score.output,
        batch=frames.batch_id, frames_read=frames.total, frames_already_scored=frames.already_scored,
        frames_retried=frames.retried, frames_scored=outcomes.get("scored", 0),
        frames_blank=outcomes.get(ErrorKind.BLANK.value, 0), errors=errors,
        reads={name: int(meter.value.get(name, 0)) for name in READ_COUNTS},
        frames_per_second=round(frames.total / seconds["score_and_write"], 2) if frames.total else 0.0,
        seconds={name: round(value, 2) for name, value in {**seconds, "total": sum(seconds.values())}.items()},
        worker_seconds={name: round(meter.value.get(name, 0.0), 2) for name in STAGES},
        featurizer={"layer": spec.graph.layer, "weights": spec.weights, "runtime": spec.graph.runtime,
                    "precision": spec.graph.precision, "graph": spec.graph.identity, "resample": spec.decode.resample},
        listing={"whole": frames.plan.whole, "reason": frames.plan.reason, "frames": frames.listed.count()},
        started_at=started_at.isoformat(timespec="seconds"), run_label=run.settings.score.run_label)


def write_unread(spark: SparkSession, listing: DataFrame, output: str, *, model_id: str, batch_id: str,
                 dates: list[str], scored_at: dt.datetime) -> int:
    """Appends an ``unreadable`` row (camscore.io.GONE) for each listed frame the scan no longer found (deleted
    after listing; the scan skips it, by spark.sql.files.ignoreMissingFiles), so no frame read vanishes."""
    written = output_table.batch_rows(spark, output, batch_id=batch_id, dates=dates).select("path")
    unread = listing.join(written, "path", "left_anti").cache()
    count = unread.count()
    if count:
        log.warning("%d listed frames were gone when read", count)
        output_table.write_scores(with_output_columns(output_table.error_rows(unread, GONE), model_id=model_id, batch_id=batch_id,
                                               scored_at=scored_at), output, append=True)
    unread.unpersist()
    return count


def _fingerprint(listing: DataFrame, *, model_id: str, source_settings: SourceSettings
                 ) -> tuple[int, str, list[str]]:
    """Frame count, a batch id that is the same whenever the same frames meet the same model and the same
    reading of their paths (which decides their dates), and the date partitions their rows go to; one Spark job."""
    digest = F.xxhash64("path", "length", "modification_time")
    row = listing.agg(F.count(F.lit(1)).alias("n"), F.bit_xor(digest).alias("x"),
                      F.collect_set(output_table.date_folder()).alias("dates")).first()
    text = f"{row['n']}:{row['x']}:{model_id}:{source_settings.path_regex}:{source_settings.captured_at_format}"
    # A leading letter keeps Parquet partition discovery from reading an all-digit id as a number.
    return row["n"], "b" + hashlib.sha256(text.encode()).hexdigest()[:16], sorted(row["dates"])
