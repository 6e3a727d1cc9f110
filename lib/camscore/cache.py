"""Where camscore keeps what it fetched, converted or built on this machine: one folder, a subfolder per kind
(npm tarballs, weights, OpenVINO conversions, the JVM's class archive). A plain value of the base layer, so
that the model, the assets and the Spark session read the same place without importing each other."""

from pathlib import Path

CACHE_ROOT = Path.home() / ".cache" / "camscore"
