"""The io layer's face on a Spark driver: frames read into a FrameSource, and the output's rows written and
read back with Spark. What runs without Spark is camscore.io itself."""

from camscore.io.frame_source import FrameSource, read_frames, reader_for
from camscore.io.output_table import (OUTPUT_SCHEMA, batch_rows, count_outcomes, date_folder, done_paths, error_rows,
                                      partition_dates, passing_paths, rows_under, write_scores, write_summary)
from camscore.io.spark_paths import parent_folder, path_group, with_path_fields

__all__ = ["OUTPUT_SCHEMA", "FrameSource", "batch_rows", "count_outcomes", "date_folder", "done_paths",
           "error_rows", "parent_folder", "partition_dates", "passing_paths", "path_group", "read_frames", "reader_for",
           "rows_under",
           "with_path_fields", "write_scores", "write_summary"]
