"""The benchmark: the bare model, the original notebook's method, the scoring job end to end, and parity.

Everything runs in one process on the same cores, with Keras' ResNet50
ImageNet weights (``./submit.sh weights``) and the original notebook's
booster (from the folder CAMSCORE_ORIGINAL names): (a) forward passes on pre-decoded tensors for each runtime and
precision, (b) the original notebook's loop, (c) the scoring job from local
files and (d) from a local object store (SeaweedFS in its own process, boto3 reader), on generated
camera-like frames, each the median of several runs; then parity
against Keras fp32 on real photos (CIFAR-10's cars and trucks, and the seed's
car frames): (i) the original booster's labels and probabilities through the
scoring job, (ii) the training job's CV AUC with each setting's features, and the
int8 featurizer's ImageNet top-1 class against fp32's; then model quality
(tools.model_quality) on photos held apart from those.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import yaml
from pyspark.sql import SparkSession

from camscore.stages import calibration
from camscore.assets.cifar import cars_and_trucks
from camscore.assets.original import OriginalMissing, find_original, require_original
from camscore.config import ScoreSettings, Settings, SourceSettings, SparkSettings, TrainSettings
from camscore.model.conversion import graph_for
from camscore.model.featurizer import featurizer_for
from camscore.assets.imagenet_weights import imagenet_weights_file
from camscore.model.imaging import DecodeOptions, decode_frame
from camscore.model.model_dir import import_booster, load_model
from camscore.model.spec import CoreSpec
from camscore.stages.score import prepare_score, run_score
from camscore.spark.session import spark_session
from camscore.rows import SUMMARY_FILE, FrameRead
from camscore.stages.train import prepare_train, run_train
from camscore.model.weights import load_weights
from camscore.policy import IMPORT_RESAMPLE

from tools import model_quality, samples
from tools.object_store import LocalObjectStore
from tools.processes import cpu_seconds, python_worker_peak_mib, usable_cores

SETTINGS = (("keras", "fp32"), ("keras", "bf16"), ("openvino", "fp32"), ("openvino", "bf16"), ("openvino", "int8"))
REFERENCE = ("keras", "fp32")
PATH_REGEX = r"(?P<camera_id>cam-\d+)[/_](?P<captured_at>\d{8}T\d{6})"
BATCH = 32
# The parity rule: a precision may be the training default when the CV AUC of a booster trained on its features
# stays this close to Keras fp32's, and may score a booster trained on other features when labels agree this often.
AUC_TOLERANCE = 0.005
AGREEMENT = 0.99
PHOTO_LABELS = {"truck": 0, "car": 1}
JOBS = Path(__file__).resolve().parents[1] / "jobs"
SMALL_RUN_REPEATS = 3  # whole processes per frame count in the small-runs table, the median taken


@dataclasses.dataclass(frozen=True, kw_only=True)
class BenchOptions:
    """What to measure.

    Attributes:
        n: frames scored end to end.
        repeats: runs per figure; each figure is their median.
        model_frames: pre-decoded frames per bare-model run.
        original_frames: frames per run of the original notebook's loop (it is slow).
        settings: (runtime, precision) pairs to measure.
        scaling: frame counts for the scaling table (fastest setting, local files).
        small_runs: frame counts scored by a whole ``jobs/score.py`` process each (the default setting, local
            files, warm caches): what a scheduled run waits for, and its fixed and per-frame cost.
        workdir: where frames, models and outputs go.
        master: Spark master.
        booster: the original notebook's booster (predictions layer); None: the one in the folder
            CAMSCORE_ORIGINAL names (the benchmark stops, saying so in one line, without it).
        seed_frames: the folder of the original's real frames, scored beside the photos for parity; None: the
            folder CAMSCORE_ORIGINAL names, or no such frames without it (said in one line).
        quality: measure (b), parity, the CV AUCs, the default they choose and its small runs; without them
            the run measures the speed of every setting alone.
    """

    n: int = 2000
    repeats: int = 3
    model_frames: int = 512
    original_frames: int = 64
    settings: tuple[tuple[str, str], ...] = SETTINGS
    scaling: tuple[int, ...] = ()
    small_runs: tuple[int, ...] = (20, 200)
    workdir: Path = Path("out/bench")
    master: str = "local[2]"
    booster: Path | None = None
    seed_frames: Path | None = None
    quality: bool = True


def cpu_model() -> str:
    """The CPU's model name with what decides ResNet50's speed here: AMX, AVX-512 BF16 and VNNI or not."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or "unknown"
    flags = set(fields.get("flags", "").split())
    features = {"AMX": "amx_tile", "AVX-512 BF16": "avx512_bf16", "AVX-512 VNNI": "avx512_vnni"}
    has = [name for name, flag in features.items() if flag in flags]
    lacks = [name for name in ("AMX", "AVX-512 BF16") if features[name] not in flags]
    return (f"{fields.get('model name', 'unknown')} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}; {', '.join(has) or 'no AVX-512'}"
            f"{'; no ' + ', no '.join(lacks) if lacks else ''})")


def original_inputs(options: BenchOptions, *, booster_needed: bool = True,
                    report: Callable[[str], None] = print) -> BenchOptions:
    """``options`` with the original notebook's booster and frames filled in from CAMSCORE_ORIGINAL where they
    are None; without the setting, the frames are left out, said in one line.

    Raises:
        ConfigError: the booster is needed, none was given and CAMSCORE_ORIGINAL names no folder holding the
            original's files.
    """
    booster = options.booster
    if booster is None and booster_needed:
        booster = require_original().booster
    seed_frames = options.seed_frames
    if seed_frames is None:
        found = find_original()
        if isinstance(found, OriginalMissing):
            report(f"the original notebook's CCTV frames are left out: {found.reason}")
        else:
            seed_frames = found.folder
    return dataclasses.replace(options, booster=booster, seed_frames=seed_frames)


def run_benchmark(options: BenchOptions, *, report: Callable[[str], None] = print) -> dict[str, Any]:
    """Runs every measurement and returns the results (also written as results.json in workdir).

    Raises:
        ConfigError: no booster was given and CAMSCORE_ORIGINAL names no folder holding the original's files.
    """
    options = original_inputs(options, report=report)
    cores = usable_cores()
    workdir = options.workdir
    frames_dir = workdir / f"frames-{options.n}"
    started = time.perf_counter()
    incoming = _generate(frames_dir, lambda: samples.camera_frames(
        cameras=8, days=2, per_day=-(-options.n // 16), start=dt.date(2026, 11, 20))[:options.n])
    weights_file = imagenet_weights_file()
    photos = cars_and_trucks()
    parity_dir = _parity_frames(workdir / ("parity-original" if options.seed_frames else "parity"), photos,
                                options.seed_frames)
    report(f"frames, weights and photos ready ({time.perf_counter() - started:.0f}s)")
    results: dict[str, Any] = {"n": options.n, "repeats": options.repeats, "cores": cores, "cpu": cpu_model(),
                               "batch": BATCH, "weights": str(weights_file), "model": {}, "end_to_end": {}}

    weights = load_weights(str(weights_file))
    decode = DecodeOptions(resample=IMPORT_RESAMPLE)  # the original booster's
    pixels = np.stack([decode_frame(path.read_bytes(), decode)
                       for path in sorted(frames_dir.rglob("*.jpg"))[:options.model_frames]])
    # The original booster's int8 featurizer is calibrated on photos held apart from those it is compared on.
    calibration_frames = calibration.of_folder(cars_and_trucks(batch="data_batch_1"), decode=decode)
    if options.quality:
        originals = sorted(frames_dir.rglob("*.jpg"))[:options.original_frames]
        results["original"] = _median_rate(_original_method(originals, weights), frames=len(originals),
                                           repeats=options.repeats)
        report(f"(b) original notebook loop: {results['original']:.2f} frames/s")

    models = _import_original(workdir / "models", options.booster, weights_file, calibration_frames)
    with LocalObjectStore() as store:
        started = time.perf_counter()
        prefix = f"{store.create_bucket('bench')}/frames"
        samples.upload(incoming, prefix, store.settings)
        inputs = {"local": str(frames_dir.resolve()), "s3": prefix}
        report(f"uploaded {len(incoming)} frames to the local object store ({time.perf_counter() - started:.0f}s)")
        base = Settings(
            spark=SparkSettings(master=options.master, app_name="camscore-bench",
                                conf={"spark.driver.memory": "4g"}),
            s3=store.settings, source=SourceSettings(path_regex=PATH_REGEX))
        probabilities = {}
        for runtime, precision in options.settings:
            name = f"{runtime}-{precision}"
            settings = _with_setting(base, name)
            model_dir = _model_for(models, name)
            # The bare model is timed just before and just after the job, so each ratio compares figures
            # from the same stretch of time (two runs on this machine timed the bare model 16-25% apart).
            time_model = _bare_model(weights, runtime=runtime, precision=precision, pixels=pixels, cores=cores,
                                     calibration_frames=calibration_frames)
            model_seconds = _timed_runs(time_model, repeats=options.repeats)
            measured = _end_to_end(settings, inputs=inputs, model_dir=model_dir, workdir=workdir / "scores" / name,
                                   repeats=options.repeats)
            model_seconds += _timed_runs(time_model, repeats=options.repeats)
            results["model"][name] = len(pixels) / statistics.median(model_seconds)
            del time_model
            report(f"(a) bare model {runtime} {precision}: {results['model'][name]:.1f} frames/s")
            report(f"(c) local {measured['local']:.1f}, (d) s3 {measured['s3']:.1f} frames/s, "
                   f"worker peak {measured['worker_peak_mib']} MiB ({name})")
            results["end_to_end"][name] = measured
            if not options.quality:
                continue
            probabilities[name] = _scored(settings, parity_dir, model_dir, workdir / "parity-scores" / name)
            measured["cv_auc"], measured["cv_resample"] = _cv_auc(settings, photos, weights_file,
                                                                  workdir / "cv" / name)
            report(f"(ii) CV AUC {measured['cv_auc']:.4f} ({name}, resample {measured['cv_resample']})")
        reference = probabilities.get("-".join(REFERENCE))
        if reference is not None:
            for name, values in probabilities.items():
                results["end_to_end"][name]["parity"] = parity(values, reference)
        if options.quality and "openvino-int8" in results["end_to_end"]:
            results["top1"] = top1_agreement(_class_probabilities(models, parity_dir))
            report(f"(iii) int8 keeps fp32's top-1 class on {results['top1']['agreement']:.1%} of the photos")
        if options.scaling:
            results["scaling"] = _scaling(base, _fastest(results), frames_dir, models, workdir, options)
    if not options.quality:
        (workdir / "results.json").write_text(json.dumps(results, indent=2))
        return results
    results["default"] = choose_default(results)
    if options.small_runs and results["default"]["training"]:
        results["small_runs"] = _small_runs(results["default"]["training"], frames_dir, models, workdir, options)
        report(f"small runs: {results['small_runs']}")
    results["model_quality"] = _model_quality(options, report=report)
    (workdir / "results.json").write_text(json.dumps(results, indent=2))
    return results


def run_model_quality(options: BenchOptions, *, report: Callable[[str], None] = print) -> dict[str, Any]:
    """Resize filters and classifiers on CIFAR-10's first training batch (photos held apart from the test
    batch, which the parity and the tests use), the training job's defaults otherwise; beside them, the
    original's CCTV frames where CAMSCORE_ORIGINAL names them (no booster needed)."""
    return _model_quality(original_inputs(options, booster_needed=False, report=report), report=report)


def _model_quality(options: BenchOptions, *, report: Callable[[str], None]) -> dict[str, Any]:
    # Without the original's frames, model quality is measured on the photos alone (an empty folder of frames).
    seed_frames = options.seed_frames or options.workdir / "quality" / "no-original-frames"
    seed_frames.mkdir(parents=True, exist_ok=True)
    settings = Settings(spark=SparkSettings(master=options.master, app_name="camscore-bench-quality",
                                            conf={"spark.driver.memory": "4g"}))
    settings = dataclasses.replace(settings, featurizer=dataclasses.replace(
        settings.featurizer, weights=str(imagenet_weights_file())))
    with _session(settings) as spark:
        results = model_quality.measure(spark, settings, cars_and_trucks(batch="data_batch_1"), labels=PHOTO_LABELS,
                                        seed_frames=seed_frames, workdir=options.workdir / "quality",
                                        report=report)
    return {**results, "cpu": cpu_model(), "cores": usable_cores()}


def top1_agreement(probabilities: dict[str, np.ndarray], *, confident: float = 0.5) -> dict[str, Any]:
    """How often int8 keeps fp32's ImageNet top-1 class: over all frames, and where fp32's top-1
    probability is at least ``confident`` (a near tie between two classes flips on a small shift)."""
    fp32, int8 = probabilities["fp32"], probabilities["int8"]
    same = fp32.argmax(axis=1) == int8.argmax(axis=1)
    sure = fp32.max(axis=1) >= confident
    return {"frames": len(same), "agreement": float(same.mean()), "confident_frames": int(sure.sum()),
            "confident_agreement": float(same[sure].mean()) if sure.any() else float("nan")}


def parity(values: dict[str, float], reference: dict[str, float], *, threshold: float = 0.5) -> dict[str, Any]:
    """Label agreement and |probability difference| (mean, p99, max) over the frames both scored."""
    common = sorted(set(values) & set(reference))
    ours = np.array([values[path] for path in common])
    theirs = np.array([reference[path] for path in common])
    difference = np.abs(ours - theirs)
    return {"frames": len(common),
            "agreement": float(np.mean((ours >= threshold) == (theirs >= threshold))) if common else float("nan"),
            "mean_dp": float(difference.mean()) if common else float("nan"),
            "p99_dp": float(np.percentile(difference, 99)) if common else float("nan"),
            "max_dp": float(difference.max()) if common else float("nan")}


def choose_default(results: dict[str, Any]) -> dict[str, Any]:
    """What the parity rule allows, against Keras fp32.

    training: the fastest OpenVINO setting (end to end from files) whose CV AUC is within AUC_TOLERANCE.
    other_features: the settings that may score a booster trained on other features (labels agree on at
    least AGREEMENT of the frames).
    """
    measured = results["end_to_end"]
    reference = measured.get("-".join(REFERENCE))
    if reference is None:
        return {"training": None, "other_features": []}
    trainable = [name for name, values in measured.items()
                 if name.startswith("openvino-") and abs(values["cv_auc"] - reference["cv_auc"]) <= AUC_TOLERANCE]
    return {"training": max(trainable, key=lambda name: measured[name]["local"], default=None),
            "other_features": [name for name, values in measured.items()
                               if values.get("parity", {}).get("agreement", 0.0) >= AGREEMENT]}


def format_results(results: dict[str, Any]) -> str:
    """The benchmark's tables: frames/s and ratios, parity, and where the cores went, for every setting."""
    original = results.get("original", float("nan"))
    lines = [f"N = {results['n']} frames, {results['cores']} cores of {results['cpu']}, "
             f"median of {results['repeats']} runs",
             f"(b) original notebook loop: {original:.2f} frames/s", "",
             "(d) s3: SeaweedFS, its own process on the same cores",
             f"{'setting':<15} {'(a) model':>9} {'(c) local':>9} {'(d) s3':>7} {'c/a':>5} {'d/a':>5} "
             f"{'c/b':>6} {'peak MiB':>8}"]
    for name, measured in results["end_to_end"].items():
        model = results["model"][name]
        lines.append(
            f"{name:<15} {model:>9.1f} {measured['local']:>9.1f} {measured['s3']:>7.1f} "
            f"{measured['local'] / model:>5.2f} {measured['s3'] / model:>5.2f} "
            f"{measured['local'] / original:>6.1f} {measured['worker_peak_mib']:>8}")
    lines += ["", *_profile_table(results)]
    if "default" not in results:
        return "\n".join(lines)
    lines += ["", "parity against keras-fp32 on real photos: (i) the original booster (imported: frames resized "
                  "with nearest, its own), (ii) CV AUC of a booster trained on the setting's features (resized "
                  "with the training default)",
              f"{'setting':<15} {'frames':>6} {'agree':>7} {'mean|dp|':>8} {'p99|dp|':>8} {'max|dp|':>8} "
              f"{'CV AUC':>7} {'dAUC':>7} {'resample':>8}"]
    reference_auc = results["end_to_end"].get("-".join(REFERENCE), {}).get("cv_auc", float("nan"))
    for name, measured in results["end_to_end"].items():
        agreement = measured.get("parity", {})
        lines.append(f"{name:<15} {agreement.get('frames', 0):>6} {agreement.get('agreement', float('nan')):>7.2%} "
                     f"{agreement.get('mean_dp', float('nan')):>8.4f} {agreement.get('p99_dp', float('nan')):>8.4f} "
                     f"{agreement.get('max_dp', float('nan')):>8.4f} {measured['cv_auc']:>7.4f} "
                     f"{measured['cv_auc'] - reference_auc:>+7.4f} {measured.get('cv_resample', '?'):>8}")
    if results.get("top1"):
        top1 = results["top1"]
        lines.append(f"(iii) the int8 featurizer keeps fp32's ImageNet top-1 class on {top1['agreement']:.1%} of "
                     f"{top1['frames']} frames, {top1['confident_agreement']:.1%} of the {top1['confident_frames']} "
                     f"where fp32's top-1 probability is at least 0.5")
    default = results["default"]
    lines.append(f"training default by the parity rule (|dAUC| <= {AUC_TOLERANCE}, fastest): {default['training']}")
    lines.append(f"may score a booster trained on other features (agree >= {AGREEMENT:.0%}): "
                 f"{', '.join(default['other_features']) or 'none'}")
    chosen, reference = results["default"]["training"], "-".join(REFERENCE)
    if chosen and reference in results["end_to_end"]:
        ours, theirs = results["end_to_end"][chosen], results["end_to_end"][reference]
        lines += ["", f"the default ({chosen}) against {reference}: bare model "
                      f"{results['model'][chosen] / results['model'][reference]:.1f}x, end to end "
                      f"{ours['local'] / theirs['local']:.1f}x from files, {ours['s3'] / theirs['s3']:.1f}x from S3"]
    if results.get("small_runs"):
        small = results["small_runs"]
        lines += ["", f"small runs: whole jobs/score.py processes ({small['setting']}, local files, warm caches, "
                      f"median of {SMALL_RUN_REPEATS}): fixed {small['fixed_seconds']:.1f}s, "
                      f"{small['ms_per_frame']:.2f} ms a frame",
                  f"{'N':>6} {'process':>8} {'start+stop':>10} {'load_model':>10} {'list':>6} {'score+write':>11}"]
        for point in small["points"]:
            lines.append(f"{point['n']:>6} {point['process']:>8.2f} {point['start_and_stop']:>10.2f} "
                         f"{point['load_model']:>10.2f} {point['list']:>6.2f} {point['score_and_write']:>11.2f}")
    if results.get("scaling"):
        lines += ["", f"scaling ({results['scaling']['setting']}, local files): "
                      f"fixed {results['scaling']['fixed_seconds']:.1f}s, "
                      f"{results['scaling']['ms_per_frame']:.2f} ms a frame",
                  f"{'N':>6} {'seconds':>8} {'frames/s':>9}"]
        for point in results["scaling"]["points"]:
            lines.append(f"{point['n']:>6} {point['seconds']:>8.1f} {point['frames_per_second']:>9.1f}")
    if results.get("model_quality"):
        lines += ["", model_quality.format_quality(results["model_quality"])]
    return "\n".join(lines)


def _profile_table(results: dict[str, Any]) -> list[str]:
    lines = ["where the cores went in the median run, core-ms a frame (wall: ms a frame; the rest add up to "
             "cores × wall; store: SeaweedFS's process)",
             f"{'setting':<15} {'input':<6} {'wall':>6} {'jvm':>6} {'fetch':>6} {'decode':>6} {'signal':>6} "
             f"{'model':>6} {'classify':>8} {'other':>6} {'store':>6} {'driver':>6} {'idle':>6}"]
    for name, measured in results["end_to_end"].items():
        for label, profile in measured["profile"].items():
            split = profile["core_ms_per_frame"]
            wall = 1000 * profile["seconds"] / max(profile["frames"], 1)
            lines.append(f"{name:<15} {label:<6} {wall:>6.2f} {split['jvm']:>6.2f} {split['fetch']:>6.2f} "
                         f"{split['decode']:>6.2f} {split.get('signals', 0.0):>6.2f} {split['featurize']:>6.2f} "
                         f"{split['classify']:>8.2f} "
                         f"{split['worker_other']:>6.2f} {split.get('store', 0.0):>6.2f} {split['driver']:>6.2f} "
                         f"{split['idle']:>6.2f}")
    shares = [f"{name} {signal_share(measured['profile']['local']):.1%}"
              for name, measured in results["end_to_end"].items() if "local" in measured["profile"]]
    if shares:
        lines.append("picture signals' share of a frame's CPU (local files, all processes): " + ", ".join(shares))
    return lines


def signal_share(profile: dict[str, Any]) -> float:
    """The picture signals' share of the CPU a frame took in a run (every process's, idle left out)."""
    split = profile["core_ms_per_frame"]
    return split.get("signals", 0.0) / max(sum(value for name, value in split.items() if name != "idle"), 1e-9)


def _parity_frames(folder: Path, photos: Path, seed_frames: Path | None) -> Path:
    """The photos, and the original's car frames where they are, in one folder to score (written once)."""
    done = folder / "_complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(photos, folder, ignore=shutil.ignore_patterns("_complete"))
        for path in sorted(seed_frames.glob("car_*.png")) if seed_frames else []:
            (folder / "seed").mkdir(exist_ok=True)
            shutil.copyfile(path, folder / "seed" / path.name)
        done.touch()
    return folder


def _import_original(folder: Path, booster: Path, weights_file: Path, calibration_frames: np.ndarray) -> dict[str, str]:
    """The original booster as model directories by precision: OpenVINO fp32 (also scored as bf16 and by
    Keras, from the weights) and int8."""
    models = {}
    for precision in ("fp32", "int8"):
        directory = folder / f"original-{precision}"
        shutil.rmtree(directory, ignore_errors=True)
        import_booster(str(booster), str(directory), layer="predictions", weights=str(weights_file),
                       precision=precision, calibration=calibration_frames if precision == "int8" else None)
        models[precision] = str(directory)
    return models


def _class_probabilities(models: dict[str, str], frames: Path) -> dict[str, np.ndarray]:
    """ImageNet's class probabilities of every frame under ``frames`` from the original booster's fp32 and int8
    featurizers, each as its model directory is scored (its OpenVINO model, its resize filter)."""
    paths = sorted(frames.rglob("*.png"))
    found = {}
    reads = [FrameRead(path.read_bytes()) for path in paths]
    for precision in ("fp32", "int8"):
        core = CoreSpec.from_model(load_model(models[precision]), Settings(), carried_only=True).build()
        found[precision] = np.concatenate([core.featurize(reads[start:start + BATCH]).features
                                           for start in range(0, len(reads), BATCH)])
    return found


def _model_for(models: dict[str, str], setting: str) -> str:
    return models["int8" if setting.endswith("-int8") else "fp32"]


def _with_setting(settings: Settings, setting: str) -> Settings:
    runtime, precision = setting.split("-")
    return dataclasses.replace(settings, featurizer=dataclasses.replace(
        settings.featurizer, runtime=runtime, precision=precision))


@contextlib.contextmanager
def _session(settings: Settings) -> Iterator[SparkSession]:
    """A Spark session of its own (fresh Python workers), stopped afterwards."""
    spark = spark_session(settings.spark)
    try:
        yield spark
    finally:
        spark.stop()


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


def _bare_model(weights, *, runtime: str, precision: str, pixels: np.ndarray, cores: int,
                calibration_frames: np.ndarray) -> Callable[[], None]:
    """Forward passes over pre-decoded frames in batches, on all cores, after one warm-up batch."""
    # The original booster's featurizer, as import-booster makes it.
    featurizer = featurizer_for(graph_for(weights, layer="predictions", runtime=runtime, precision=precision,
                                          calibration=calibration_frames if precision == "int8" else None,
                                          faithful=True), threads=cores)
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


def _end_to_end(settings: Settings, *, inputs: dict[str, str], model_dir: str, workdir: Path,
                repeats: int) -> dict[str, Any]:
    """Median frames/s of the scoring job per input, in a fresh Spark session (fresh Python workers)."""
    measured: dict[str, Any] = {}
    with _session(settings) as spark:
        for label, uri in inputs.items():
            runs = []
            for attempt in range(repeats):
                output = workdir / f"{label}-{attempt}"
                shutil.rmtree(output, ignore_errors=True)
                run_settings = dataclasses.replace(settings, score=ScoreSettings(input=uri, model=model_dir,
                                                                                 output=str(output)))
                before, started = cpu_seconds(), time.perf_counter()
                summary = run_score(spark, prepare_score(run_settings))
                runs.append(cpu_profile(frames=summary.frames_read, worker_seconds=summary.worker_seconds,
                                        seconds=time.perf_counter() - started, before=before,
                                        after=cpu_seconds(), cores=usable_cores()))
            median = sorted(runs, key=lambda profile: profile["seconds"])[len(runs) // 2]  # the upper median
            measured[label] = median["frames"] / median["seconds"]
            measured.setdefault("profile", {})[label] = median
        measured["worker_peak_mib"] = python_worker_peak_mib()
    return measured


def cpu_profile(*, frames: int, worker_seconds: dict[str, float], seconds: float, before: dict[str, float],
                after: dict[str, float], cores: int) -> dict[str, Any]:
    """Where one scoring run's core time went, in core-milliseconds a frame.

    ``fetch``, ``decode``, ``signals`` (picture signals and the bytes' hash),
    ``featurize`` and ``classify`` are the CPU the workers spent in those
    stages; ``worker_other`` is the rest of the workers' CPU (Arrow, pandas,
    model setup); ``store`` the local object store's; ``idle`` is what no
    process used.
    """
    used = {name: after[name] - before[name] for name in after}
    stages = worker_seconds
    staged = sum(stages.get(name, 0.0) for name in ("fetch", "decode", "signals", "featurize",
                                                     "classify"))
    split = {
        "jvm": used["jvm"],
        "fetch": stages["fetch"],
        "decode": stages["decode"],
        "signals": stages.get("signals", 0.0),
        "featurize": stages["featurize"],
        "classify": stages["classify"],
        "worker_other": max(used["workers"] - staged, 0.0),
        "store": used.get("store", 0.0),
        "driver": used["driver"],
    }
    split["idle"] = max(cores * seconds - sum(split.values()), 0.0)
    return {"frames": frames, "seconds": seconds, "cores": cores,
            "core_ms_per_frame": {name: round(1000 * value / max(frames, 1), 2) for name, value in split.items()}}


def _scored(settings: Settings, frames: Path, model_dir: str, output: Path) -> dict[str, float]:
    """The scoring job's probability for every frame under ``frames`` that scored."""
    shutil.rmtree(output, ignore_errors=True)
    with _session(settings) as spark:
        run_score(spark, prepare_score(dataclasses.replace(settings, score=ScoreSettings(
            input=str(frames.resolve()), model=model_dir, output=str(output)))))
        rows = spark.read.parquet(str(output)).select("path", "probability").collect()
    return {row["path"]: row["probability"] for row in rows if row["probability"] is not None}


def _cv_auc(settings: Settings, photos: Path, weights_file: Path, model_out: Path) -> tuple[float, str]:
    """Mean CV AUC of the training job on the photos, featurizing with these settings (avg_pool and the resize
    filter of its defaults; int8 calibrated on the photos, as training does), and that filter."""
    run = dataclasses.replace(
        settings, featurizer=dataclasses.replace(settings.featurizer, weights=str(weights_file)),
        train=TrainSettings(input=str(photos.resolve()), model_out=str(model_out), labels=PHOTO_LABELS))
    with _session(settings) as spark:
        result = run_train(spark, prepare_train(run))
    return float(np.mean([fold.auc for fold in result.folds])), result.manifest.featurizer.resample


def _fastest(results: dict[str, Any]) -> str:
    return max(results["end_to_end"], key=lambda name: results["end_to_end"][name]["local"])


def _subset(frames_dir: Path, n: int, folder: Path) -> Path:
    """``n`` of the generated frames (repeated under new names past their number) in a folder of their own,
    written once."""
    if not (folder / "_complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        paths = sorted(frames_dir.rglob("*.jpg"))
        for index in range(n):
            path = paths[index % len(paths)]
            target = folder / path.parent.name / f"{path.stem}-{index:05d}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        (folder / "_complete").touch()
    return folder


def _small_runs(setting: str, frames_dir: Path, models: dict[str, str], workdir: Path,
                options: BenchOptions) -> dict[str, Any]:
    """Whole ``jobs/score.py`` processes as a scheduler starts them (conf/local.yaml, local files), after one
    run that warms the disk and the converted-model caches: per frame count the median process seconds and its
    stages; a line through the counts gives the fixed and the per-frame cost."""
    model_dir = _model_for(models, setting)
    runtime, precision = setting.split("-")
    config = yaml.safe_load((JOBS.parent / "conf/local.yaml").read_text())
    config["featurizer"].update(runtime=runtime, precision=precision)
    config_file = workdir / "small-runs.yaml"
    config_file.write_text(yaml.safe_dump(config))
    points = []
    for index, n in enumerate(options.small_runs):
        subset = _subset(frames_dir, n, workdir / f"small-{n}")
        runs = []
        for attempt in range(SMALL_RUN_REPEATS + (index == 0)):
            output = workdir / "small-scores" / f"{n}-{attempt}"
            shutil.rmtree(output, ignore_errors=True)
            started = time.perf_counter()
            subprocess.run([sys.executable, str(JOBS / "score.py"), "--config", str(config_file),
                            "--input", str(subset.resolve()), "--model", model_dir, "--output", str(output),
                            "--master", options.master],
                           check=True, capture_output=True, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
            seconds = time.perf_counter() - started
            stages = json.loads((output / SUMMARY_FILE).read_text())["seconds"]
            runs.append({"process": seconds, **{name: stages[name] for name in ("load_model", "list",
                                                                                  "score_and_write")},
                         "start_and_stop": seconds - stages["total"]})
        runs = runs[1:] if index == 0 else runs  # the first warms the caches
        points.append({"n": n, **{name: statistics.median(run[name] for run in runs) for name in runs[0]}})
    slope, intercept = np.polyfit([p["n"] for p in points], [p["process"] for p in points], 1) \
        if len(points) > 1 else (float("nan"), float("nan"))
    return {"setting": setting, "points": points, "fixed_seconds": float(intercept),
            "ms_per_frame": float(slope * 1000)}


def _scaling(base: Settings, setting: str, frames_dir: Path, models: dict[str, str], workdir: Path,
             options: BenchOptions) -> dict[str, Any]:
    """Seconds of the scoring job for several frame counts; a line through them gives the fixed and
    per-frame cost."""
    settings = _with_setting(base, setting)
    points = []
    for n in options.scaling:
        subset = _subset(frames_dir, n, workdir / f"scaling-{n}")
        started = time.perf_counter()
        measured = _end_to_end(settings, inputs={"local": str(subset.resolve())},
                               model_dir=_model_for(models, setting),
                               workdir=workdir / "scaling-scores" / str(n), repeats=options.repeats)
        points.append({"n": n, "frames_per_second": measured["local"], "seconds": n / measured["local"],
                       "with_session_seconds": time.perf_counter() - started})
    slope, intercept = np.polyfit([p["n"] for p in points], [p["seconds"] for p in points], 1)
    return {"setting": setting, "points": points, "fixed_seconds": float(intercept),
            "ms_per_frame": float(slope * 1000)}
