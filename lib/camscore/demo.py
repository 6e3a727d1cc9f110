"""The embedded default: generated frames in an embedded S3 server, a quick booster, a scoring run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from camscore import samples
from camscore.classifier import make_manifest, save_model
from camscore.config import Settings
from camscore.featurizer import FeaturizerSpec, load_weights
from camscore.imaging import DecodeOptions
from camscore.score_job import format_summary, run_score
from camscore.scoring import Meters, featurize_frames
from camscore.session import spark_session
from camscore.sources import read_frames
from camscore.training import fit_booster

LABELS = {"bus": 0, "car": 1}
# Small data: leaves may hold fewer frames than the original's min_child_weight allows.
DEMO_PARAMS = {"min_child_weight": 1.0, "num_leaves": 31}


def run_demo(settings: Settings, *, master: str, workdir: Path, per_class: int = 120) -> None:
    """Generates frames into an embedded S3 server, fits a quick booster and scores incoming frames.

    The server starts before Spark so that Python workers inherit its placeholder credentials.
    """
    run_dir = workdir / dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    layer = settings.featurizer.layer or "avg_pool"
    weights_source = settings.featurizer.weights or "none"
    with samples.EmbeddedS3() as server:
        spark = spark_session(settings.spark, master=master)
        bucket = server.create_bucket("camscore-demo")
        settings = dataclasses.replace(settings, s3=server.settings)
        print(f"embedded S3 server at {server.settings.endpoint_url}, bucket {bucket}")

        started = time.perf_counter()
        labelled = samples.labelled_frames(per_class=per_class)
        incoming = samples.camera_frames(cameras=4, days=3, per_day=12, start=dt.date(2026, 11, 20))
        broken = [samples.SampleFrame(f"cam-04/20261122T235900-bad-{kind}.jpg", data, kind)
                  for kind, data in samples.bad_frames().items()]
        samples.upload(labelled, f"{bucket}/labelled", server.settings)
        samples.upload(incoming + broken, f"{bucket}/incoming", server.settings)
        print(f"generated {len(labelled)} labelled and {len(incoming) + len(broken)} incoming frames "
              f"({len(broken)} of them broken on purpose) in {time.perf_counter() - started:.1f}s")

        model_dir = str(run_dir / "model")
        _fit_quick_model(spark, settings, uri=f"{bucket}/labelled", layer=layer,
                         weights_source=weights_source, model_dir=model_dir)

        output = str(run_dir / "scores")
        score_settings = dataclasses.replace(settings, score=dataclasses.replace(
            settings.score, input=f"{bucket}/incoming", model=model_dir, output=output))
        summary = run_score(spark, score_settings)
        print(format_summary(summary))
        print()
        print(per_camera_table(spark, output))
        truth = {f"{bucket}/incoming/{frame.relative_path}": LABELS[frame.kind] for frame in incoming}
        print(agreement_with_truth(spark, output, truth))
        print(f"\nscores: {output} (Parquet, partitioned by date and batch); model: {model_dir}")


def _fit_quick_model(spark: SparkSession, settings: Settings, *, uri: str, layer: str, weights_source: str,
                     model_dir: str) -> None:
    started = time.perf_counter()
    weights = load_weights(weights_source, seed=settings.featurizer.seed, s3=settings.s3)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.featurizer.batch_size))
    frames = read_frames(spark, uri, source=settings.source, s3=settings.s3).frames
    decode = DecodeOptions(resample=settings.featurizer.resample, max_pixels=settings.featurizer.max_pixels)
    rows = (featurize_frames(frames, layer=layer, weights=weights, decode=decode, meters=Meters.create(spark))
            .where(F.col("error").isNull()).select("camera_id", "features").collect())
    features = np.array([row["features"] for row in rows], dtype=np.float32)
    labels = np.array([LABELS[row["camera_id"]] for row in rows])
    booster = fit_booster(features, labels, params=DEMO_PARAMS, rounds=50).booster_text
    spec = FeaturizerSpec(layer=layer, weights=weights.identity, weights_source=weights.source)
    manifest = make_manifest(booster, featurizer=spec, label_names=("bus", "car"),
                             training={"frames": len(rows), "source": uri, "note": "demo quick fit"})
    save_model(model_dir, booster, manifest)
    print(f"fitted booster {manifest.model_id} on {len(rows)} labelled frames "
          f"({layer}, weights {weights.identity}) in {time.perf_counter() - started:.1f}s")


def per_camera_table(spark: SparkSession, output: str) -> str:
    """Frames, cars, buses, errors and mean probability per camera, read back from the Parquet."""
    table = (spark.read.parquet(output)
             .groupBy("camera_id")
             .agg(F.count(F.lit(1)).alias("frames"),
                  F.sum((F.col("label_name") == "car").cast("int")).alias("cars"),
                  F.sum((F.col("label_name") == "bus").cast("int")).alias("buses"),
                  F.sum(F.col("error").isNotNull().cast("int")).alias("errors"),
                  F.round(F.avg("probability"), 3).alias("mean_probability"),
                  F.countDistinct("date").alias("days"))
             .orderBy("camera_id")
             .toPandas())
    return table.to_string(index=False)


def agreement_with_truth(spark: SparkSession, output: str, truth: dict[str, int]) -> str:
    """How many scored frames got the label the generator drew."""
    rows = spark.read.parquet(output).where(F.col("error").isNull()).select("path", "label").collect()
    right = sum(truth[row["path"]] == row["label"] for row in rows)
    return f"labels agree with the generated truth on {right} of {len(rows)} scored frames ({right / len(rows):.1%})"
