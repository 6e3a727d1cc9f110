"""What the report judges a camera's silence against, gathered on Spark (camscore.health.episodes): every
camera's pace, from which the fleet's, and each camera's earlier days, read from the output's earlier date
partitions (``camera_id`` and ``captured_at`` only) and cut down to what the rule reads."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore.health.episodes import DAY, HISTORY_DAYS, Pace
from camscore.io.on_spark import rows_under

_EPOCH = dt.datetime(1970, 1, 1)


def camera_paces(rows: DataFrame) -> list[Pace]:
    """Each camera's pace (Pace.of its frames' capture times), judged on the workers: ``rows`` are the output's
    rows, a frame's several rows (scored again, read again) counted once by its path, as camscore.rows'
    FRAME_ROW_NUMBER would keep one, without its sort of every column; rows without a camera or a time are left
    out. Times are naive UTC."""
    def pace(camera: pd.DataFrame) -> pd.DataFrame:
        found = Pace.of(sorted(camera.drop_duplicates("path")["captured_at"]))
        return pd.DataFrame({"camera_id": [camera["camera_id"].iloc[0]], "last": [found.last],
                             "usual": [found.usual]})

    known = rows.select("camera_id", "path", "captured_at").where(F.col("camera_id").isNotNull()
                                                                  & F.col("captured_at").isNotNull())
    found = known.groupBy("camera_id").applyInPandas(pace, "camera_id string, last timestamp, usual double")
    return [Pace(row.last.to_pydatetime(), None if math.isnan(row.usual) else row.usual)
            for row in found.toPandas().itertuples()]


def earlier_days(spark: SparkSession, output: str, *, date: str, window_end: dt.datetime) -> DataFrame:
    """Each camera's latest frame (``camera_id``, ``captured_at``) in each of the HISTORY_DAYS 24 hours up to
    ``window_end`` one, two ... days earlier: all episodes.quiet_as_usual reads of a camera's earlier days, as a
    silence at the end of a day's window is compared with the end of each earlier one (a frame in its last
    hours is one later than their start). Read from the date partitions before ``date`` they fall on."""
    first = dt.date.fromisoformat(date) - dt.timedelta(days=HISTORY_DAYS + 1)  # a window ending before midnight
    folders = [f"date={first + dt.timedelta(days=back)}" for back in range(HISTORY_DAYS + 1)]
    end, day = (window_end - _EPOCH) // dt.timedelta(microseconds=1), DAY // dt.timedelta(microseconds=1)
    back = F.floor((F.lit(end) - F.unix_micros("captured_at")) / F.lit(day))
    return (rows_under(spark, output, folders).where(F.col("camera_id").isNotNull())
            .select("camera_id", "captured_at", back.alias("back")).where(back.between(1, HISTORY_DAYS))
            .groupBy("camera_id", "back").agg(F.max("captured_at").alias("captured_at")).drop("back"))
