"""What analysts ask first of the scoring job's output: per camera and hour, frames, car share and errors."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from camscore import storage
from camscore.errors import InputError
from camscore.io.sinks import rows_under


@dataclass(frozen=True)
class Report:
    """Where a report went, and its rows (camera and hour) as pandas."""

    table: str
    chart: str
    rows: object  # pandas.DataFrame

    def format(self) -> str:
        totals = self.rows.groupby("camera_id", dropna=False)[["frames", "scored", "cars", "errors"]].sum()
        lines = [f"{'camera':<12} {'frames':>7} {'scored':>7} {'car share':>9} {'errors':>7}"]
        for camera, row in totals.iterrows():
            share = f"{row['cars'] / row['scored']:.3f}" if row["scored"] else "-"
            lines.append(f"{str(camera):<12} {row['frames']:>7} {row['scored']:>7} {share:>9} {row['errors']:>7}")
        return "\n".join(lines + [f"table {self.table}", f"chart {self.chart}"])


def camera_hours(spark: SparkSession, output: str, *, date: str | None = None) -> DataFrame:
    """Per camera and hour of captured_at: frames, those scored, those labelled 1 (``cars``: label 1 is car),
    their share of the scored (``car_share``), and errors.

    Raises:
        InputError: the output (or its date) does not exist.
    """
    base = output.rstrip("/")
    location = f"{base}/date={date}" if date else base
    if not storage.exists(location, s3=None, spark=spark):
        raise InputError(f"{location} does not exist: nothing to report")
    rows = rows_under(spark, base, [f"date={date}"] if date else None)
    scored = F.col("error_kind").isNull() & F.col("probability").isNotNull()
    return (rows.groupBy("camera_id", F.date_trunc("hour", "captured_at").alias("hour"))
            .agg(F.count(F.lit(1)).alias("frames"), F.count_if(scored).alias("scored"),
                 F.count_if(scored & (F.col("label") == 1)).alias("cars"),
                 F.count_if(~scored).alias("errors"))
            .withColumn("car_share", F.when(F.col("scored") > 0, F.col("cars") / F.col("scored")))
            .orderBy("camera_id", "hour"))


def write_report(spark: SparkSession, output: str, *, date: str | None, to: str | None) -> Report:
    """Writes camera_hours as Parquet (``camera_hours/``) and a PNG chart (``camera_hours.png``) under ``to``
    (default: the output's ``_reports/<date or all>``, which readers of the output skip)."""
    from camscore.stages.plots import camera_hours_png

    target = (to or f"{output.rstrip('/')}/_reports/{date or 'all'}").rstrip("/")
    table = camera_hours(spark, output, date=date)
    table.coalesce(1).write.mode("overwrite").parquet(f"{target}/camera_hours")
    rows = spark.read.parquet(f"{target}/camera_hours").orderBy("camera_id", "hour").toPandas()
    chart = storage.write_bytes(f"{target}/camera_hours.png", camera_hours_png(rows), s3=None, spark=spark)
    return Report(f"{target}/camera_hours", chart, rows)
