import logging
import re
import time

from camscore.spark.progress import Progress


def test_progress_says_frames_done_of_the_total_and_the_rate_while_spark_works(spark, caplog):
    def slow(batches):
        for batch in batches:
            time.sleep(0.2)
            yield batch

    caplog.set_level(logging.INFO, logger="camscore")
    with Progress(spark, total=400, every=0.1):
        spark.range(400, numPartitions=8).mapInPandas(slow, "id long").count()

    lines = [record.getMessage() for record in caplog.records if "frames/s" in record.getMessage()]
    assert lines
    assert all(re.fullmatch(r"\d+ of 400 frames, \d+\.\d frames/s", line) for line in lines)
    done = [int(line.split()[0]) for line in lines]
    assert done == sorted(done) and done[-1] > 0 and all(value % 50 == 0 for value in done)
