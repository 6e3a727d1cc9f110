"""Synthetic CCTV frames, for demos, tests and benchmarks.

Frames are 960x576 JPEGs of a street seen from a fixed camera: a car (label 1)
or a bus (label 0) at a random place, size and colour, under random lighting,
sensor noise and partial occlusion, so that telling them apart is learnable
but not trivial.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from camscore import storage
from camscore.config import S3Settings

WIDTH, HEIGHT = 960, 576
KINDS = ("bus", "car")


def draw_frame(kind: str, rng: np.random.Generator, *, scene: int | None = None, vehicle: int | None = None,
               position: float | None = None, width: int = WIDTH, height: int = HEIGHT, light: float | None = None,
               blur: float | None = None, noise: float | None = None, horizon: float | None = None,
               size: float = 1.0) -> Image.Image:
    """One synthetic frame showing a vehicle of ``kind`` (bus or car).

    Args:
        kind: bus or car.
        rng: draws lighting, noise, occluders, and whatever the seeds below leave open.
        scene: seed of the background (one camera's view); None draws a new one.
        vehicle: seed of the vehicle's look (one vehicle seen in several frames); None draws a new one.
        position: where the vehicle is, 0 (entering on the left) to 1 (leaving on the right); None: anywhere.
        light: the gain on every pixel (daylight about 1); None: drawn between 0.5 and 1.3.
        blur: the Gaussian blur radius of the optics, in pixels of a 960-wide frame; None: drawn up to 1.5.
        noise: the sensor noise's standard deviation, in levels of 255; None: drawn between 3 and 14.
        horizon: where the horizon is, a share of the height from the top; None: the scene draws it (0.3-0.45).
        size: the vehicle's size against the usual (a camera farther from the street sees smaller ones).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    scene_rng = np.random.default_rng(scene) if scene is not None else rng
    vehicle_rng = np.random.default_rng(vehicle) if vehicle is not None else rng
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * (scene_rng.uniform(0.3, 0.45) if horizon is None else horizon))
    sky = tuple(int(v) for v in scene_rng.integers(90, 200, 3))
    draw.rectangle([0, 0, width, horizon], fill=sky)
    for _ in range(scene_rng.integers(3, 8)):  # buildings along the horizon
        left = int(scene_rng.uniform(0, width))
        top = int(horizon - scene_rng.uniform(20, horizon * 0.9))
        draw.rectangle([left, top, left + int(scene_rng.uniform(60, 200)), horizon],
                       fill=tuple(int(v) for v in scene_rng.integers(60, 160, 3)))
    road = int(scene_rng.integers(70, 120))
    draw.rectangle([0, horizon, width, height], fill=(road, road, road + 5))
    for x in range(0, width, 120):  # lane markings
        y = int(horizon + (height - horizon) * 0.55)
        draw.rectangle([x, y, x + 60, y + 6], fill=(220, 220, 200))

    scale = vehicle_rng.uniform(0.6, 1.2) * size
    bottom = int(horizon + 80 + vehicle_rng.uniform(0, 1) * (height - 90 - horizon))
    place = position if position is not None else rng.uniform(0, 1)
    draw_vehicle = _draw_car if kind == "car" else _draw_bus
    draw_vehicle(draw, vehicle_rng, scale=scale, bottom=bottom, width=width, position=place)
    for _ in range(rng.integers(0, 3)):  # occluders: poles, signs, pedestrians
        left = int(rng.uniform(0, width))
        top = int(rng.uniform(horizon - 40, height - 60))
        draw.rectangle([left, top, left + int(rng.uniform(10, 90)), top + int(rng.uniform(40, 260))],
                       fill=tuple(int(v) for v in rng.integers(20, 200, 3)))
    radius = rng.uniform(0.0, 1.5) if blur is None else blur
    image = image.filter(ImageFilter.GaussianBlur(radius * width / WIDTH))
    pixels = np.asarray(image, dtype=np.float32)
    gain = rng.uniform(0.5, 1.3) if light is None else light
    pixels = pixels * gain + rng.normal(0.0, rng.uniform(3, 14) if noise is None else noise, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _draw_car(draw: ImageDraw.ImageDraw, rng: np.random.Generator, *, scale: float, bottom: int,
              width: int, position: float) -> None:
    length, height = rng.uniform(170, 280) * scale, rng.uniform(55, 80) * scale
    left = -0.2 * length + position * (width - 0.6 * length)
    colour = tuple(int(v) for v in rng.integers(0, 255, 3))
    body_top = bottom - height
    draw.rounded_rectangle([left, body_top, left + length, bottom - 12 * scale], radius=int(14 * scale),
                           fill=colour)
    cabin_top = body_top - height * rng.uniform(0.55, 0.8)
    inset = length * rng.uniform(0.15, 0.25)
    draw.polygon([(left + inset, body_top), (left + inset * 1.6, cabin_top),
                  (left + length - inset * 1.8, cabin_top), (left + length - inset, body_top)], fill=colour)
    glass = tuple(int(v) for v in rng.integers(30, 110, 3))
    draw.polygon([(left + inset * 1.25, body_top - 3), (left + inset * 1.7, cabin_top + 5),
                  (left + length - inset * 1.9, cabin_top + 5), (left + length - inset * 1.15, body_top - 3)],
                 fill=glass)
    for centre in (left + length * 0.2, left + length * 0.8):
        radius = 17 * scale
        draw.ellipse([centre - radius, bottom - 2 * radius, centre + radius, bottom], fill=(20, 20, 20))


def _draw_bus(draw: ImageDraw.ImageDraw, rng: np.random.Generator, *, scale: float, bottom: int,
              width: int, position: float) -> None:
    length, height = rng.uniform(380, 620) * scale, rng.uniform(150, 220) * scale
    left = -0.3 * length + position * (width - 0.4 * length)
    colour = tuple(int(v) for v in rng.integers(0, 255, 3))
    top = bottom - height
    draw.rounded_rectangle([left, top, left + length, bottom - 14 * scale], radius=int(10 * scale), fill=colour)
    glass = tuple(int(v) for v in rng.integers(30, 110, 3))
    windows = int(rng.integers(4, 9))
    pitch = length / windows
    for index in range(windows):
        x = left + index * pitch + pitch * 0.12
        draw.rectangle([x, top + height * 0.12, x + pitch * 0.76, top + height * 0.45], fill=glass)
    door = left + length * rng.uniform(0.1, 0.3)
    draw.rectangle([door, top + height * 0.15, door + length * 0.07, bottom - 16 * scale], fill=glass)
    for centre in (left + length * 0.15, left + length * 0.8):
        radius = 22 * scale
        draw.ellipse([centre - radius, bottom - 2 * radius, centre + radius, bottom], fill=(15, 15, 15))


def frame_jpeg(kind: str, *, seed: int, quality: int | None = None, scene: int | None = None,
               vehicle: int | None = None, position: float | None = None) -> bytes:
    """A synthetic frame as JPEG bytes; the same arguments give the same bytes (see draw_frame)."""
    rng = np.random.default_rng(seed)
    image = draw_frame(kind, rng, scene=scene, vehicle=vehicle, position=position)
    return _jpeg(image, quality=quality or int(rng.integers(70, 95)))


def bad_frames() -> dict[str, bytes]:
    """Frames that cannot be scored, by the error kind they must produce."""
    return dict(_bad_frames())


@functools.cache
def _bad_frames() -> tuple[tuple[str, bytes], ...]:
    # Made once per process: the bomb alone takes most of a second to encode.
    good = frame_jpeg("car", seed=1)
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 Mpx in about 50 KB
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(png, "PNG")
    broken_png = png.getvalue()[:60] + bytes(30) + png.getvalue()[90:]
    return (("empty", b""), ("not_image", b"this is a text file, not a frame\n"),
            ("truncated", good[: len(good) // 2]), ("too_large", bomb.getvalue()), ("decode", broken_png))


@dataclass(frozen=True)
class SampleFrame:
    """A generated frame and where it goes, relative to a root."""

    relative_path: str
    data: bytes
    kind: str


def labelled_frames(*, per_class: int, seed: int = 0) -> list[SampleFrame]:
    """``bus/NNNN.jpg`` and ``car/NNNN.jpg``, each frame a new scene and vehicle: the original's layout."""
    return [SampleFrame(f"{kind}/{index:04d}.jpg", frame_jpeg(kind, seed=seed * 1_000_003 + 2 * index + k), kind)
            for k, kind in enumerate(KINDS) for index in range(per_class)]


def labelled_tracks(*, per_class: int, cameras: int, frames_per_track: int, start: dt.date,
                    seed: int = 0) -> list[SampleFrame]:
    """``bus/cam-NN_YYYYMMDDTHHMMSS.jpg`` frames as a camera sees them: consecutive frames of one
    camera show the same vehicle passing, a few seconds apart, in the camera's own scene.

    Random cross-validation folds split such tracks and leak; grouping by camera does not.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for k, kind in enumerate(KINDS):
        for track in range(-(-per_class // frames_per_track)):
            camera = int(rng.integers(1, cameras + 1))
            vehicle = int(rng.integers(1 << 31))
            moment = dt.datetime.combine(start, dt.time(6)) + dt.timedelta(
                days=int(rng.integers(0, 3)), minutes=int(rng.integers(0, 960)))
            for step in range(min(frames_per_track, per_class - track * frames_per_track)):
                taken = moment + dt.timedelta(seconds=2 * step)
                name = f"{kind}/cam-{camera:02d}_{taken:%Y%m%dT%H%M%S}-{k}{track:04d}{step:02d}.jpg"
                data = frame_jpeg(kind, seed=int(rng.integers(1 << 31)), scene=seed * 1000 + camera,
                                  vehicle=vehicle, position=(step + 1) / (frames_per_track + 1))
                frames.append(SampleFrame(name, data, kind))
    return frames


def camera_frames(*, cameras: int, days: int, per_day: int, start: dt.date, seed: int = 1) -> list[SampleFrame]:
    """``cam-NN/YYYYMMDDTHHMMSS.jpg`` frames of several cameras over several days, cars and buses mixed."""
    rng = np.random.default_rng(seed)
    frames = []
    for name in _upload_names(rng, cameras=cameras, days=days, per_day=per_day, start=start, suffix=".jpg"):
        kind = KINDS[int(rng.random() < 0.6)]
        frames.append(SampleFrame(name, frame_jpeg(kind, seed=int(rng.integers(1 << 31))), kind))
    return frames


def _upload_names(rng: np.random.Generator, *, cameras: int, days: int, per_day: int, start: dt.date,
                  suffix: str) -> Iterator[str]:
    """``cam-NN/YYYYMMDDTHHMMSS-NNN<suffix>``, per_day a camera and day between 06:00 and 22:00."""
    for camera in range(1, cameras + 1):
        for day in range(days):
            date = start + dt.timedelta(days=day)
            for index in range(per_day):
                moment = dt.datetime.combine(date, dt.time(6)) + dt.timedelta(minutes=int(rng.integers(0, 960)))
                yield f"cam-{camera:02d}/{moment:%Y%m%dT%H%M%S}-{index:03d}{suffix}"


def labelled_photos(folder: Path, *, per_class: int) -> list[SampleFrame]:
    """The first ``per_class`` photos of each class folder under ``folder`` (``car/``, ``truck/``), as they are."""
    return [SampleFrame(f"{kind.name}/{path.name}", path.read_bytes(), kind.name)
            for kind in sorted(folder.iterdir()) if kind.is_dir()
            for path in sorted(kind.glob("*.png"))[:per_class]]


def photo_frames(folder: Path, *, cameras: int, days: int, per_day: int, start: dt.date,
                 seed: int = 1) -> list[SampleFrame]:
    """Real photos of ``folder``'s classes as camera uploads (``cam-NN/YYYYMMDDTHHMMSS-NNN.png``), each photo
    at most once, the classes mixed at random."""
    rng = np.random.default_rng(seed)
    photos = [path for kind in sorted(folder.iterdir()) if kind.is_dir() for path in sorted(kind.glob("*.png"))]
    chosen = iter(rng.permutation(len(photos)))
    frames = []
    for name in _upload_names(rng, cameras=cameras, days=days, per_day=per_day, start=start, suffix=".png"):
        photo = photos[next(chosen)]
        frames.append(SampleFrame(name, photo.read_bytes(), photo.parent.name))
    return frames


FAULTS = ("dark", "overexposed", "blurred", "covered", "frozen", "moved", "silent")


def camera_day(camera: str, *, day: dt.date, every_minutes: int = 15, fault: str | None = None,
               onset: dt.time = dt.time(12), dusk: bool = False, seed: int = 0, width: int = 480,
               height: int = 288, stop: dt.time | None = None) -> list[SampleFrame]:
    """A day of one camera's frames (``<camera>/YYYYMMDDTHHMMSS.jpg``, one every ``every_minutes`` from
    06:00 to midnight): traffic coming and going in one scene under the camera's own noise, and from ``onset``
    a fault of FAULTS, or none.

    Args:
        dusk: the light falls from 14:00 to a third of the morning's at 22:00.
        stop: no frame from then on (the traffic gone for the night); None: midnight.
    """
    if fault not in (None, *FAULTS):
        raise ValueError(f"fault must be one of {FAULTS} or None; got {fault!r}")
    rng = np.random.default_rng(seed)
    scene, noise = int(rng.integers(1 << 31)), float(rng.uniform(3, 8))
    frames: list[SampleFrame] = []
    moment, end = dt.datetime.combine(day, dt.time(6)), dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    end = dt.datetime.combine(day, stop) if stop is not None else end
    while moment < end:
        faulty = fault is not None and moment.time() >= onset
        if faulty and fault == "silent":
            break
        hours = (moment - dt.datetime.combine(day, dt.time(14))).total_seconds() / 3600
        light = 1.0 - (min(max(hours, 0.0), 8.0) / 8) * (2 / 3) if dusk else float(rng.uniform(0.9, 1.1))
        kind = KINDS[int(rng.random() < 0.6)]
        options = {"light": light, "blur": float(rng.uniform(0.0, 1.0)), "noise": noise, "scene": scene,
                   "size": 0.5}
        if faulty:
            options.update({"dark": {"light": 0.02}, "overexposed": {"light": 5.0}, "blurred": {"blur": 14.0},
                            }.get(fault, {}))
        if faulty and fault == "frozen":
            data = frames[-1].data  # the picture of the last frame before the onset, again and again
        elif faulty and fault == "covered":
            data = _jpeg(_covered(rng, width=width, height=height, noise=noise))
        elif faulty and fault == "moved":
            data = _jpeg(_facade(rng, scene=scene, width=width, height=height, light=light, noise=noise))
        else:
            data = _jpeg(draw_frame(kind, rng, width=width, height=height, **options))
        frames.append(SampleFrame(f"{camera}/{moment:%Y%m%dT%H%M%S}.jpg", data, kind))
        moment += dt.timedelta(minutes=every_minutes)
    return frames


def _facade(rng: np.random.Generator, *, scene: int, width: int, height: int, light: float,
            noise: float) -> Image.Image:
    """A camera turned away from its street: the building beside it, rows of windows, no traffic."""
    look = np.random.default_rng(scene + 1)
    wall = tuple(int(v) for v in look.integers(90, 180, 3))
    glass = tuple(int(v) for v in look.integers(20, 80, 3))
    image = Image.new("RGB", (width, height), wall)
    draw = ImageDraw.Draw(image)
    columns, rows = int(look.integers(4, 8)), int(look.integers(3, 5))
    for column in range(columns):
        for row in range(rows):
            left, top = (column + 0.2) * width / columns, (row + 0.25) * height / rows
            draw.rectangle([left, top, left + 0.55 * width / columns, top + 0.5 * height / rows], fill=glass)
    pixels = np.asarray(image, dtype=np.float32) * light + rng.normal(0.0, noise, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _covered(rng: np.random.Generator, *, width: int, height: int, noise: float) -> Image.Image:
    """Something held over the lens: an out-of-focus, nearly even surface, with the sensor's noise."""
    colour = rng.integers(30, 90, 3).astype(np.float32)
    shade = np.linspace(0.9, 1.1, width, dtype=np.float32)[None, :, None]
    pixels = colour * shade * np.ones((height, 1, 1), np.float32) + rng.normal(0.0, noise / 3, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def write_local(frames: Iterable[SampleFrame], root: str | Path) -> None:
    for frame in frames:
        target = Path(root) / frame.relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(frame.data)


def upload(frames: Iterable[SampleFrame], prefix: str, settings: S3Settings) -> None:
    """Puts frames under an s3:// prefix."""
    for frame in frames:
        storage.write_bytes(storage.join(prefix, frame.relative_path), frame.data, s3=settings)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
