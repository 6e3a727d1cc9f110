"""What the report's fleet page costs for a fleet's day (by hand, not in CI).

    python -m tools.fleet_page [--cameras 500] [--runs 1] [--workdir DIR]

Writes a day of ``cameras`` cameras sending a frame a minute (500: 720,000 rows) as the scoring job writes
them (``runs`` batches: 1 is the day compacted, as the nightly report reads it), with picture signals that vary
by camera, by the light of the day and from frame to frame, a few rows that did not decode, and one camera per
fault from its onset on (covered, dark, overexposed, blurred, frozen, moved, silent). The frames the page shows
(each camera's latest, the faulty cameras' frames around their onsets) are drawn 960x576 JPEGs in a local
folder, named by the rows' paths; the others are never read. Then ``write_report`` on local[2], and the
seconds of each of its stages and the page's bytes are printed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore.config import load_settings
from camscore.io.on_spark import write_scores
from camscore.spark.session import spark_session
from camscore.stages.batches import with_output_columns
from camscore.stages.report import write_report
from tools import samples

DAY = dt.date(2026, 11, 20)
MINUTES = 24 * 60
# One camera per fault, by its index, from its onset (minute of the day) on.
FAULTS = {7: ("covered", 12 * 60), 123: ("dark", 20 * 60), 250: ("frozen", 9 * 60 + 30), 333: ("blurred", 15 * 60),
          404: ("silent", 17 * 60), 480: ("overexposed", 13 * 60), 499: ("moved", 10 * 60)}
AROUND = 5  # frames drawn on each side of an onset: the report finds a fault within two frames of it


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1, help="batches the day is written in (1: compacted)")
    parser.add_argument("--workdir", help="where the frames and the table go (default: a new temporary folder); "
                                          "one that holds them from an earlier run is reported again")
    args = parser.parse_args(argv)
    faults = {camera: found for camera, found in FAULTS.items() if camera < args.cameras}
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="camscore-fleet-page-"))
    frames, output = workdir / "frames", str(workdir / "scores")
    settings = load_settings(None, overrides={"spark.master": "local[2]"})
    spark = spark_session(settings.spark)

    if (workdir / "scores").exists():
        print(f"reporting again the frames and rows under {workdir}")
    else:
        write_day(spark, frames, output, cameras=args.cameras, runs=args.runs, faults=faults)

    started, cpu = time.perf_counter(), tree_cpu_seconds()
    report = write_report(spark, output, date=DAY.isoformat(), to=None, health=settings.health, s3=None)
    seconds, cpu = time.perf_counter() - started, tree_cpu_seconds() - cpu
    page = Path(report.page)
    html = page.read_text()
    faulty = report.episodes[(report.episodes["status"] != "ok") & report.episodes["until"].isna()]
    print(f"report in {seconds:.1f} s ({cpu:.0f} CPU seconds in this process, Spark's JVM and its Python workers; "
          f"load average {os.getloadavg()[0]:.1f}): " + ", ".join(f"{stage} {value:.1f} s" for stage, value in
                                                                   report.seconds.items()))
    pictures, placeholders = html.count('<img class="thumb"'), html.count('class="thumb missing"')
    print(f"page {page}: {page.stat().st_size:,} bytes ({page.stat().st_size / 2 ** 20:.2f} MiB), {pictures} "
          f"thumbnails, {placeholders} placeholders; faults found: " + ", ".join(
              f"{row.camera_id} {row.status} since {row.since:%H:%M}" for row in faulty.itertuples()))


def tree_cpu_seconds() -> float:
    """The CPU time of this process and every process under it, those ended included (Linux's /proc): the cost
    of a run whatever else the machine's cores are doing."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            stats[int(entry.name)] = (int(fields[1]), sum(int(value) for value in fields[11:15]))
    tree, grown = {os.getpid()}, True
    while grown:
        found = {pid for pid, (parent, _) in stats.items() if parent in tree} - tree
        tree, grown = tree | found, bool(found)
    return sum(stats[pid][1] for pid in tree if pid in stats) / os.sysconf("SC_CLK_TCK")


def write_day(spark: SparkSession, frames: Path, output: str, *, cameras: int, runs: int,
              faults: dict[int, tuple[str, int]]) -> None:
    started = time.perf_counter()
    drawn = draw_shown_frames(frames, cameras=cameras, faults=faults)
    print(f"{drawn} frames the page shows drawn under {frames} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    rows = fleet_day(spark, frames, cameras=cameras, faults=faults)
    scored_at = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(1, 30), tzinfo=dt.timezone.utc)
    for run in range(runs):
        part = rows.where(F.floor(F.col("minute") * runs / MINUTES) == run).drop("minute")
        write_scores(with_output_columns(part, model_id="avg_pool-80edf06cbaa3", batch_id=f"b{run:04d}",
                                         scored_at=scored_at), output)
    count = spark.read.parquet(output).count()
    print(f"{count:,} rows of {cameras} cameras in {runs} batch(es) written to {output} in "
          f"{time.perf_counter() - started:.1f} s")


def fleet_day(spark: SparkSession, frames: Path, *, cameras: int, faults: dict[int, tuple[str, int]]) -> DataFrame:
    """The day's score rows (camscore.rows.SCORE_COLUMNS and ``minute``), a frame a minute of each camera."""
    camera, minute = F.col("id") % cameras, (F.col("id") / cameras).cast("int")
    rows = spark.range(cameras * MINUTES, numPartitions=8).select(camera.alias("camera"), minute.alias("minute"))
    rows = rows.where(~_faulty(faults, "silent", F.col("camera"), F.col("minute")))
    at = F.timestamp_seconds(F.lit(dt.datetime.combine(DAY, dt.time(), tzinfo=dt.timezone.utc).timestamp())
                             + F.col("minute") * 60)
    name = F.format_string("cam-%03d", F.col("camera"))
    path = F.concat(F.lit(f"file:{frames}/"), name, F.lit("/"), F.date_format(at, "yyyyMMdd'T'HHmmss"), F.lit(".jpg"))
    # Each camera's own scene (its baseline), the day's light, and noise from frame to frame.
    own = [(F.abs(F.xxhash64(F.col("camera"), F.lit(salt))) % 1000) / 1000 for salt in range(3)]
    light = 0.55 + 0.45 * F.sin(F.lit(np.pi) * F.col("minute") / MINUTES)
    brightness = (0.3 + 0.25 * own[0]) * light * (1 + 0.04 * F.randn(1))
    contrast = (0.15 + 0.1 * own[1]) * (0.8 + 0.2 * light) * (1 + 0.06 * F.randn(2))
    dark = F.least(F.lit(0.5), 0.02 + 0.1 * (1 - light) + 0.02 * F.rand(3))
    bright = 0.004 * F.rand(4)
    sharpness = (150 + 250 * own[2]) * light * light * (1 + 0.12 * F.randn(5))
    background = F.xxhash64(F.col("camera"))
    flips = [F.expr(f"shiftleft(1L, cast(floor(rand({10 + k}) * 64) as int))") for k in range(4)]
    phash = background
    for flip in flips:
        phash = phash.bitwiseXOR(flip)
    sha = F.sha2(path, 256)
    fault = {kind: _faulty(faults, kind, F.col("camera"), F.col("minute")) for kind, _ in faults.values()}
    none = F.lit(False)
    brightness = (F.when(fault.get("dark", none), 0.01).when(fault.get("overexposed", none), 0.97)
                  .otherwise(brightness))
    contrast = F.when(fault.get("covered", none), 0.008).otherwise(contrast)
    dark = F.when(fault.get("dark", none), 0.995).otherwise(dark)
    bright = F.when(fault.get("overexposed", none), 0.99).otherwise(bright)
    sharpness = F.when(fault.get("blurred", none) | fault.get("covered", none), sharpness * 0.04).otherwise(sharpness)
    phash = (F.when(fault.get("frozen", none), background)
             .when(fault.get("moved", none), phash.bitwiseXOR(F.lit(0x0F0F_0F0F_0F0F_0F0F))).otherwise(phash))
    sha = F.when(fault.get("frozen", none), F.sha2(F.lit("frozen"), 256)).otherwise(sha)
    # One frame in 2,000 did not decode (none in the day's last minutes: each camera's latest frame is shown).
    broken = (F.rand(20) < 0.0005) & (F.col("minute") < MINUTES - 10)
    probability = F.rand(21)

    def unless_broken(value: Column, kind: str) -> Column:
        return F.when(broken, F.lit(None).cast(kind)).otherwise(value).cast(kind)

    return rows.select(
        path.alias("path"), name.alias("camera_id"), at.alias("captured_at"),
        unless_broken(probability, "double").alias("probability"),
        unless_broken((probability >= 0.5).cast("int"), "int").alias("label"),
        unless_broken(F.when(probability >= 0.5, "car").otherwise("bus"), "string").alias("label_name"),
        F.when(broken, "decode").alias("error_kind"), F.when(broken, "decode: broken data").alias("error"),
        unless_broken(brightness, "double").alias("brightness"), unless_broken(contrast, "double").alias("contrast"),
        unless_broken(dark, "double").alias("dark_fraction"), unless_broken(bright, "double").alias("bright_fraction"),
        unless_broken(sharpness, "double").alias("sharpness"), unless_broken(phash, "long").alias("phash"),
        sha.alias("content_sha"), F.col("minute"))


def _faulty(faults: dict[int, tuple[str, int]], kind: str, camera: Column, minute: Column) -> Column:
    found = [(index, onset) for index, (fault, onset) in faults.items() if fault == kind]
    condition = F.lit(False)
    for index, onset in found:
        condition = condition | ((camera == index) & (minute >= onset))
    return condition


def draw_shown_frames(root: Path, *, cameras: int, faults: dict[int, tuple[str, int]]) -> int:
    """Draws the frames the page will show: each camera's last, and each faulty camera's frames around
    its onset (in its fault's look from the onset on). Two processes: drawing is most of it."""
    wanted = [(camera, MINUTES - 1, None) for camera in range(cameras)
              if faults.get(camera, ("", MINUTES))[0] != "silent"]
    wanted += [(camera, minute, kind if minute >= onset else None) for camera, (kind, onset) in faults.items()
               for minute in range(onset - AROUND, onset + AROUND + 1) if kind != "silent" or minute < onset]
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        drawn = list(pool.map(_draw, wanted, chunksize=16))
    for (camera, minute, _), data in zip(wanted, drawn):
        moment = dt.datetime.combine(DAY, dt.time()) + dt.timedelta(minutes=minute)
        target = root / f"cam-{camera:03d}" / f"{moment:%Y%m%dT%H%M%S}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return len(wanted)


def _draw(wanted: tuple[int, int, str | None]) -> bytes:
    camera, minute, fault = wanted
    rng = np.random.default_rng(camera * MINUTES + minute)
    if fault == "covered":
        return samples._jpeg(samples._covered(rng, width=samples.WIDTH, height=samples.HEIGHT, noise=5.0))
    if fault == "moved":
        return samples._jpeg(samples._facade(rng, scene=camera, width=samples.WIDTH, height=samples.HEIGHT, light=1.0,
                                     noise=5.0))
    if fault == "frozen":
        rng, minute = np.random.default_rng(camera), 0  # the same picture from the onset on
    options = {"dark": {"light": 0.02}, "overexposed": {"light": 5.0}, "blurred": {"blur": 14.0}}.get(fault, {})
    return samples._jpeg(samples.draw_frame(samples.KINDS[minute % 2], rng, scene=camera, **options))


if __name__ == "__main__":
    main()
