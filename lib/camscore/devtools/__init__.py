"""What develops camscore and shows it: generated frames and the embedded S3 server, the demo, the benchmark
and its process accounting. The jobs never import it."""
