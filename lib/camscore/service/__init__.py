"""The scoring service: frames scored one request or one upload event at a time with the per-frame core, rows
into the batch job's table. Above the model and io layers, beside the jobs' stages; never imports pyspark."""
