"""Score rows built in tests, as the scoring job's partition function gives them."""

from camscore.rows import SCORE_COLUMNS, SIGNAL_COLUMNS
from camscore.spark.schema import struct

SCORE_SCHEMA = struct(SCORE_COLUMNS)


def score_rows(spark, rows: list[tuple], signals: list[tuple] | None = None):
    """A DataFrame of score rows from tuples of the columns before the signals (path ... error), each with
    its signal columns (camscore.rows.SIGNAL_COLUMNS) from ``signals``, or none."""
    none = (None,) * len(SIGNAL_COLUMNS)
    return spark.createDataFrame([row + (signals[index] if signals else none) for index, row in enumerate(rows)],
                                 SCORE_SCHEMA)
