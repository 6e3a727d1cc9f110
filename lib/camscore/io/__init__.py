"""The io layer: frames in (readers, listing, partitioning), rows out (output_table, row_files), one run per output
(the lease). Built on camscore.storage and camscore.spark; never imports camscore.model.

This face holds what runs without Spark, which the service, the tools and the stages share: one object read
as a frame, a frame's path read in Python, score rows written as Parquet files, the lease, fetch-ahead and
the fetched batch. What needs a Spark session, reading frames (FrameSource) and writing and reading the
output's rows with Spark, is camscore.io.on_spark: importing this package never imports pyspark.
"""

from camscore.io.lease import LEASE_FILE, held
from camscore.io.readers.object_read import read_object
from camscore.io.prefetch import fetched_ahead
from camscore.io.python_paths import camera_and_time, has_extension, strptime_format
from camscore.io.readers.base import GONE, Fetch, FetchedBatch
from camscore.io.row_files import arrow_schema, new_batch, write_rows

__all__ = ["GONE", "LEASE_FILE", "Fetch", "FetchedBatch", "arrow_schema", "camera_and_time", "fetched_ahead",
           "has_extension", "held", "new_batch", "read_object", "strptime_format", "write_rows"]
