"""Spark's schemas of camscore's column sets (camscore.rows declares them)."""

from __future__ import annotations

from pyspark.sql import types as T

from camscore.rows import Column

_TYPES = {"string": T.StringType(), "timestamp": T.TimestampType(), "bigint": T.LongType(),
          "int": T.IntegerType(), "double": T.DoubleType(), "date": T.DateType(), "binary": T.BinaryType(),
          "array<float>": T.ArrayType(T.FloatType(), False)}


def struct(columns: tuple[Column, ...]) -> T.StructType:
    """The Spark schema of a column set."""
    return T.StructType([T.StructField(column.name, _TYPES[column.type], column.nullable) for column in columns])
