"""The benchmark: the bare model, the original notebook's method, and the scoring job end to end.

Everything runs in one process on the same cores, on frames generated once:
(a) forward passes on pre-decoded tensors for each runtime and precision,
(b) the original notebook's loop, (c) the scoring job from local files
(binaryFile) and (d) from the embedded S3 server (boto3 reader), each the
median of several runs, plus parity against Keras fp32 and the scaling of
the job with the number of frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from camscore import samples
from camscore.classifier import make_manifest, save_model
from camscore.config import FeaturizerSettings, ScoreSettings, Settings, SourceSettings, SparkSettings, TrainSettings
from camscore.featurizer import Featurizer, FeaturizerSpec, load_weights, make_graph
from camscore.imaging import DecodeOptions, decode_frame
from camscore.processes import cpu_seconds, python_worker_peak_mib, usable_cores
from camscore.score_job import run_score
from camscore.session import spark_session
from camscore.train_job import run_train
from camscore.training import fit_booster

SETTINGS = (("keras", "fp32"), ("keras", "bf16"), ("openvino", "fp32"), ("openvino", "bf16"))
REFERENCE = ("keras", "fp32")
PATH_REGEX = r"(?P<camera_id>cam-\d+)[/_](?P<captured_at>\d{8}T\d{6})"
BATCH = 32


@dataclasses.dataclass(frozen=True, kw_only=True)
class BenchOptions:
    """What to measure.

    Attributes:
        n: frames scored end to end.
        repeats: runs per figure; each figure is their median.
        model_frames: pre-decoded frames per bare-model run.
        original_frames: frames per run of the original notebook's loop (it is slow).
        labelled_per_class: labelled frames per class for the booster and the CV AUC.
        settings: (runtime, precision) pairs to measure.
        scaling: frame counts for the scaling table (fastest setting, local files).
        workdir: where frames, models and outputs go.
        master: Spark master.
    """

    n: int = 2000
    repeats: int = 3
    model_frames: int = 512
    original_frames: int = 64
    labelled_per_class: int = 150
    settings: tuple[tuple[str, str], ...] = SETTINGS
    scaling: tuple[int, ...] = ()
    workdir: Path = Path("out/bench")
    master: str = "local[2]"


def run_benchmark(options: BenchOptions, *, report: Callable[[str], None] = print) -> dict[str, Any]:
    """Runs every measurement and returns the results (also written as results.json in workdir)."""
    cores = usable_cores()
    workdir = options.workdir
    frames_dir, labelled_dir = workdir / f"frames-{options.n}", workdir / "labelled"
    started = time.perf_counter()
    incoming = _generate(frames_dir, lambda: samples.camera_frames(
        cameras=8, days=2, per_day=-(-options.n // 16), start=dt.date(2026, 11, 20))[:options.n])
    _generate(labelled_dir, lambda: samples.labelled_tracks(
        per_class=options.labelled_per_class, cameras=8, frames_per_track=5, start=dt.date(2026, 11, 10)))
    report(f"frames ready in {workdir} ({time.perf_counter() - started:.0f}s)")
    results: dict[str, Any] = {"n": options.n, "repeats": options.repeats, "cores": cores,
                               "batch": BATCH, "model": {}, "end_to_end": {}}

    weights = load_weights("none", seed=0)
    pixels = np.stack([decode_frame(path.read_bytes(), DecodeOptions())
                       for path in sorted(frames_dir.rglob("*.jpg"))[:options.model_frames]])
    originals = sorted(frames_dir.rglob("*.jpg"))[:options.original_frames]
    results["original"] = _median_rate(_original_method(originals, weights), frames=len(originals),
                                       repeats=options.repeats)
    report(f"(b) original notebook loop: {results['original']:.2f} frames/s")

    model_dir = _fit_model(workdir / "model", labelled_dir, weights)
    with samples.EmbeddedS3() as server:
        bucket = server.create_bucket("bench")
        started = time.perf_counter()
        samples.upload(incoming, f"{bucket}/frames", server.settings)
        report(f"uploaded {len(incoming)} frames to the embedded S3 server ({time.perf_counter() - started:.0f}s)")
        base = Settings(
            spark=SparkSettings(master=options.master, app_name="camscore-bench",
                                conf={"spark.driver.memory": "4g"}),
            s3=server.settings, source=SourceSettings(path_regex=PATH_REGEX),
            featurizer=FeaturizerSettings(weights="none"))
        probabilities = {}
        for runtime, precision in options.settings:
            name = f"{runtime}-{precision}"
            settings = dataclasses.replace(base, featurizer=dataclasses.replace(
                base.featurizer, runtime=runtime, precision=precision))
            # The bare model is timed just before and just after the job, so each ratio compares figures
            # from the same stretch of time (two runs on this machine timed the bare model 16-25% apart).
            time_model = _bare_model(weights, runtime=runtime, precision=precision, pixels=pixels, cores=cores)
            model_seconds = _timed_runs(time_model, repeats=options.repeats)
            measured = _end_to_end(settings, inputs={"local": str(frames_dir.resolve()), "s3": f"{bucket}/frames"},
                                   model_dir=model_dir, workdir=workdir / "scores" / name, repeats=options.repeats)
            model_seconds += _timed_runs(time_model, repeats=options.repeats)
            results["model"][name] = len(pixels) / statistics.median(model_seconds)
            del time_model
            report(f"(a) bare model {runtime} {precision}: {results['model'][name]:.1f} frames/s")
            probabilities[name] = measured.pop("probabilities")
            measured["cv_auc"] = _cv_auc(settings, labelled_dir, workdir / "cv" / name)
            results["end_to_end"][name] = measured
            report(f"(c) local {measured['local']:.1f}, (d) s3 {measured['s3']:.1f} frames/s, "
                   f"worker peak {measured['worker_peak_mib']} MiB, CV AUC {measured['cv_auc']:.4f} ({name})")
        reference = probabilities.get("-".join(REFERENCE))
        for name, values in probabilities.items():
            if reference is not None:
                results["end_to_end"][name]["max_probability_difference"] = max(
                    abs(values[path] - reference[path]) for path in reference)
        if options.scaling:
            results["scaling"] = _scaling(base, _fastest(results), frames_dir, model_dir, workdir, options)
    results["default"] = choose_default(results)
    (workdir / "results.json").write_text(json.dumps(results, indent=2))
    return results


def choose_default(results: dict[str, Any]) -> str | None:
    """The fastest setting whose probabilities stay within 0.01 of Keras fp32 and whose CV AUC moves by
    less than 0.002."""
    reference = results["end_to_end"].get("-".join(REFERENCE))
    if reference is None:
        return None
    eligible = [name for name, measured in results["end_to_end"].items()
                if measured.get("max_probability_difference", 1.0) <= 0.01
                and abs(measured["cv_auc"] - reference["cv_auc"]) < 0.002]
    return max(eligible, key=lambda name: results["end_to_end"][name]["local"], default=None)


def format_results(results: dict[str, Any]) -> str:
    """The benchmark's table: frames/s, ratios, memory and parity for every setting."""
    lines = [f"N = {results['n']} frames, {results['cores']} cores, median of {results['repeats']} runs",
             f"(b) original notebook loop: {results['original']:.2f} frames/s", "",
             f"{'setting':<15} {'(a) model':>9} {'(c) local':>9} {'(d) s3':>7} {'c/a':>5} {'d/a':>5} "
             f"{'c/b':>6} {'peak MiB':>8} {'max |dp|':>9} {'CV AUC':>7}"]
    for name, measured in results["end_to_end"].items():
        model = results["model"][name]
        lines.append(
            f"{name:<15} {model:>9.1f} {measured['local']:>9.1f} {measured['s3']:>7.1f} "
            f"{measured['local'] / model:>5.2f} {measured['s3'] / model:>5.2f} "
            f"{measured['local'] / results['original']:>6.1f} {measured['worker_peak_mib']:>8} "
            f"{measured.get('max_probability_difference', float('nan')):>9.4f} {measured['cv_auc']:>7.4f}")
    lines.append(f"default by the parity rule: {results['default']}")
    lines += ["", "where the cores went in the median run, core-ms a frame "
                  "(wall: ms a frame; the rest add up to cores × wall; driver includes the embedded S3 server)",
              f"{'setting':<15} {'input':<6} {'wall':>6} {'jvm':>6} {'fetch':>6} {'decode':>6} {'model':>6} "
              f"{'classify':>8} {'other':>6} {'driver':>6} {'idle':>6}"]
    for name, measured in results["end_to_end"].items():
        for label, profile in measured["profile"].items():
            split = profile["core_ms_per_frame"]
            wall = 1000 * profile["seconds"] / max(profile["frames"], 1)
            lines.append(f"{name:<15} {label:<6} {wall:>6.2f} {split['jvm']:>6.2f} {split['fetch']:>6.2f} "
                         f"{split['decode']:>6.2f} {split['featurize']:>6.2f} {split['classify']:>8.2f} "
                         f"{split['worker_other']:>6.2f} {split['driver']:>6.2f} {split['idle']:>6.2f}")
    if results.get("scaling"):
        lines += ["", f"scaling ({results['scaling']['setting']}, local files): "
                      f"fixed {results['scaling']['fixed_seconds']:.1f}s, "
                      f"{results['scaling']['ms_per_frame']:.2f} ms a frame",
                  f"{'N':>6} {'seconds':>8} {'frames/s':>9}"]
        for point in results["scaling"]["points"]:
            lines.append(f"{point['n']:>6} {point['seconds']:>8.1f} {point['frames_per_second']:>9.1f}")
    return "\n".join(lines)


def _generate(folder: Path, make: Callable[[], list[samples.SampleFrame]]) -> list[samples.SampleFrame]:
    """Frames generated once: a finished folder is reused by later runs."""
    done = folder / "_complete"
    if done.exists():
        return [samples.SampleFrame(str(path.relative_to(folder)), path.read_bytes(), "")
                for path in sorted(folder.rglob("*.jpg"))]
    shutil.rmtree(folder, ignore_errors=True)
    frames = make()
    samples.write_local(frames, folder)
    done.touch()
    return frames


def _timed_runs(work: Callable[[], object], *, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return seconds


def _median_rate(work: Callable[[], object], *, frames: int, repeats: int) -> float:
    return frames / statistics.median(_timed_runs(work, repeats=repeats))


def _bare_model(weights, *, runtime: str, precision: str, pixels: np.ndarray, cores: int) -> Callable[[], None]:
    """Forward passes over pre-decoded frames in batches, on all cores, after one warm-up batch."""
    featurizer = Featurizer(make_graph(weights, layer="avg_pool", runtime=runtime, precision=precision),
                            threads=cores)
    featurizer(pixels[:BATCH])  # graph tracing, kernel selection

    def run() -> None:
        for start in range(0, len(pixels), BATCH):
            featurizer(pixels[start:start + BATCH])
    return run


def _original_method(paths: list[Path], weights) -> Callable[[], None]:
    """The notebook's loop: Keras load_img per file, predict_on_batch on the growing batch inside the
    inner loop, ResNet50 with its top."""
    import keras
    from keras.applications.resnet50 import preprocess_input

    model = keras.applications.ResNet50(weights=None, include_top=True)
    model.set_weights(list(weights.arrays))

    def run() -> None:
        for start in range(0, len(paths), BATCH):
            batch = []
            for path in paths[start:start + BATCH]:
                image = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(224, 224)))
                batch.append(preprocess_input(image))
                features = model.predict_on_batch(np.array(batch))
            assert len(features) == len(batch)
    return run


def _fit_model(directory: Path, labelled_dir: Path, weights) -> str:
    """A booster on Keras fp32 features of the labelled frames, fitted in this process."""
    featurizer = Featurizer(make_graph(weights, layer="avg_pool"))
    paths = sorted(labelled_dir.rglob("*.jpg"))
    features = np.concatenate([featurizer(np.stack([decode_frame(p.read_bytes(), DecodeOptions())
                                                    for p in paths[i:i + BATCH]]))
                               for i in range(0, len(paths), BATCH)])
    labels = np.array([samples.KINDS.index(path.parent.name) for path in paths])
    fit = fit_booster(features, labels, params={"min_child_weight": 1.0, "num_leaves": 15}, rounds=60)
    spec = FeaturizerSpec(layer="avg_pool", weights=weights.identity, weights_source="none")
    save_model(str(directory), fit.booster_text, make_manifest(fit.booster_text, featurizer=spec))
    return str(directory)


def _end_to_end(settings: Settings, *, inputs: dict[str, str], model_dir: str, workdir: Path,
                repeats: int) -> dict[str, Any]:
    """Median frames/s of the scoring job per input, in a fresh Spark session (fresh Python workers)."""
    spark = spark_session(settings.spark)
    measured: dict[str, Any] = {}
    try:
        for label, uri in inputs.items():
            runs = []
            for attempt in range(repeats):
                output = workdir / f"{label}-{attempt}"
                shutil.rmtree(output, ignore_errors=True)
                run = dataclasses.replace(settings, score=ScoreSettings(input=uri, model=model_dir,
                                                                        output=str(output)))
                before, started = cpu_seconds(), time.perf_counter()
                summary = run_score(spark, run)
                runs.append(cpu_profile(summary, seconds=time.perf_counter() - started, before=before,
                                        after=cpu_seconds(), cores=usable_cores()))
            median = sorted(runs, key=lambda profile: profile["seconds"])[len(runs) // 2]  # the upper median
            measured[label] = median["frames"] / median["seconds"]
            measured.setdefault("profile", {})[label] = median
        rows = spark.read.parquet(str(workdir / "local-0")).select("path", "probability").collect()
        measured["probabilities"] = {row["path"]: row["probability"] for row in rows}
        measured["worker_peak_mib"] = python_worker_peak_mib()
    finally:
        spark.stop()
    return measured


def cpu_profile(summary: dict[str, Any], *, seconds: float, before: dict[str, float], after: dict[str, float],
                cores: int) -> dict[str, Any]:
    """Where one scoring run's core time went, in core-milliseconds a frame.

    ``fetch``, ``decode``, ``featurize`` and ``classify`` are the CPU the
    workers spent in those stages; ``worker_other`` is the rest of the workers'
    CPU (Arrow, pandas, model setup); ``idle`` is what no process used.
    """
    frames = max(summary["frames_read"], 1)
    used = {name: after[name] - before[name] for name in after}
    stages = summary["worker_seconds"]
    staged = sum(stages[name] for name in ("fetch", "decode", "featurize", "classify"))
    split = {
        "jvm": used["jvm"],
        "fetch": stages["fetch"],
        "decode": stages["decode"],
        "featurize": stages["featurize"],
        "classify": stages["classify"],
        "worker_other": max(used["workers"] - staged, 0.0),
        "driver": used["driver"],
    }
    split["idle"] = max(cores * seconds - sum(split.values()), 0.0)
    return {"frames": summary["frames_read"], "seconds": seconds, "cores": cores,
            "core_ms_per_frame": {name: round(1000 * value / frames, 2) for name, value in split.items()}}


def _cv_auc(settings: Settings, labelled_dir: Path, model_out: Path) -> float:
    """Mean CV AUC of the training job featurizing with these settings."""
    spark = spark_session(settings.spark)
    try:
        run = dataclasses.replace(settings, train=TrainSettings(
            input=str(labelled_dir.resolve()), model_out=str(model_out),
            params={"min_child_weight": 1.0, "num_leaves": 15}, rounds=60))
        result = run_train(spark, run)
    finally:
        spark.stop()
    return float(np.mean([fold.auc for fold in result.folds]))


def _fastest(results: dict[str, Any]) -> str:
    return max(results["end_to_end"], key=lambda name: results["end_to_end"][name]["local"])


def _scaling(base: Settings, setting: str, frames_dir: Path, model_dir: str, workdir: Path,
             options: BenchOptions) -> dict[str, Any]:
    """Seconds of the scoring job for several frame counts; a line through them gives the fixed and
    per-frame cost."""
    runtime, precision = setting.split("-")
    settings = dataclasses.replace(base, featurizer=dataclasses.replace(
        base.featurizer, runtime=runtime, precision=precision))
    paths = sorted(frames_dir.rglob("*.jpg"))
    points = []
    for n in options.scaling:
        subset = workdir / f"scaling-{n}"
        if not (subset / "_complete").exists():
            shutil.rmtree(subset, ignore_errors=True)
            frames = [paths[i % len(paths)] for i in range(n)]
            for index, path in enumerate(frames):
                target = subset / path.parent.name / f"{path.stem}-{index:05d}.jpg"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            (subset / "_complete").touch()
        started = time.perf_counter()
        measured = _end_to_end(settings, inputs={"local": str(subset.resolve())}, model_dir=model_dir,
                               workdir=workdir / "scaling-scores" / str(n), repeats=options.repeats)
        points.append({"n": n, "frames_per_second": measured["local"], "seconds": n / measured["local"],
                       "with_session_seconds": time.perf_counter() - started})
    slope, intercept = np.polyfit([p["n"] for p in points], [p["seconds"] for p in points], 1)
    return {"setting": setting, "points": points, "fixed_seconds": float(intercept),
            "ms_per_frame": float(slope * 1000)}
